#include "model/policies/qemu_today.h"

#include "model/policies/tsr_by_difference.h"

namespace regsync::model {

namespace {
RegMask bit(RegIndex r) { return RegMask{1} << r; }
}  // namespace

void QemuToday::get_registers(CPUState& cpu, const ArchSync& arch) {
    const auto& cat = arch.cat();
    RegMask mask = arch.all();
    const bool read_tsc = cat.tsc >= 0 && !cpu.tsc_valid;
    if (cat.tsc >= 0 && !read_tsc) mask &= ~bit(cat.tsc);
    arch.get(cpu, mask, qemu_today_order());
    if (read_tsc) cpu.tsc_valid = !cpu.vm_running;
    if (cat.tsr >= 0) cpu.kernel_view[static_cast<std::size_t>(cat.tsr)] = cpu.env[static_cast<std::size_t>(cat.tsr)];
}

void QemuToday::put_registers(CPUState& cpu, const ArchSync& arch, SyncLevel level) {
    const auto& cat = arch.cat();
    if (cat.arch == Arch::PpcBookE) {
        arch.put(cpu, arch.level_mask(level) & ~bit(cat.tsr), PutOptions{level});
        put_tsr_by_difference(cpu, arch, level >= SyncLevel::Reset);
        return;
    }
    RegMask mask = arch.level_mask(level);
    if (level >= SyncLevel::Reset) mask |= bit(cat.tsc);  // kvm_put_msrs: TSC at RESET and FULL
    arch.put(cpu, mask, PutOptions{level, true, cpu.latched_init}, qemu_today_order());
    cpu.latched_init = false;  // interrupt_request &= ~(CPU_INTERRUPT_INIT | CPU_INTERRUPT_SMI)
}

}  // namespace regsync::model

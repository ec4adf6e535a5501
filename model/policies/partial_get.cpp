#include "model/policies/partial_get.h"

namespace regsync::model {

RegMask PartialGet::regs_of(const ArchSync& arch, std::uint32_t bits) {
    const RegMask runtime = arch.level_mask(SyncLevel::Runtime);
    RegMask m = 0;
    const RegMask some = arch.access_mask(Access::Regs);
    if (bits & SOME) m |= some;
    if (bits & REST) m |= runtime & ~some;
    if (bits & RESET) m |= arch.level_mask(SyncLevel::Reset) & ~runtime;
    if (bits & FULL) m |= arch.level_mask(SyncLevel::Full) & ~arch.level_mask(SyncLevel::Reset);
    return m;
}

void PartialGet::writeback(CPUState& cpu, const ArchSync& arch) {
    if (!cpu.kvm_vcpu_dirty) return;
    const SyncLevel level = (cpu.kvm_vcpu_dirty & FULL) ? SyncLevel::Full : (cpu.kvm_vcpu_dirty & RESET) ? SyncLevel::Reset : SyncLevel::Runtime;
    arch.put(cpu, regs_of(arch, cpu.kvm_vcpu_dirty), PutOptions{level});
    cpu.kvm_vcpu_dirty = 0;
}

void PartialGet::synchronize_partial(CPUState& cpu, const ArchSync& arch) {
    if (cpu.kvm_vcpu_dirty & SOME) return;
    arch.get(cpu, regs_of(arch, SOME));
    cpu.kvm_vcpu_dirty |= SOME;
}

void PartialGet::synchronize_state(CPUState& cpu, const ArchSync& arch) {
    if ((ALL & ~cpu.kvm_vcpu_dirty) == 0) return;
    if (safe_) {
        writeback(cpu, arch);  // nothing pending may be refreshed over
    }
    arch.kvm_arch_get_registers(cpu);  // the entire state, SOME included
    cpu.kvm_vcpu_dirty = ALL;
}

void PartialGet::post_reset(CPUState& cpu, const ArchSync& arch) {
    arch.kvm_arch_put_registers(cpu, SyncLevel::Reset);
    cpu.kvm_vcpu_dirty = 0;
}

void PartialGet::post_init(CPUState& cpu, const ArchSync& arch) {
    arch.kvm_arch_put_registers(cpu, SyncLevel::Full);
    cpu.kvm_vcpu_dirty = 0;
}

}  // namespace regsync::model

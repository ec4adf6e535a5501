#include "model/policies/ppc_onereg_tsr.h"

#include "model/policies/tsr_by_difference.h"

namespace regsync::model {

void PpcOneregTsr::get_registers(CPUState& cpu, const ArchSync& arch) {
    arch.kvm_arch_get_registers(cpu);
    if (arch.cat().tsr >= 0) cpu.kernel_view[static_cast<std::size_t>(arch.cat().tsr)] = cpu.env[static_cast<std::size_t>(arch.cat().tsr)];
}

void PpcOneregTsr::put_registers(CPUState& cpu, const ArchSync& arch, SyncLevel level) {
    const auto tsr = arch.cat().tsr;
    if (tsr < 0) return arch.kvm_arch_put_registers(cpu, level);  // not Book-E: plain qemu-levels
    arch.put(cpu, arch.level_mask(level) & ~(RegMask{1} << tsr), PutOptions{level});
    put_tsr_by_difference(cpu, arch, level >= SyncLevel::Reset);
}

}  // namespace regsync::model

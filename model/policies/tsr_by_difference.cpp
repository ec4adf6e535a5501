#include "model/policies/tsr_by_difference.h"

#include "model/kvm_abi.h"

namespace regsync::model {

namespace {
void one_reg_write(CPUState& cpu, __u64 id, std::uint32_t v) {
    struct kvm_one_reg o{id, reinterpret_cast<__u64>(&v)};
    cpu.kvm->ioctl(KVM_SET_ONE_REG, &o);  // failures are warnings (seed 004)
}
}  // namespace

void put_tsr_by_difference(CPUState& cpu, const ArchSync& arch, bool force) {
    const auto tsr = static_cast<std::size_t>(arch.cat().tsr);
    const auto mask = static_cast<std::uint32_t>(arch.cat()[arch.cat().tsr].mask());
    const auto want = static_cast<std::uint32_t>(cpu.env[tsr]);
    const auto seen = static_cast<std::uint32_t>(cpu.kernel_view[tsr]);
    const std::uint32_t set = force ? want : (want & ~seen);
    const std::uint32_t clear = force ? (mask & ~want) : (seen & ~want);
    if (clear) one_reg_write(cpu, ppc::KVM_REG_PPC_CLEAR_TSR, clear);
    if (set) one_reg_write(cpu, ppc::KVM_REG_PPC_OR_TSR, set);
    cpu.kernel_view[tsr] = want;
}

void store_booke_tsr(CPUState& cpu, const ArchSync& arch, std::uint32_t bits) {
    const auto tsr = static_cast<std::size_t>(arch.cat().tsr);
    cpu.env[tsr] &= ~static_cast<std::uint64_t>(bits);
    cpu.kernel_view[tsr] &= ~static_cast<std::uint64_t>(bits);
    one_reg_write(cpu, ppc::KVM_REG_PPC_CLEAR_TSR, bits);
}

void store_booke_tcr(CPUState& cpu, const ArchSync& arch, std::uint32_t v) {
    const auto tcr = static_cast<std::size_t>(arch.cat().tcr);
    cpu.env[tcr] = v;
    cpu.kernel_view[tcr] = v;
    one_reg_write(cpu, ppc::KVM_REG_PPC_TCR, v);
}

}  // namespace regsync::model

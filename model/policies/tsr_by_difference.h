// Book-E TSR changed only through KVM_REG_PPC_OR_TSR / KVM_REG_PPC_CLEAR_TSR
// (seed 002: Graf/Wood's write-to-set and write-to-clear ONE_REG ids), so a
// timer bit set by the kernel after our read is never cleared by accident.
#pragma once
#include "model/arch_sync.h"
#include "model/cpu_state.h"

namespace regsync::model {

// Sets the bits userspace added to env's TSR since kernel_view and clears
// the ones it removed. With `force`, makes the kernel's TSR exactly env's
// (reset, loadvm): clear every other bit, then set env's bits.
void put_tsr_by_difference(CPUState& cpu, const ArchSync& arch, bool force);

// store_booke_tsr() (hw/ppc/ppc_booke.c): env's TSR &= ~bits, then
// kvmppc_clear_tsr_bits(): KVM_SET_ONE_REG(KVM_REG_PPC_CLEAR_TSR, bits).
void store_booke_tsr(CPUState& cpu, const ArchSync& arch, std::uint32_t bits);
// store_booke_tcr(): env's TCR = v, then kvmppc_set_tcr(): KVM_SET_ONE_REG(KVM_REG_PPC_TCR).
void store_booke_tcr(CPUState& cpu, const ArchSync& arch, std::uint32_t v);

}  // namespace regsync::model

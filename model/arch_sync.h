// kvm_arch_get_registers / kvm_arch_put_registers: which ioctls move which
// registers between CPUState::env and the kernel, driven by the catalogue.
// Struct-based families (REGS, SREGS, VCPU_EVENTS) move whole structs, as the
// real ioctls do: asking for one REGS field writes every REGS field.
#pragma once
#include "model/catalogue.h"
#include "model/cpu_state.h"
#include "model/sync_level.h"

namespace regsync::model {

class ArchSync {
public:
    explicit ArchSync(const Catalogue& c) : cat_(&c) {}

    // Registers whose catalogue level is at or below `level`.
    RegMask level_mask(SyncLevel level) const;
    RegMask all() const;

    // Fetch the registers in `mask` (in QEMU's order: regs, sregs, msrs,
    // mp_state, vcpu events; ppc: regs, sregs, ONE_REG SPRs).
    void get(CPUState& cpu, RegMask mask) const;
    // Write back the registers in `mask`; `level` selects the VCPU_EVENTS
    // flags (VALID_NMI_PENDING only at RESET and above, as in QEMU).
    void put(CPUState& cpu, RegMask mask, SyncLevel level) const;

    void kvm_arch_get_registers(CPUState& cpu) const { get(cpu, all()); }
    void kvm_arch_put_registers(CPUState& cpu, SyncLevel level) const { put(cpu, level_mask(level), level); }

    const Catalogue& cat() const { return *cat_; }

private:
    RegMask access_mask(Access a) const;
    const Catalogue* cat_;
};

}  // namespace regsync::model

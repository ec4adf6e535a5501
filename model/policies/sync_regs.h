// `sync-regs`: qemu-levels moving the register structs through the kvm_run
// shared page (KVM_CAP_SYNC_REGS) instead of ioctls, as s390 does for its
// GPRs and as x86 offers for regs, sregs and vcpu events:
//   kvm_valid_regs = REGS|SREGS|EVENTS: the kernel stores them into
//     run->s.regs on every return from KVM_RUN; gets read them from there.
//   puts copy into run->s.regs and set kvm_dirty_regs; the kernel loads
//     them at the start of the next KVM_RUN.
// MSRs and mp_state still go through ioctls. Book-E has no sync regs: there
// the policy is qemu-levels.
#pragma once
#include "model/policies/qemu_levels.h"

namespace regsync::model {

class SyncRegs final : public QemuLevels {
public:
    std::string_view name() const override { return "sync-regs"; }

protected:
    void get_registers(CPUState& cpu, const ArchSync& arch) override;
    void put_registers(CPUState& cpu, const ArchSync& arch, SyncLevel level) override;
};

}  // namespace regsync::model

// `qemu-levels`: Jan Kiszka's writeback rework (seed 000, kvm-all.c hunks):
//   kvm_cpu_synchronize_state: if (!dirty) { get FULL; dirty = 1 }
//   kvm_cpu_synchronize_post_reset: put KVM_PUT_RESET_STATE; dirty = 0
//   kvm_cpu_synchronize_post_init:  put KVM_PUT_FULL_STATE;  dirty = 0
//   kvm_cpu_exec: if (dirty) { put KVM_PUT_RUNTIME_STATE; dirty = 0 }
// The x86 TSC sits at FULL in the catalogue (2013 target-i386/kvm.c), so it
// is never written at RUNTIME.
#pragma once
#include "model/sync_policy.h"

namespace regsync::model {

class QemuLevels final : public SyncPolicy {
public:
    std::string_view name() const override { return "qemu-levels"; }
    bool needs_synchronize(const CPUState& cpu) const override { return cpu.kvm_vcpu_dirty == 0; }
    void synchronize_state(CPUState& cpu, const ArchSync& arch) override;
    void post_reset(CPUState& cpu, const ArchSync& arch) override;
    void post_init(CPUState& cpu, const ArchSync& arch) override;
    void pre_run(CPUState& cpu, const ArchSync& arch) override;
};

}  // namespace regsync::model

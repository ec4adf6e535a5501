// `qemu-levels`: Jan Kiszka's writeback rework (seed 000, kvm-all.c hunks):
//   kvm_cpu_synchronize_state: if (!dirty) { get FULL; dirty = 1 }
//   kvm_cpu_synchronize_post_reset: put KVM_PUT_RESET_STATE; dirty = 0
//   kvm_cpu_synchronize_post_init:  put KVM_PUT_FULL_STATE;  dirty = 0
//   kvm_cpu_exec: if (dirty) { put KVM_PUT_RUNTIME_STATE; dirty = 0 }
// with the 2013 target-i386 order (regs, sregs, msrs, mp_state, events).
// The x86 TSC sits at FULL in the catalogue (2013 target-i386/kvm.c), so it
// is never written at RUNTIME. Other policies derive from this one and
// override kvm_arch_get/put_registers or a hook.
#pragma once
#include "model/sync_policy.h"

namespace regsync::model {

class QemuLevels : public SyncPolicy {
public:
    std::string_view name() const override { return "qemu-levels"; }
    bool needs_synchronize(const CPUState& cpu) const override { return cpu.kvm_vcpu_dirty == 0; }
    void synchronize_state(CPUState& cpu, const ArchSync& arch) override;
    void post_reset(CPUState& cpu, const ArchSync& arch) override;
    void post_init(CPUState& cpu, const ArchSync& arch) override;
    void pre_run(CPUState& cpu, const ArchSync& arch) override;

protected:
    virtual void get_registers(CPUState& cpu, const ArchSync& arch) { arch.kvm_arch_get_registers(cpu); }
    virtual void put_registers(CPUState& cpu, const ArchSync& arch, SyncLevel level) { arch.kvm_arch_put_registers(cpu, level); }
};

// Today's accel/kvm/kvm-all.c and system/cpus.c, whatever the target:
// cpu_synchronize_pre_loadvm() marks the cache dirty, kvm_cpu_exec() puts
// after bql_unlock() (2.4), do_vm_stop() sets the run state before it
// pauses the vCPUs. qemu-today's targets (x86 and Book-E, arm64, riscv64)
// derive from it.
class QemuKvmAllToday : public QemuLevels {
public:
    void pre_loadvm(CPUState& cpu, const ArchSync&) override { cpu.kvm_vcpu_dirty = 1; }
    bool puts_outside_bql() const override { return true; }
    bool runstate_before_pause() const override { return true; }
};

}  // namespace regsync::model

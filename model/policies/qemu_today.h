// `qemu-today`: current QEMU, from accel/kvm/kvm-all.c and
// target/i386/kvm/kvm.c (read November 2026):
//  - kvm_arch_get_registers: vcpu events, then mp_state ("KVM_GET_MPSTATE
//    can modify CS and RIP, call it before KVM_GET_REGS and KVM_GET_SREGS"),
//    regs, sregs, msrs. IA32_TSC is read only while !env->tsc_valid, and
//    tsc_valid = !runstate_is_running(); cpu_update_state() clears it when
//    the VM starts running.
//  - kvm_arch_put_registers: sregs, regs, msrs (TSC and kvmclock MSRs at
//    level >= RESET), vcpu events, mp_state (>= RESET).
//  - kvm_put_vcpu_events: VALID_NMI_PENDING at >= RESET, VALID_SMM whenever
//    the host has SMM (has_msr_smbase) with smi.latched_init taken from
//    cs->interrupt_request & CPU_INTERRUPT_INIT, which kvm_get_vcpu_events
//    set from the kernel's latched_init and the put clears.
//  - cpu_synchronize_pre_loadvm marks the cache dirty before loading.
//  - PowerPC: TSR only through KVM_REG_PPC_OR_TSR / KVM_REG_PPC_CLEAR_TSR.
// Not modelled: do_cpu_init() in kvm_arch_process_async_events (QEMU's own
// handling of a latched INIT); the latched INIT is re-posted by the put.
#pragma once
#include "model/policies/qemu_levels.h"

namespace regsync::model {

class QemuToday final : public QemuLevels {
public:
    std::string_view name() const override { return "qemu-today"; }
    void pre_loadvm(CPUState& cpu, const ArchSync&) override { cpu.kvm_vcpu_dirty = 1; }
    void vm_state_change(CPUState& cpu, bool running) override {
        if (running) cpu.tsc_valid = false;  // cpu_update_state()
    }

protected:
    void get_registers(CPUState& cpu, const ArchSync& arch) override;
    void put_registers(CPUState& cpu, const ArchSync& arch, SyncLevel level) override;
};

}  // namespace regsync::model

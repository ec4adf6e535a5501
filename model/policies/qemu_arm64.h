// QEMU's arm64 KVM code (target/arm/kvm.c, read at qemu-ci fc8b078e145d)
// over today's accel/kvm/kvm-all.c and system/cpus.c:
//  - kvm_arch_get_registers: core registers, vCPU events, the cpreg list
//    (write_kvmstate_to_list), then kvm_arm_sync_mpstate_to_qemu().
//  - kvm_arch_put_registers(level): core registers, then
//    write_list_to_kvmstate(cpu, level), which skips a register whose
//    kvm_arm_cpreg_level() is above `level`: KVM_REG_ARM_TIMER_CNT
//    (4b7a6bf402, "should only be written ... on machine initialization or
//    on vmload operations, but never during runtime, as this can
//    potentially make time go backwards") and KVM_REG_ARM_PTIMER_CNT
//    (682814e2a3) are KVM_PUT_FULL_STATE; then vCPU events, then
//    kvm_arm_sync_mpstate_to_kvm() at every level (power_state PSCI_OFF ->
//    STOPPED, else RUNNABLE).
//  - kvm_arm_vm_state_change() (e5ac4200b4, kvm_adjvtime on by default):
//    on stop kvm_arm_get_virtual_time() reads TIMER_CNT into kvm_vtime
//    unless kvm_vtime_dirty; on resume kvm_arm_put_virtual_time() writes
//    it back, so the stopped interval does not count. kvm_arm_cpu_post_load
//    sets kvm_vtime from the loaded TIMER_CNT.
//  - arm_cpu_reset_hold() -> kvm_arm_reset_vcpu(): KVM_ARM_VCPU_INIT again
//    (with KVM_ARM_VCPU_POWER_OFF for a CPU created powered off), then the
//    cpreg list read back from the kernel into CPUState.
#pragma once
#include <memory>
#include <string_view>

#include "model/policies/qemu_levels.h"

namespace regsync::model {

struct QemuArm64Config {
    std::string_view name = "qemu-today";
    bool counters_at_full_only = true;              // 4b7a6bf402, 682814e2a3
    bool adjvtime = true;                           // kvm_adjvtime ("kvm-no-adjvtime" = off)
    SyncLevel mp_state_level = SyncLevel::Runtime;  // kvm_arm_sync_mpstate_to_kvm() at every level
    bool mp_state_first = false;                    // get mp_state before the registers (QEMU: after them)
};

std::unique_ptr<SyncPolicy> make_qemu_arm64(const QemuArm64Config& c);

}  // namespace regsync::model

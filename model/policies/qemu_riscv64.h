// QEMU's riscv64 KVM code (target/riscv/kvm/kvm-cpu.c, read at qemu-ci
// fc8b078e145d) over today's accel/kvm/kvm-all.c and system/cpus.c:
//  - kvm_arch_get_registers: core (pc, x1..x31), the CSRs of kvm_csr_cfgs[]
//    (sip among them, from env->mip), FP, vector. Never the timer, never
//    mp_state.
//  - kvm_arch_put_registers(level): the same registers at every level;
//    at KVM_PUT_RESET_STATE only, mp_state: RUNNABLE for cpu_index 0,
//    STOPPED for the others (8633951530, 2023).
//  - kvm_riscv_vm_state_change(): on stop kvm_riscv_get_regs_timer() reads
//    time, compare, state (unless kvm_timer_dirty); on resume
//    kvm_riscv_put_regs_timer() writes time, compare, and state only when
//    it is not 0 (KVM answers -EINVAL to OFF on an unarmed timer).
//    KVM_RISCV_SET_TIMER wrote all three to `time` from 27abe66f31 until
//    c5cc248b47 (GitLab #1688).
#pragma once
#include <memory>
#include <string_view>

#include "model/policies/qemu_levels.h"

namespace regsync::model {

struct QemuRiscv64Config {
    std::string_view name = "qemu-today";
    bool set_timer_writes_time = false;  // the KVM_RISCV_SET_TIMER macro before c5cc248b47
    bool put_mp_state_at_reset = true;   // 8633951530
    bool sip_at_runtime = true;          // kvm_csr_cfgs[] puts sip at every level
    bool sync_mp_state = false;          // a candidate: mp_state got with the registers, put at RESET and FULL
};

std::unique_ptr<SyncPolicy> make_qemu_riscv64(const QemuRiscv64Config& c);

}  // namespace regsync::model

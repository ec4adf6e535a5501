// The arm64 register catalogue: what a VMM moves by KVM_{GET,SET}_ONE_REG
// (arch/arm64/include/uapi/asm/kvm.h) and KVM_{GET,SET}_MP_STATE. A subset:
// enough general registers for the guest steps, the EL1 state QEMU keeps in
// its cpreg list, the virtual timer and both counters.
//
// Levels are today's QEMU (target/arm/kvm.c): core registers and every
// cpreg at every level, except KVM_REG_ARM_TIMER_CNT (4b7a6bf402, 2015) and
// KVM_REG_ARM_PTIMER_CNT (682814e2a3, 2023), which kvm_arm_cpreg_level()
// keeps for KVM_PUT_FULL_STATE; mp_state at every level
// (kvm_arm_sync_mpstate_to_kvm() ends kvm_arch_put_registers()).
#include <linux/kvm.h>

#include "model/catalogue.h"
#include "model/kvm_abi.h"

namespace regsync::model {

Catalogue make_arm64_catalogue() {
    using L = SyncLevel;
    Catalogue c{Arch::Arm64, {}, -1, -1, -1, -1, -1, -1};
    auto core = [&](const char* name, __u64 id, std::uint64_t reset = 0) {
        c.regs.push_back({.name = name, .access = Access::OneReg, .width = 64, .level = L::Runtime, .async_mask = 0, .id = id, .reset_value = reset});
    };
    // kvm_reset_vcpu() zeroes the general registers and pc; QEMU's boot
    // code (hw/arm/boot.c) points the boot CPU at the kernel image.
    static const char* x[] = {"x0", "x1", "x2", "x3"};
    for (unsigned i = 0; i < 4; ++i) core(x[i], arm64::core_reg(2 * i));
    core("x30", arm64::core_reg(60));
    core("sp", arm64::KVM_REG_SP);
    core("pc", arm64::KVM_REG_PC, 0x40080000);
    core("pstate", arm64::KVM_REG_PSTATE, arm64::RESET_PSTATE_EL1);
    core("sp_el1", arm64::KVM_REG_SP_EL1);
    core("elr_el1", arm64::KVM_REG_ELR_EL1);
    // sys_regs.c: SCTLR_EL1 reset_val 0x00C50078; TPIDR_EL1 reset_unknown(),
    // which fills it with 0x1de7ec7edbadc0de. QEMU reads the cpreg list back
    // after KVM_ARM_VCPU_INIT, so these are what a reset leaves.
    core("SCTLR_EL1", arm64::SCTLR_EL1, 0x00c50078);
    core("TPIDR_EL1", arm64::TPIDR_EL1, 0x1de7ec7edbadc0deULL);
    // The virtual timer. ISTATUS is computed on read (read_timer_ctl()) up
    // to 6.17 and stripped on every write; the guest always sees it
    // computed. kvm_timer_vcpu_reset() sets CTL to 0 and leaves CVAL.
    c.regs.push_back({.name = "CNTV_CTL", .access = Access::OneReg, .width = 64, .level = L::Runtime, .async_mask = arm64::CTL_ISTATUS,
                      .id = arm64::KVM_REG_ARM_TIMER_CTL, .reset_value = 0, .computed_mask = arm64::CTL_ISTATUS});
    c.regs.push_back({.name = "CNTV_CVAL", .access = Access::OneReg, .width = 64, .level = L::Runtime, .async_mask = 0,
                      .id = arm64::KVM_REG_ARM_TIMER_CVAL, .reset_value = 0, .reset_kept = true});
    // The counters: a GET returns the physical counter minus the VM's
    // offset, a SET makes the offset "physical now - value" for the VM.
    c.regs.push_back({.name = "CNTVCT", .access = Access::OneReg, .width = 64, .level = L::Full, .async_mask = ~0ULL,
                      .id = arm64::KVM_REG_ARM_TIMER_CNT, .reset_value = 0, .time_varying = true, .vm_scope = true, .offset_lockable = true,
                      .reset_kept = true});
    c.regs.push_back({.name = "CNTPCT", .access = Access::OneReg, .width = 64, .level = L::Full, .async_mask = ~0ULL,
                      .id = arm64::KVM_REG_ARM_PTIMER_CNT, .reset_value = 0, .time_varying = true, .vm_scope = true, .offset_lockable = true,
                      .reset_kept = true});
    // RUNNABLE, STOPPED or SUSPENDED; PSCI CPU_ON and CPU_OFF change it.
    c.regs.push_back({.name = "mp_state", .access = Access::MpState, .width = 32, .level = L::Runtime, .async_mask = ~0ULL, .id = 0,
                      .reset_value = KVM_MP_STATE_RUNNABLE, .stable_while_paused = true});
    c.pc = *c.find("pc");
    c.ret = *c.find("x0");
    c.tsc = *c.find("CNTVCT");
    c.mp_state = *c.find("mp_state");
    c.start_payload = {c.pc, c.ret, -1};  // kvm_reset_vcpu(): *vcpu_pc = pc, x0 = r0
    c.stopped_mp_state = KVM_MP_STATE_STOPPED;
    c.start_request = "PSCI CPU_ON";
    return c;
}

}  // namespace regsync::model

// The riscv64 register catalogue (arch/riscv/include/uapi/asm/kvm.h): core
// and CSR registers, the timer, and mp_state, all by ONE_REG but mp_state.
//
// Levels are today's QEMU (target/riscv/kvm/kvm-cpu.c): core and CSR
// registers (sip among them) at every level; mp_state only at
// KVM_PUT_RESET_STATE (8633951530) and never read back. The timer
// registers are outside the levels: kvm_riscv_vm_state_change() gets them on
// stop and puts them on resume (9ad3e016ae); they sit at FULL here so that
// a level put never carries them.
#include <linux/kvm.h>

#include "model/catalogue.h"
#include "model/kvm_abi.h"

namespace regsync::model {

Catalogue make_riscv64_catalogue() {
    using L = SyncLevel;
    Catalogue c{Arch::Riscv64, {}, -1, -1, -1, -1, -1, -1};
    auto reg = [&](const char* name, __u64 id, std::uint64_t reset = 0) {
        c.regs.push_back({.name = name, .access = Access::OneReg, .width = 64, .level = L::Runtime, .async_mask = 0, .id = id, .reset_value = reset});
    };
    // QEMU's kvm_riscv_reset_vcpu(): pc = kernel_addr, a0 = hart id, a1 = fdt.
    reg("pc", riscv::KVM_REG_PC, 0x80200000);
    reg("ra", riscv::core(1));
    reg("sp", riscv::core(2));
    reg("a0", riscv::KVM_REG_A0);
    reg("a1", riscv::KVM_REG_A1);
    reg("a2", riscv::core(12));
    reg("sstatus", riscv::CSR_SSTATUS);
    reg("sie", riscv::CSR_SIE);
    reg("stvec", riscv::CSR_STVEC);
    reg("sepc", riscv::CSR_SEPC);
    reg("scause", riscv::CSR_SCAUSE);
    reg("satp", riscv::CSR_SATP);
    // sip: a GET flushes the pending interrupts into hvip; a SET overwrites
    // hvip's VS bits and clears irqs_pending_mask (kvm_riscv_vcpu_general_set_csr).
    c.regs.push_back({.name = "sip", .access = Access::OneReg, .width = 64, .level = L::Runtime, .async_mask = riscv::VSIP_VALID_MASK,
                      .id = riscv::CSR_SIP, .reset_value = 0});
    // The timer (vcpu_timer.c): `time` is the VM-wide cycles + time_delta;
    // `compare` is next_cycles; `state` is whether the timer is armed.
    c.regs.push_back({.name = "time", .access = Access::OneReg, .width = 64, .level = L::Full, .async_mask = ~0ULL, .id = riscv::TIMER_TIME,
                      .reset_value = 0, .time_varying = true, .vm_scope = true, .reset_kept = true});
    c.regs.push_back({.name = "compare", .access = Access::OneReg, .width = 64, .level = L::Full, .async_mask = 0, .id = riscv::TIMER_COMPARE,
                      .reset_value = 0, .reset_kept = true});
    c.regs.push_back({.name = "timer_state", .access = Access::OneReg, .width = 64, .level = L::Full, .async_mask = ~0ULL,
                      .id = riscv::TIMER_STATE, .reset_value = 0, .reset_kept = true});
    c.regs.push_back({.name = "mp_state", .access = Access::MpState, .width = 32, .level = L::Reset, .async_mask = ~0ULL, .id = 0,
                      .reset_value = KVM_MP_STATE_RUNNABLE, .stable_while_paused = true});
    c.pc = *c.find("pc");
    c.ret = *c.find("a0");
    c.tsc = *c.find("time");
    c.mp_state = *c.find("mp_state");
    c.start_payload = {c.pc, c.ret, *c.find("a1")};  // sepc = start, a0 = hartid, a1 = opaque
    c.stopped_mp_state = KVM_MP_STATE_STOPPED;
    c.start_request = "SBI HSM HART_START";
    return c;
}

}  // namespace regsync::model

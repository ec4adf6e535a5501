// The riscv64 fake kernel (fakekvm/riscv64.cpp), one behaviour per test,
// each named after the Linux function it models (arch/riscv/kvm).
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>

#include "fakekvm/arch_vcpu.h"
#include "harness/input_error.h"
#include "harness/scenario.h"
#include "kvm_test_util.h"
#include "model/kvm_abi.h"

namespace regsync::testing {
namespace {

using fakekvm::GuestOp;
using fakekvm::InitSipi;
using model::Arch;
namespace R = regsync::riscv;

constexpr std::uint64_t kBoot = 0x80200000, kStart = 0x80400000;

fakekvm::GuestStep rv_step(const std::string& text, std::size_t vcpus = 2) { return *fakekvm::parse_riscv64_step(step_words(text), vcpus); }

struct Rv : InlineVm {
    explicit Rv(fakekvm::GuestImage boot = {}, fakekvm::GuestImage second = {}, fakekvm::KernelConfig k = {})
        : InlineVm(Arch::Riscv64, InitSipi::ApicEvents, {onereg_vcpu(Arch::Riscv64, true, std::move(boot)), onereg_vcpu(Arch::Riscv64, false, std::move(second))}, k) {}
};

// kvm_riscv_vcpu_get_reg_timer / set_reg_timer: `time` is the VM's
// cycles + time_delta, and a SET changes the VM's time_delta.
TEST(FakeKvmRiscv64, TimeIsTheVmsAndASetMovesEveryVcpu) {
    Rv t;
    t.world.tick();
    EXPECT_EQ(one_reg(t.vm.vcpu(1), R::TIMER_TIME), 1000u);
    ASSERT_EQ(set_one_reg(t.vm.vcpu(0), R::TIMER_TIME, 10), 0);
    t.world.tick();
    EXPECT_EQ(one_reg(t.vm.vcpu(1), R::TIMER_TIME), 1010u);
}

// kvm_riscv_vcpu_timer_cancel(): -EINVAL for state OFF on an unarmed timer
// (why QEMU never writes state 0); ON arms it at `compare`.
TEST(FakeKvmRiscv64, StateOffOnAnUnarmedTimerIsEinvalAndOnArmsIt) {
    Rv t;
    auto& v = t.vm.vcpu(0);
    EXPECT_EQ(set_one_reg(v, R::TIMER_STATE, R::KVM_RISCV_TIMER_STATE_OFF), -EINVAL);
    set_one_reg(v, R::TIMER_COMPARE, 2000);
    ASSERT_EQ(set_one_reg(v, R::TIMER_STATE, R::KVM_RISCV_TIMER_STATE_ON), 0);
    EXPECT_EQ(one_reg(v, R::TIMER_STATE), 1u);
    t.world.tick();
    v.timer_tick();
    EXPECT_EQ(one_reg(v, R::CSR_SIP) & R::SIP_STIP, 0u);
    t.world.tick();
    v.timer_tick();  // kvm_riscv_vcpu_hrtimer_expired(): disarmed, IRQ_VS_TIMER pending
    EXPECT_EQ(one_reg(v, R::CSR_SIP) & R::SIP_STIP, R::SIP_STIP);
    EXPECT_EQ(one_reg(v, R::TIMER_STATE), 0u);
    ASSERT_EQ(set_one_reg(v, R::TIMER_STATE, R::KVM_RISCV_TIMER_STATE_ON), 0);
    EXPECT_EQ(set_one_reg(v, R::TIMER_STATE, R::KVM_RISCV_TIMER_STATE_OFF), 0);
}

// kvm_sbi_ext_ipi_handler(): IRQ_VS_SOFT pending on the target;
// kvm_riscv_vcpu_general_set_csr(sip): hvip's VS bits from the value and
// irqs_pending_mask cleared, so a raised interrupt is gone.
TEST(FakeKvmRiscv64, AnIpiShowsInSipAndASetOfSipErasesIt) {
    Rv t({{kBoot, {rv_step("sbi_ipi 1"), {GuestOp::Io, -1, 1, -1, 0x80}}}});
    ASSERT_EQ(t.vm.vcpu(0).ioctl(KVM_RUN, nullptr), 0);
    auto& second = t.vm.vcpu(1);
    EXPECT_EQ(one_reg(second, R::CSR_SIP), R::SIP_SSIP);
    const auto writes = t.events_of(sim::EventKind::KernelWrite);
    EXPECT_TRUE(std::any_of(writes.begin(), writes.end(), [&](const sim::Event& e) { return e.vcpu == 1 && e.reg == t.reg("sip") && e.writer == sim::Writer::Irq; }));
    ASSERT_EQ(set_one_reg(second, R::CSR_SIP, 0), 0);
    EXPECT_EQ(one_reg(second, R::CSR_SIP), 0u);
    set_one_reg(second, R::CSR_SIP, ~0ULL);
    EXPECT_EQ(one_reg(second, R::CSR_SIP), R::VSIP_VALID_MASK);  // only VSIP_VALID_MASK is taken
}

// kvm_sbi_hsm_vcpu_start(): under the target's mp_state_lock, a payload
// and KVM_REQ_VCPU_RESET, then power on; kvm_riscv_reset_vcpu() in
// kvm_riscv_check_vcpu_requests() at KVM_RUN applies it (sepc = start,
// a0 = hartid, a1 = opaque, sstatus = SPP | SPIE). No ONE_REG access
// services it.
TEST(FakeKvmRiscv64, HartStartIsAppliedAtTheTargetsKvmRunOnly) {
    Rv t({{kBoot, {rv_step("sbi_hart_start 1 0x80400000 0x99"), {GuestOp::Io, -1, 1, -1, 0x80}}}},
         {{kStart, {{GuestOp::Io, -1, 2, -1, 0x80}}}});
    auto &boot = t.vm.vcpu(0), &second = t.vm.vcpu(1);
    ASSERT_EQ(boot.ioctl(KVM_RUN, nullptr), 0);
    EXPECT_EQ(one_reg(boot, R::KVM_REG_A0), static_cast<std::uint64_t>(R::SBI_SUCCESS));
    EXPECT_EQ(mp_state(second), static_cast<std::uint32_t>(KVM_MP_STATE_RUNNABLE));
    EXPECT_EQ(one_reg(second, R::KVM_REG_PC), kBoot);  // still the old pc
    ASSERT_EQ(second.ioctl(KVM_RUN, nullptr), 0);
    EXPECT_EQ(t.events_of(sim::EventKind::GuestEntry).back().value, kStart);
    EXPECT_EQ(one_reg(second, R::KVM_REG_A0), 1u);
    EXPECT_EQ(one_reg(second, R::KVM_REG_A1), 0x99u);
    EXPECT_EQ(one_reg(second, R::CSR_SSTATUS), 0x120u);
    EXPECT_EQ(one_reg(second, R::TIMER_COMPARE), ~0ULL);  // kvm_riscv_vcpu_timer_reset(): next_cycles = -1
}

// The candidate kernel (riscv-hsm-reset-at-one-reg): arm64's 6826c6849b46
// carried over, the reset runs before a ONE_REG access.
TEST(FakeKvmRiscv64, TheCandidateKernelRunsThePendingResetAtOneReg) {
    fakekvm::KernelConfig k;
    k.riscv_reset_at_one_reg = true;
    Rv t({{kBoot, {rv_step("sbi_hart_start 1 0x80400000 0x99"), {GuestOp::Io, -1, 1, -1, 0x80}}}}, {}, k);
    t.vm.vcpu(0).ioctl(KVM_RUN, nullptr);
    EXPECT_EQ(one_reg(t.vm.vcpu(1), R::KVM_REG_PC), kStart);
}

// kvm_sbi_hsm_vcpu_start() on a hart that is not STOPPED:
// SBI_ERR_ALREADY_AVAILABLE; kvm_sbi_hsm_vcpu_stop() powers the caller off.
TEST(FakeKvmRiscv64, HartStartToARunningHartIsAlreadyAvailableAndHartStopStops) {
    Rv t({{kBoot, {rv_step("sbi_hart_start 1 0x80400000"), {GuestOp::Io, -1, 1, -1, 0x80}}}});
    struct kvm_mp_state on{KVM_MP_STATE_RUNNABLE};
    t.vm.vcpu(1).ioctl(KVM_SET_MP_STATE, &on);
    t.vm.vcpu(0).ioctl(KVM_RUN, nullptr);
    EXPECT_EQ(one_reg(t.vm.vcpu(0), R::KVM_REG_A0), static_cast<std::uint64_t>(R::SBI_ERR_ALREADY_AVAILABLE));
    EXPECT_EQ(t.vm.vcpu(1).arch()->guest_step(rv_step("sbi_hart_stop")), 0);
    EXPECT_EQ(mp_state(t.vm.vcpu(1)), static_cast<std::uint32_t>(KVM_MP_STATE_STOPPED));
}

// kvm_arch_vcpu_ioctl_set_mpstate(): RUNNABLE or STOPPED (INIT_RECEIVED
// only with KVM_CAP_RISCV_MP_STATE_RESET, which QEMU never enables).
TEST(FakeKvmRiscv64, SetMpStateTakesRunnableAndStoppedOnly) {
    Rv t;
    struct kvm_mp_state s{KVM_MP_STATE_STOPPED};
    EXPECT_EQ(t.vm.vcpu(0).ioctl(KVM_SET_MP_STATE, &s), 0);
    s.mp_state = KVM_MP_STATE_INIT_RECEIVED;
    EXPECT_EQ(t.vm.vcpu(0).ioctl(KVM_SET_MP_STATE, &s), -EINVAL);
    s.mp_state = KVM_MP_STATE_SUSPENDED;
    EXPECT_EQ(t.vm.vcpu(0).ioctl(KVM_SET_MP_STATE, &s), -EINVAL);
}

// kvm_riscv_vcpu_wfi() wakes on an interrupt enabled in sie only; the
// guest's handler then disables it.
TEST(FakeKvmRiscv64, WfiWakesOnAnEnabledInterruptOnly) {
    Rv t({{kBoot, {{GuestOp::Hlt}, {GuestOp::Io, -1, 1, -1, 0x80}}}});
    auto& v = t.vm.vcpu(0);
    set_one_reg(v, R::CSR_SIP, R::SIP_SSIP | R::SIP_STIP);
    set_one_reg(v, R::CSR_SIE, R::SIP_SSIP);
    ASSERT_EQ(v.ioctl(KVM_RUN, nullptr), 0);  // SSIP pending and enabled
    EXPECT_EQ(v.run().exit_reason, static_cast<__u32>(KVM_EXIT_IO));
    EXPECT_EQ(one_reg(v, R::CSR_SIE), 0u);
}

// The malformed ones are in scenario_test.cpp's MalformedScenario table.
TEST(ScenarioRiscv64, OwnStepsParse) {
    const std::string head = "arch = \"riscv64\"\n[[vcpu]]\nbsp = true\ncode = [";
    const auto s = harness::parse_scenario(head + "\"sbi_hart_start 1 0x80400000 7\", \"rdtime\", \"sbi_ipi 1\"]\n[[vcpu]]\n", "r.toml");
    EXPECT_EQ(s.vcpus[1].mp_state, static_cast<std::uint64_t>(KVM_MP_STATE_STOPPED));  // kvm_arch_vcpu_postcreate
}

}  // namespace
}  // namespace regsync::testing

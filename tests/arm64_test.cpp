// The arm64 fake kernel (fakekvm/arm64.cpp), one behaviour per test, each
// named after the Linux function it models (arch/arm64/kvm).
#include <gtest/gtest.h>

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
namespace A = regsync::arm64;

constexpr std::uint64_t kBoot = 0x40080000, kEntry = 0x40100000;

fakekvm::GuestStep arm_step(const std::string& text, std::size_t vcpus = 2) { return *fakekvm::parse_arm64_step(step_words(text), vcpus); }

fakekvm::KernelConfig kernel(bool reset_at_one_reg = false, bool istatus_on_read = true, bool offset_ioctl = false) {
    fakekvm::KernelConfig k;
    k.arm64_reset_at_one_reg = reset_at_one_reg;
    k.arm64_istatus_on_read = istatus_on_read;
    k.arm64_counter_offset_ioctl = offset_ioctl;
    return k;
}

struct Arm : InlineVm {
    explicit Arm(fakekvm::KernelConfig k = kernel(), fakekvm::GuestImage boot = {}, fakekvm::GuestImage second = {})
        : InlineVm(Arch::Arm64, InitSipi::ApicEvents, {onereg_vcpu(Arch::Arm64, true, std::move(boot)), onereg_vcpu(Arch::Arm64, false, std::move(second))}, k) {}
};

// guest.c kvm_arm_get_reg / kvm_arm_set_reg: the kernel's ids; anything
// else is -ENOENT.
TEST(FakeKvmArm64, OneRegReachesCoreAndSystemRegistersByTheKernelsIds) {
    Arm t;
    auto& v = t.vm.vcpu(0);
    EXPECT_EQ(one_reg(v, A::KVM_REG_PC), kBoot);
    EXPECT_EQ(one_reg(v, A::KVM_REG_PSTATE), A::RESET_PSTATE_EL1);
    ASSERT_EQ(set_one_reg(v, A::core_reg(2), 0x1234), 0);  // x1
    EXPECT_EQ(one_reg(v, A::core_reg(2)), 0x1234u);
    std::uint64_t x = 0;
    EXPECT_EQ(get_one_reg(v, A::sys_reg(3, 0, 0, 5, 0), x), -ENOENT);  // not modelled
    EXPECT_EQ(v.ioctl(KVM_GET_REGS, &x), -ENOTTY);                     // arm64 has no KVM_GET_REGS
}

// kvm_arm_timer_read(TIMER_REG_CNT): physical counter minus the VM's
// offset; kvm_arm_timer_set_reg(TIMER_CNT) sets timer_data.voffset, the
// VM's (47053904e182), so every vCPU's counter moves.
TEST(FakeKvmArm64, ACounterWriteMovesTheVirtualCounterOfEveryVcpu) {
    Arm t;
    t.world.tick();
    t.world.tick();
    EXPECT_EQ(one_reg(t.vm.vcpu(1), A::KVM_REG_ARM_TIMER_CNT), 2000u);
    ASSERT_EQ(set_one_reg(t.vm.vcpu(0), A::KVM_REG_ARM_TIMER_CNT, 500), 0);
    t.world.tick();
    EXPECT_EQ(one_reg(t.vm.vcpu(1), A::KVM_REG_ARM_TIMER_CNT), 1500u);
    EXPECT_EQ(one_reg(t.vm.vcpu(0), A::KVM_REG_ARM_TIMER_CNT), 1500u);
    EXPECT_EQ(one_reg(t.vm.vcpu(0), A::KVM_REG_ARM_PTIMER_CNT), 3000u);  // poffset is its own
}

// read_timer_ctl() (up to 6.17): ISTATUS ORed in when CVAL <= the
// counter, "regardless of ENABLE bit"; kvm_arm_timer_write() strips it.
TEST(FakeKvmArm64, CtlReadComputesIstatusAndAWriteStripsIt) {
    Arm t;
    auto& v = t.vm.vcpu(0);
    ASSERT_EQ(set_one_reg(v, A::KVM_REG_ARM_TIMER_CVAL, 1500), 0);
    ASSERT_EQ(set_one_reg(v, A::KVM_REG_ARM_TIMER_CTL, A::CTL_ENABLE | A::CTL_ISTATUS), 0);
    EXPECT_EQ(v.raw_regs()[static_cast<std::size_t>(t.reg("CNTV_CTL"))], A::CTL_ENABLE);  // stripped
    t.world.tick();
    EXPECT_EQ(one_reg(v, A::KVM_REG_ARM_TIMER_CTL), A::CTL_ENABLE);
    t.world.tick();
    EXPECT_EQ(one_reg(v, A::KVM_REG_ARM_TIMER_CTL), A::CTL_ENABLE | A::CTL_ISTATUS);
}

// 6.18 (09424d5d7d4e, arch_timer_get_user): the stored CTL, which gains
// ISTATUS when the timer fires (timer_save_state keeps the hardware's bit).
TEST(FakeKvmArm64, On618CtlReadReturnsTheStoredValueWhichTheTimerSets) {
    Arm t(kernel(true, false));
    auto& v = t.vm.vcpu(0);
    set_one_reg(v, A::KVM_REG_ARM_TIMER_CVAL, 1000);
    set_one_reg(v, A::KVM_REG_ARM_TIMER_CTL, A::CTL_ENABLE);
    t.world.tick();
    EXPECT_EQ(one_reg(v, A::KVM_REG_ARM_TIMER_CTL), A::CTL_ENABLE);  // condition met, nothing stored yet
    v.timer_tick();
    EXPECT_EQ(one_reg(v, A::KVM_REG_ARM_TIMER_CTL), A::CTL_ENABLE | A::CTL_ISTATUS);
    ASSERT_FALSE(t.events_of(sim::EventKind::KernelWrite).empty());
    EXPECT_EQ(t.events_of(sim::EventKind::KernelWrite).back().writer, sim::Writer::Timer);
}

// kvm_vm_ioctl_set_counter_offset() (30ec7997d175, 6.4): both offsets for
// the VM, and KVM_ARCH_FLAG_VM_COUNTER_OFFSET makes TIMER_CNT writes no-ops
// that still return 0. Before 6.4 the ioctl does not exist.
TEST(FakeKvmArm64, TheCounterOffsetIoctlIsStickyAndAbsentBefore64) {
    Arm old;
    A::kvm_arm_counter_offset off{100, 0};
    EXPECT_EQ(old.vm.vm_ioctl(A::kvm_arm_set_counter_offset, &off), -EINVAL);
    Arm t(kernel(true, true, true));
    off.reserved = 1;
    EXPECT_EQ(t.vm.vm_ioctl(A::kvm_arm_set_counter_offset, &off), -EINVAL);
    off.reserved = 0;
    ASSERT_EQ(t.vm.vm_ioctl(A::kvm_arm_set_counter_offset, &off), 0);
    t.world.tick();
    EXPECT_EQ(one_reg(t.vm.vcpu(0), A::KVM_REG_ARM_TIMER_CNT), 900u);  // 1000 - 100
    EXPECT_EQ(set_one_reg(t.vm.vcpu(1), A::KVM_REG_ARM_TIMER_CNT, 5), 0);
    EXPECT_EQ(one_reg(t.vm.vcpu(1), A::KVM_REG_ARM_TIMER_CNT), 900u);  // dropped
}

// kvm_arch_vcpu_ioctl_vcpu_init(): POWER_OFF is a one-shot (STOPPED, else
// RUNNABLE); a second INIT is a full reset (kvm_reset_vcpu: core registers
// zeroed, pstate EL1h, sysregs to reset_val / reset_unknown, CTL 0).
TEST(FakeKvmArm64, VcpuInitResetsTheVcpuAndPowerOffStopsIt) {
    Arm t;
    auto& v = t.vm.vcpu(0);
    set_one_reg(v, A::core_reg(2), 7);
    set_one_reg(v, A::SCTLR_EL1, 0x1);
    set_one_reg(v, A::KVM_REG_ARM_TIMER_CTL, A::CTL_ENABLE);
    A::kvm_vcpu_init init{A::KVM_ARM_TARGET_GENERIC_V8, {1u << A::KVM_ARM_VCPU_POWER_OFF}};
    ASSERT_EQ(v.ioctl(A::kvm_arm_vcpu_init, &init), 0);
    EXPECT_EQ(mp_state(v), static_cast<std::uint32_t>(KVM_MP_STATE_STOPPED));
    EXPECT_EQ(one_reg(v, A::core_reg(2)), 0u);
    EXPECT_EQ(one_reg(v, A::KVM_REG_PC), 0u);
    EXPECT_EQ(one_reg(v, A::KVM_REG_PSTATE), A::RESET_PSTATE_EL1);
    EXPECT_EQ(one_reg(v, A::SCTLR_EL1), 0x00c50078u);
    EXPECT_EQ(one_reg(v, A::TPIDR_EL1), 0x1de7ec7edbadc0deULL);
    EXPECT_EQ(v.raw_regs()[static_cast<std::size_t>(t.reg("CNTV_CTL"))], 0u);  // a GET would add ISTATUS: CVAL 0 is reached
    init.features[0] = 0;
    ASSERT_EQ(v.ioctl(A::kvm_arm_vcpu_init, &init), 0);
    EXPECT_EQ(mp_state(v), static_cast<std::uint32_t>(KVM_MP_STATE_RUNNABLE));
    init.target = 99;
    EXPECT_EQ(v.ioctl(A::kvm_arm_vcpu_init, &init), -EINVAL);
}

// kvm_arch_vcpu_ioctl_set_mpstate(): RUNNABLE, STOPPED, SUSPENDED only.
TEST(FakeKvmArm64, SetMpStateTakesRunnableStoppedAndSuspended) {
    Arm t;
    auto& v = t.vm.vcpu(0);
    for (__u32 mp : {KVM_MP_STATE_STOPPED, KVM_MP_STATE_SUSPENDED, KVM_MP_STATE_RUNNABLE}) {
        struct kvm_mp_state s{mp};
        ASSERT_EQ(v.ioctl(KVM_SET_MP_STATE, &s), 0);
        EXPECT_EQ(mp_state(v), mp);
    }
    struct kvm_mp_state halted{KVM_MP_STATE_HALTED};
    EXPECT_EQ(v.ioctl(KVM_SET_MP_STATE, &halted), -EINVAL);
}

// kvm_psci_vcpu_on(): the payload (pc, x0) in the target's reset_state,
// KVM_REQ_VCPU_RESET, mp_state RUNNABLE; the target runs kvm_reset_vcpu()
// in check_vcpu_requests() at its next KVM_RUN. Before 6826c6849b46 a
// ONE_REG access in between still sees the old registers.
TEST(FakeKvmArm64, CpuOnLeavesAResetPendingThatTheTargetRunsAtKvmRun) {
    Arm t(kernel(false), {{kBoot, {arm_step("psci_cpu_on 1 0x40100000 0x77"), {GuestOp::Io, -1, 1, -1, 0x80}}}},
          {{kEntry, {{GuestOp::Io, -1, 2, -1, 0x80}}}});
    auto &boot = t.vm.vcpu(0), &second = t.vm.vcpu(1);
    ASSERT_EQ(boot.ioctl(KVM_RUN, nullptr), 0);
    EXPECT_EQ(one_reg(boot, A::KVM_REG_X0), 0u);  // PSCI_RET_SUCCESS
    EXPECT_EQ(mp_state(second), static_cast<std::uint32_t>(KVM_MP_STATE_RUNNABLE));
    ASSERT_EQ(t.events_of(sim::EventKind::StartRequested).size(), 1u);
    EXPECT_EQ(one_reg(second, A::KVM_REG_PC), kBoot);  // the payload is not in any register yet
    ASSERT_EQ(second.ioctl(KVM_RUN, nullptr), 0);
    ASSERT_EQ(t.events_of(sim::EventKind::GuestEntry).size(), 2u);
    EXPECT_EQ(t.events_of(sim::EventKind::GuestEntry)[1].value, kEntry);
    EXPECT_EQ(one_reg(second, A::KVM_REG_X0), 0x77u);
    EXPECT_EQ(t.events_of(sim::EventKind::StartServiced).size(), 1u);
}

// 6826c6849b46 (5.15): "Handle the pending reset here to ensure userspace
// register accesses are ordered after the reset" in kvm_arch_vcpu_ioctl().
TEST(FakeKvmArm64, Since515AOneRegAccessRunsThePendingResetFirst) {
    Arm t(kernel(true), {{kBoot, {arm_step("psci_cpu_on 1 0x40100000 0x77"), {GuestOp::Io, -1, 1, -1, 0x80}}}});
    t.vm.vcpu(0).ioctl(KVM_RUN, nullptr);
    auto& second = t.vm.vcpu(1);
    EXPECT_EQ(mp_state(second), static_cast<std::uint32_t>(KVM_MP_STATE_RUNNABLE));
    EXPECT_TRUE(t.events_of(sim::EventKind::StartServiced).empty());  // KVM_GET_MP_STATE does not run it
    EXPECT_EQ(one_reg(second, A::KVM_REG_PC), kEntry);
    EXPECT_EQ(one_reg(second, A::KVM_REG_X0), 0x77u);
    // A write lands after the reset: it replaces the payload.
    set_one_reg(second, A::KVM_REG_PC, kBoot);
    EXPECT_EQ(one_reg(second, A::KVM_REG_PC), kBoot);
}

// kvm_psci_vcpu_on() on a target that is not STOPPED: PSCI_RET_ALREADY_ON.
TEST(FakeKvmArm64, CpuOnToARunningVcpuIsAlreadyOn) {
    Arm t(kernel(), {{kBoot, {arm_step("psci_cpu_on 1 0x40100000"), {GuestOp::Io, -1, 1, -1, 0x80}}}});
    struct kvm_mp_state on{KVM_MP_STATE_RUNNABLE};
    t.vm.vcpu(1).ioctl(KVM_SET_MP_STATE, &on);
    t.vm.vcpu(0).ioctl(KVM_RUN, nullptr);
    EXPECT_EQ(one_reg(t.vm.vcpu(0), A::KVM_REG_X0), static_cast<std::uint64_t>(A::PSCI_RET_ALREADY_ON));
    EXPECT_TRUE(t.events_of(sim::EventKind::StartRequested).empty());
}

// kvm_vcpu_set_target() -> kvm_reset_vcpu() consumes a CPU_ON payload, but
// nothing on the KVM_ARM_VCPU_INIT path clears KVM_REQ_VCPU_RESET: the
// next reset (here at a ONE_REG access) is a plain one.
TEST(FakeKvmArm64, VcpuInitTakesThePayloadAndLeavesTheRequestPending) {
    Arm t(kernel(false), {{kBoot, {arm_step("psci_cpu_on 1 0x40100000 0x77"), {GuestOp::Io, -1, 1, -1, 0x80}}}});
    t.vm.vcpu(0).ioctl(KVM_RUN, nullptr);
    auto& second = t.vm.vcpu(1);
    A::kvm_vcpu_init init{A::KVM_ARM_TARGET_GENERIC_V8, {}};
    ASSERT_EQ(second.ioctl(A::kvm_arm_vcpu_init, &init), 0);
    EXPECT_EQ(one_reg(second, A::KVM_REG_PC), kEntry);
    Arm u(kernel(true), {{kBoot, {arm_step("psci_cpu_on 1 0x40100000 0x77"), {GuestOp::Io, -1, 1, -1, 0x80}}}});
    u.vm.vcpu(0).ioctl(KVM_RUN, nullptr);
    ASSERT_EQ(u.vm.vcpu(1).ioctl(A::kvm_arm_vcpu_init, &init), 0);
    EXPECT_EQ(one_reg(u.vm.vcpu(1), A::KVM_REG_PC), 0u);  // reset again, without a payload
}

// kvm_arm_vcpu_power_off() for CPU_OFF; kvm_prepare_system_event() for
// SYSTEM_RESET: every vCPU STOPPED and KVM_EXIT_SYSTEM_EVENT.
TEST(FakeKvmArm64, CpuOffStopsTheCallerAndSystemResetStopsEveryVcpu) {
    Arm t(kernel(), {{kBoot, {arm_step("psci_system_reset")}}});
    auto &boot = t.vm.vcpu(0), &second = t.vm.vcpu(1);
    struct kvm_mp_state on{KVM_MP_STATE_RUNNABLE};
    second.ioctl(KVM_SET_MP_STATE, &on);
    EXPECT_EQ(second.arch()->guest_step(arm_step("psci_cpu_off")), 0);  // stays in the kernel, asleep
    EXPECT_EQ(mp_state(second), static_cast<std::uint32_t>(KVM_MP_STATE_STOPPED));
    second.ioctl(KVM_SET_MP_STATE, &on);
    ASSERT_EQ(boot.ioctl(KVM_RUN, nullptr), 0);
    EXPECT_EQ(boot.run().exit_reason, static_cast<__u32>(KVM_EXIT_SYSTEM_EVENT));
    EXPECT_EQ(boot.run().system_event.type, static_cast<__u32>(KVM_SYSTEM_EVENT_RESET));
    EXPECT_EQ(mp_state(boot), static_cast<std::uint32_t>(KVM_MP_STATE_STOPPED));
    EXPECT_EQ(mp_state(second), static_cast<std::uint32_t>(KVM_MP_STATE_STOPPED));
}

// kvm_vcpu_wfi() returns on the timer interrupt; the guest's handler
// (arch_timer_handler_virt) masks the timer.
TEST(FakeKvmArm64, WfiWakesOnTheTimerAndTheGuestMasksIt) {
    Arm t(kernel(), {{kBoot, {arm_step("arm_timer 0"), {GuestOp::Hlt}, {GuestOp::Io, -1, 1, -1, 0x80}}}});  // CVAL = now: due at once
    auto& v = t.vm.vcpu(0);
    ASSERT_EQ(v.ioctl(KVM_RUN, nullptr), 0);
    EXPECT_EQ(v.run().exit_reason, static_cast<__u32>(KVM_EXIT_IO));
    EXPECT_EQ(v.raw_regs()[static_cast<std::size_t>(t.reg("CNTV_CTL"))], A::CTL_ENABLE | A::CTL_IMASK);
}

// The scenario grammar of arm64's own steps (the malformed ones are in
// scenario_test.cpp's MalformedScenario table).
TEST(ScenarioArm64, OwnStepsParse) {
    const std::string head = "arch = \"arm64\"\n[[vcpu]]\nbsp = true\ncode = [";
    const auto s = harness::parse_scenario(head + "\"psci_cpu_on 1 0x40100000 3\", \"read_cnt\", \"wfi\"]\n[[vcpu]]\n", "a.toml");
    ASSERT_EQ(s.vcpus.size(), 2u);
    EXPECT_EQ(s.vcpus[1].mp_state, static_cast<std::uint64_t>(KVM_MP_STATE_STOPPED));  // secondaries start powered off
    EXPECT_EQ(s.vcpus[0].image[0].steps[0].value2, 3u);
}

}  // namespace
}  // namespace regsync::testing

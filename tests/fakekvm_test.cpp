// Kernel semantics of the fake KVM, one ioctl or behaviour per test.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include "fakekvm/kernel_actors.h"
#include "fakekvm/lapic.h"
#include "kvm_test_util.h"
#include "model/kvm_abi.h"

namespace regsync::testing {
namespace {

using fakekvm::GuestOp;
using fakekvm::InitSipi;
using model::Arch;

constexpr std::uint64_t kResetPc = 0xfffffff0;  // cs.base 0xffff0000 + rip 0xfff0

TEST(FakeKvmX86, SetRegsThenGetRegsRoundTrips) {
    InlineVm t(Arch::X86, InitSipi::ApicEvents, {x86_vcpu(true)});
    struct kvm_regs in{};
    t.vm.vcpu(0).ioctl(KVM_GET_REGS, &in);
    EXPECT_EQ(in.rip, 0xfff0u);
    EXPECT_EQ(in.rflags, 0x2u);
    in.rax = 0x1234;
    in.r15 = 0xdead;
    ASSERT_EQ(t.vm.vcpu(0).ioctl(KVM_SET_REGS, &in), 0);
    struct kvm_regs out{};
    ASSERT_EQ(t.vm.vcpu(0).ioctl(KVM_GET_REGS, &out), 0);
    EXPECT_EQ(std::memcmp(&in, &out, sizeof in), 0);
    // Only the two changed registers produce kernel-write events, both by userspace.
    auto writes = t.events_of(sim::EventKind::KernelWrite);
    ASSERT_EQ(writes.size(), 2u);
    EXPECT_EQ(writes[0].reg, t.reg("rax"));
    EXPECT_EQ(writes[1].reg, t.reg("r15"));
    EXPECT_EQ(writes[0].writer, sim::Writer::Userspace);
}

TEST(FakeKvmX86, SetSregsThenGetSregsRoundTrips) {
    InlineVm t(Arch::X86, InitSipi::ApicEvents, {x86_vcpu(true)});
    struct kvm_sregs s{};
    t.vm.vcpu(0).ioctl(KVM_GET_SREGS, &s);
    EXPECT_EQ(s.cs.base, 0xffff0000u);
    EXPECT_EQ(s.cs.selector, 0xf000u);
    EXPECT_EQ(s.apic_base, 0xfee00900u);  // BSP flag set
    s.cr3 = 0x1000;
    s.cs.selector = 0x10;
    ASSERT_EQ(t.vm.vcpu(0).ioctl(KVM_SET_SREGS, &s), 0);
    struct kvm_sregs out{};
    t.vm.vcpu(0).ioctl(KVM_GET_SREGS, &out);
    EXPECT_EQ(out.cr3, 0x1000u);
    EXPECT_EQ(out.cs.selector, 0x10u);
}

TEST(FakeKvmX86, TscAdvancesWithVirtualTimeAndSetMsrsRebasesIt) {
    InlineVm t(Arch::X86, InitSipi::ApicEvents, {x86_vcpu(true)});
    x86::kvm_msrs_buf b;
    b.nmsrs = 1;
    b.entries[0].index = x86::MSR_IA32_TSC;
    ASSERT_EQ(t.vm.vcpu(0).ioctl(x86::kvm_get_msrs, b.arg()), 1);
    EXPECT_EQ(b.entries[0].data, 0u);
    t.world.tick();
    t.world.tick();
    t.vm.vcpu(0).ioctl(x86::kvm_get_msrs, b.arg());
    EXPECT_EQ(b.entries[0].data, 2000u);  // tsc_per_tick = 1000
    b.entries[0].data = 500;
    ASSERT_EQ(t.vm.vcpu(0).ioctl(x86::kvm_set_msrs, b.arg()), 1);
    t.world.tick();
    t.vm.vcpu(0).ioctl(x86::kvm_get_msrs, b.arg());
    EXPECT_EQ(b.entries[0].data, 1500u);  // written value, then one more tick
}

TEST(FakeKvmX86, MsrIoctlsStopAtTheFirstUnknownMsr) {
    InlineVm t(Arch::X86, InitSipi::ApicEvents, {x86_vcpu(true)});
    x86::kvm_msrs_buf b;
    b.nmsrs = 3;
    b.entries[0] = {x86::MSR_STAR, 0, 7};
    b.entries[1] = {0xdeadbeef, 0, 1};
    b.entries[2] = {x86::MSR_IA32_SYSENTER_CS, 0, 9};
    EXPECT_EQ(t.vm.vcpu(0).ioctl(x86::kvm_set_msrs, b.arg()), 1);
    b.entries[0].data = 0;
    EXPECT_EQ(t.vm.vcpu(0).ioctl(x86::kvm_get_msrs, b.arg()), 1);
    EXPECT_EQ(b.entries[0].data, 7u);
    EXPECT_EQ(t.vm.vcpu(0).get(t.reg("IA32_SYSENTER_CS")), 0u);
}

TEST(FakeKvmX86, UnknownIoctlIsENOTTY) {
    InlineVm t(Arch::X86, InitSipi::ApicEvents, {x86_vcpu(true)});
    EXPECT_EQ(t.vm.vcpu(0).ioctl(KVM_GET_FPU, nullptr), -ENOTTY);
}

TEST(FakeKvmX86, SetVcpuEventsWritesNmiPendingOnlyWithItsValidFlag) {
    InlineVm t(Arch::X86, InitSipi::ApicEvents, {x86_vcpu(true)});
    struct kvm_vcpu_events e{};
    e.nmi.pending = 1;
    e.exception.injected = 1;
    t.vm.vcpu(0).ioctl(KVM_SET_VCPU_EVENTS, &e);
    struct kvm_vcpu_events out{};
    t.vm.vcpu(0).ioctl(KVM_GET_VCPU_EVENTS, &out);
    EXPECT_EQ(out.nmi.pending, 0);
    EXPECT_EQ(out.exception.injected, 1);
    e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
    t.vm.vcpu(0).ioctl(KVM_SET_VCPU_EVENTS, &e);
    t.vm.vcpu(0).ioctl(KVM_GET_VCPU_EVENTS, &out);
    EXPECT_EQ(out.nmi.pending, 1);
    EXPECT_EQ(out.sipi_vector, 0u);  // never valid when reported to userspace
}

TEST(FakeKvmX86, MpStateRoundTripsAndRejectsUnknownStates) {
    InlineVm t(Arch::X86, InitSipi::ApicEvents, {x86_vcpu(true)});
    struct kvm_mp_state mp{KVM_MP_STATE_HALTED};
    ASSERT_EQ(t.vm.vcpu(0).ioctl(KVM_SET_MP_STATE, &mp), 0);
    mp.mp_state = 0;
    t.vm.vcpu(0).ioctl(KVM_GET_MP_STATE, &mp);
    EXPECT_EQ(mp.mp_state, static_cast<__u32>(KVM_MP_STATE_HALTED));
    mp.mp_state = 99;
    EXPECT_EQ(t.vm.vcpu(0).ioctl(KVM_SET_MP_STATE, &mp), -EINVAL);
}

TEST(FakeKvmX86, UserspaceSipiReceivedBecomesInitReceivedPlusPendingSipi) {
    InlineVm t(Arch::X86, InitSipi::ApicEvents, {x86_vcpu(true), x86_vcpu(false)});
    auto& ap = t.vm.vcpu(1);
    struct kvm_vcpu_events e{};
    e.flags = KVM_VCPUEVENT_VALID_SIPI_VECTOR;
    e.sipi_vector = 0x20;
    ap.ioctl(KVM_SET_VCPU_EVENTS, &e);
    struct kvm_mp_state mp{KVM_MP_STATE_SIPI_RECEIVED};
    ap.ioctl(KVM_SET_MP_STATE, &mp);
    EXPECT_EQ(ap.raw_regs()[static_cast<std::size_t>(t.cat().mp_state)], static_cast<std::uint64_t>(KVM_MP_STATE_INIT_RECEIVED));
    EXPECT_TRUE(ap.apic_sipi_pending);
    // The vCPU consumes it in its own context: GET_MP_STATE accepts events.
    ap.ioctl(KVM_GET_MP_STATE, &mp);
    EXPECT_EQ(mp.mp_state, static_cast<__u32>(KVM_MP_STATE_RUNNABLE));
    EXPECT_EQ(ap.guest_pc(), 0x20000u);
}

TEST(FakeKvmX86, KvmRunExecutesGuestStepsUntilAnIoExit) {
    fakekvm::GuestImage img{{kResetPc, {{GuestOp::Write, 0, 0x42}, {GuestOp::Io, -1, 7, -1, 0x80}}}};
    InlineVm t(Arch::X86, InitSipi::ApicEvents, {x86_vcpu(true, img)});
    auto& v = t.vm.vcpu(0);
    ASSERT_EQ(v.ioctl(KVM_RUN, nullptr), 0);
    EXPECT_EQ(v.run().exit_reason, static_cast<__u32>(KVM_EXIT_IO));
    EXPECT_EQ(v.run().io.port, 0x80);
    std::uint32_t data;
    std::memcpy(&data, reinterpret_cast<unsigned char*>(&v.run()) + v.run().io.data_offset, 4);
    EXPECT_EQ(data, 7u);
    EXPECT_EQ(v.get(t.reg("rax")), 0x42u);
    EXPECT_EQ(v.guest_pc(), kResetPc + 2);
    EXPECT_EQ(t.events_of(sim::EventKind::VcpuEnter).size(), 1u);
}

TEST(FakeKvmX86, KickMakesTheNextKvmRunReturnEintrWithoutEntering) {
    fakekvm::GuestImage img{{kResetPc, {{GuestOp::Io, -1, 1, -1, 0x80}}}};
    InlineVm t(Arch::X86, InitSipi::ApicEvents, {x86_vcpu(true, img)});
    auto& v = t.vm.vcpu(0);
    v.kick();
    EXPECT_EQ(v.ioctl(KVM_RUN, nullptr), -EINTR);
    EXPECT_EQ(v.run().exit_reason, static_cast<__u32>(KVM_EXIT_INTR));
    EXPECT_TRUE(t.events_of(sim::EventKind::VcpuEnter).empty());
    EXPECT_EQ(v.ioctl(KVM_RUN, nullptr), 0);  // the signal was consumed
}

TEST(FakeKvmX86, RdtscReportsTheTscAndLeavesItInEdxEax) {
    fakekvm::GuestImage img{{kResetPc, {{GuestOp::Rdtsc}, {GuestOp::Io, -1, 1, -1, 0x80}}}};
    InlineVm t(Arch::X86, InitSipi::ApicEvents, {x86_vcpu(true, img)});
    for (int i = 0; i < 3; ++i) t.world.tick();
    t.vm.vcpu(0).ioctl(KVM_RUN, nullptr);
    auto reads = t.events_of(sim::EventKind::GuestTscRead);
    ASSERT_EQ(reads.size(), 1u);
    EXPECT_EQ(reads[0].value, 3000u);
    EXPECT_EQ(t.vm.vcpu(0).get(t.reg("rax")), 3000u);
}

// ----------------------------------------------------------- INIT / SIPI

class InitSipiApicEvents : public ::testing::Test {
protected:
    fakekvm::GuestImage ap_code{{0x10000, {{GuestOp::Io, -1, 2, -1, 0x80}}}};
    InlineVm t{Arch::X86, InitSipi::ApicEvents, {x86_vcpu(true), x86_vcpu(false, ap_code)}};
    void halt_ap() {
        struct kvm_mp_state mp{KVM_MP_STATE_HALTED};
        t.vm.vcpu(1).ioctl(KVM_SET_MP_STATE, &mp);
    }
};

TEST_F(InitSipiApicEvents, InitThenSipiStartsAHaltedApAtVectorTimes4096) {
    halt_ap();
    fakekvm::Lapic::send_init(t.vm, 0, 1);
    fakekvm::Lapic::send_sipi(t.vm, 0, 1, 0x10);
    auto& ap = t.vm.vcpu(1);
    ASSERT_EQ(ap.ioctl(KVM_RUN, nullptr), 0);
    auto entries = t.events_of(sim::EventKind::GuestEntry);
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].value, 0x10000u);
    EXPECT_EQ(ap.get(t.reg("cs.selector")), 0x1000u);
}

TEST_F(InitSipiApicEvents, InitAloneLeavesAnApWaitingForSipi) {
    halt_ap();
    fakekvm::Lapic::send_init(t.vm, 0, 1);
    struct kvm_mp_state mp{};
    t.vm.vcpu(1).ioctl(KVM_GET_MP_STATE, &mp);
    EXPECT_EQ(mp.mp_state, static_cast<__u32>(KVM_MP_STATE_INIT_RECEIVED));
    EXPECT_EQ(t.vm.vcpu(1).guest_pc(), kResetPc);  // reset by INIT
}

TEST_F(InitSipiApicEvents, InitToTheBspRestartsItWithoutSipi) {
    auto& bsp = t.vm.vcpu(0);
    struct kvm_regs r{};
    bsp.ioctl(KVM_GET_REGS, &r);
    r.rip = 0x1234;
    bsp.ioctl(KVM_SET_REGS, &r);
    fakekvm::Lapic::send_init(t.vm, 1, 0);
    struct kvm_mp_state mp{};
    bsp.ioctl(KVM_GET_MP_STATE, &mp);
    EXPECT_EQ(mp.mp_state, static_cast<__u32>(KVM_MP_STATE_RUNNABLE));
    EXPECT_EQ(bsp.guest_pc(), kResetPc);
}

TEST_F(InitSipiApicEvents, SipiWithoutInitIsIgnored) {
    halt_ap();
    fakekvm::Lapic::send_sipi(t.vm, 0, 1, 0x10);
    struct kvm_mp_state mp{};
    t.vm.vcpu(1).ioctl(KVM_GET_MP_STATE, &mp);
    EXPECT_EQ(mp.mp_state, static_cast<__u32>(KVM_MP_STATE_HALTED));
    EXPECT_EQ(t.vm.vcpu(1).guest_pc(), kResetPc);
    EXPECT_FALSE(t.vm.vcpu(1).apic_sipi_pending);
}

TEST_F(InitSipiApicEvents, PendingInitSurvivesAHaltThatStoresMpState) {
    // The post-3.10 fix: HLT's blind mp_state store cannot lose the INIT,
    // because the INIT waits in apic->pending_events.
    fakekvm::Lapic::send_init(t.vm, 0, 1);
    halt_ap();  // as kvm_emulate_halt() would
    fakekvm::Lapic::send_sipi(t.vm, 0, 1, 0x10);
    ASSERT_EQ(t.vm.vcpu(1).ioctl(KVM_RUN, nullptr), 0);
    EXPECT_EQ(t.events_of(sim::EventKind::GuestEntry).at(0).value, 0x10000u);
}

TEST(InitSipiMpState, InitWritesTheTargetsMpStateDirectly) {
    fakekvm::GuestImage ap_code{{0x10000, {{GuestOp::Io, -1, 2, -1, 0x80}}}};
    InlineVm t(Arch::X86, InitSipi::MpState, {x86_vcpu(true), x86_vcpu(false, ap_code)});
    fakekvm::Lapic::send_init(t.vm, 0, 1);
    EXPECT_EQ(t.vm.vcpu(1).raw_regs()[static_cast<std::size_t>(t.cat().mp_state)], static_cast<std::uint64_t>(KVM_MP_STATE_INIT_RECEIVED));
    fakekvm::Lapic::send_sipi(t.vm, 0, 1, 0x10);
    EXPECT_EQ(t.vm.vcpu(1).raw_regs()[static_cast<std::size_t>(t.cat().mp_state)], static_cast<std::uint64_t>(KVM_MP_STATE_SIPI_RECEIVED));
    // __vcpu_run resets the vCPU on SIPI_RECEIVED and starts it at the vector.
    ASSERT_EQ(t.vm.vcpu(1).ioctl(KVM_RUN, nullptr), 0);
    EXPECT_EQ(t.events_of(sim::EventKind::GuestEntry).at(0).value, 0x10000u);
}

TEST(InitSipiMpState, AHaltStoredAfterTheInitLosesIt) {
    fakekvm::GuestImage ap_code{{0x10000, {{GuestOp::Io, -1, 2, -1, 0x80}}}};
    InlineVm t(Arch::X86, InitSipi::MpState, {x86_vcpu(true), x86_vcpu(false, ap_code)});
    fakekvm::Lapic::send_init(t.vm, 0, 1);
    struct kvm_mp_state mp{KVM_MP_STATE_HALTED};  // kvm_emulate_halt() in the window
    t.vm.vcpu(1).set(t.cat().mp_state, mp.mp_state, sim::Writer::Halt);
    fakekvm::Lapic::send_sipi(t.vm, 0, 1, 0x10);
    EXPECT_EQ(t.vm.vcpu(1).raw_regs()[static_cast<std::size_t>(t.cat().mp_state)], static_cast<std::uint64_t>(KVM_MP_STATE_HALTED));
    EXPECT_EQ(t.vm.vcpu(1).guest_pc(), kResetPc);
}

// --------------------------------------------------------------- Book-E

TEST(FakeKvmBookE, TimerExpirySetsTsrBitsWatchdogSetsEnwThenWis) {
    InlineVm t(Arch::PpcBookE, InitSipi::ApicEvents, {ppc_vcpu()});
    const auto tsr = t.cat().tsr;
    t.world.tick();
    t.vm.vcpu(0).has_run = true;
    fakekvm::run_booke_timer(t.vm, 0, {{1, model::tsr::DIS}, {0, 0}, {0, 0}});
    EXPECT_EQ(t.vm.vcpu(0).get(tsr), model::tsr::DIS | model::tsr::ENW | model::tsr::WIS);
    for (const auto& e : t.events_of(sim::EventKind::KernelWrite)) EXPECT_EQ(e.writer, sim::Writer::Timer);
}

TEST(FakeKvmBookE, OneRegTsrSetOrAndClear) {
    InlineVm t(Arch::PpcBookE, InitSipi::ApicEvents, {ppc_vcpu()});
    auto& v = t.vm.vcpu(0);
    std::uint32_t val = static_cast<std::uint32_t>(model::tsr::DIS | model::tsr::FIS);
    struct kvm_one_reg set{ppc::KVM_REG_PPC_TSR, reinterpret_cast<__u64>(&val)};
    ASSERT_EQ(v.ioctl(KVM_SET_ONE_REG, &set), 0);
    val = static_cast<std::uint32_t>(model::tsr::DIS);
    struct kvm_one_reg clr{ppc::KVM_REG_PPC_CLEAR_TSR, reinterpret_cast<__u64>(&val)};
    ASSERT_EQ(v.ioctl(KVM_SET_ONE_REG, &clr), 0);
    val = static_cast<std::uint32_t>(model::tsr::WIS);
    struct kvm_one_reg orr{ppc::KVM_REG_PPC_OR_TSR, reinterpret_cast<__u64>(&val)};
    ASSERT_EQ(v.ioctl(KVM_SET_ONE_REG, &orr), 0);
    std::uint32_t out = 0;
    struct kvm_one_reg get{ppc::KVM_REG_PPC_TSR, reinterpret_cast<__u64>(&out)};
    ASSERT_EQ(v.ioctl(KVM_GET_ONE_REG, &get), 0);
    EXPECT_EQ(out, static_cast<std::uint32_t>(model::tsr::FIS | model::tsr::WIS));
    struct kvm_one_reg bad{ppc::KVM_REG_PPC_OR_TSR, reinterpret_cast<__u64>(&out)};
    EXPECT_EQ(v.ioctl(KVM_GET_ONE_REG, &bad), -EINVAL);  // write-only id
}

TEST(FakeKvmBookE, OneRegHiorIs64Bit) {
    InlineVm t(Arch::PpcBookE, InitSipi::ApicEvents, {ppc_vcpu()});
    std::uint64_t val = 0x123456789abcULL;
    struct kvm_one_reg set{ppc::KVM_REG_PPC_HIOR, reinterpret_cast<__u64>(&val)};
    ASSERT_EQ(t.vm.vcpu(0).ioctl(KVM_SET_ONE_REG, &set), 0);
    std::uint64_t out = 0;
    struct kvm_one_reg get{ppc::KVM_REG_PPC_HIOR, reinterpret_cast<__u64>(&out)};
    t.vm.vcpu(0).ioctl(KVM_GET_ONE_REG, &get);
    EXPECT_EQ(out, val);
}

TEST(FakeKvmBookE, SetSregsLeavesTsrAndDecAloneUnlessUpdateSpecialAsks) {
    InlineVm t(Arch::PpcBookE, InitSipi::ApicEvents, {ppc_vcpu()});
    auto& v = t.vm.vcpu(0);
    v.set(t.cat().tsr, model::tsr::DIS, sim::Writer::Timer);
    ppc::kvm_sregs s{};
    v.ioctl(ppc::KVM_PPC_GET_SREGS, &s);
    EXPECT_EQ(s.u.e.tsr, static_cast<__u32>(model::tsr::DIS));
    s.u.e.tsr = 0;
    s.u.e.dec = 77;
    v.ioctl(ppc::KVM_PPC_SET_SREGS, &s);
    EXPECT_EQ(v.get(t.cat().tsr), model::tsr::DIS);
    EXPECT_EQ(v.get(t.reg("DEC")), 0u);
    s.u.e.update_special = ppc::KVM_SREGS_E_UPDATE_DEC | ppc::KVM_SREGS_E_UPDATE_TSR;
    v.ioctl(ppc::KVM_PPC_SET_SREGS, &s);
    EXPECT_EQ(v.get(t.cat().tsr), 0u);
    EXPECT_EQ(v.get(t.reg("DEC")), 77u);
}

TEST(FakeKvmBookE, GuestAcknowledgesTsrByWriteOneToClear) {
    fakekvm::GuestImage img{{0xfffffffc, {{GuestOp::AckTsr, -1, model::tsr::DIS}, {GuestOp::Io, -1, 1, -1, 0x80}}}};
    InlineVm t(Arch::PpcBookE, InitSipi::ApicEvents, {ppc_vcpu(img)});
    auto& v = t.vm.vcpu(0);
    v.set(t.cat().tsr, model::tsr::DIS | model::tsr::FIS, sim::Writer::Timer);
    ASSERT_EQ(v.ioctl(KVM_RUN, nullptr), 0);
    EXPECT_EQ(v.get(t.cat().tsr), model::tsr::FIS);
}

TEST(FakeKvm, KernelAccessesRecordFootprints) {
    InlineVm t(Arch::PpcBookE, InitSipi::ApicEvents, {ppc_vcpu()});
    t.world.begin_step(0);
    t.world.tick();
    t.vm.vcpu(0).has_run = true;
    fakekvm::run_booke_timer(t.vm, 0, {{1, model::tsr::DIS}});
    const auto tsr_obj = sim::Obj::vcpu(0, static_cast<std::uint32_t>(t.cat().tsr));
    const auto& acc = t.world.steps().back().accesses;
    EXPECT_NE(std::find(acc.begin(), acc.end(), sim::Access{tsr_obj, true}), acc.end());
    EXPECT_NE(std::find(acc.begin(), acc.end(), sim::Access{sim::Obj::kClock, false}), acc.end());
}

}  // namespace
}  // namespace regsync::testing

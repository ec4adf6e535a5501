// qemu-today against today's QEMU, point by point (issue 13): each test
// fails if the model goes back to what it did before the audit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "explore/explore.h"
#include "explore/shrink.h"
#include "fakekvm/kernel_config.h"
#include "harness/execution.h"
#include "harness/kernel_profile.h"
#include "harness/scenario.h"
#include "model/catalogue.h"
#include "model/kvm_abi.h"
#include "model/kvm_all.h"
#include "model/policies/qemu_today.h"
#include "model/policy_registry.h"
#include "sched/decision_source.h"
#include "sim/world.h"
#include "test_paths.h"

namespace regsync::testing {
namespace {

const model::Catalogue& x86() { return model::catalogue(model::Arch::X86); }
std::size_t reg(const char* name) { return static_cast<std::size_t>(*x86().find(name)); }

// A vCPU that answers every ioctl with success and records it: the request,
// the MSR indices of a KVM_SET_MSRS, and whether the VMM held the BQL.
struct RecordingVcpu final : model::KvmVcpu {
    struct Call {
        unsigned long request;
        std::vector<__u32> msrs;
        bool bql;
        __u64 one_reg_id = 0;
        std::uint32_t one_reg_value = 0;
        __u32 events_flags = 0;
    };
    model::Vmm* vmm = nullptr;
    std::vector<Call> calls;
    struct kvm_run run_{};
    int ioctl(unsigned long request, void* arg) override {
        if (request == KVM_RUN) return model::kExecutionOver;
        Call c{request, {}, vmm && vmm->bql_locked()};
        if (request == x86::kvm_set_msrs) {
            auto* b = static_cast<x86::kvm_msrs_buf*>(arg);
            for (__u32 i = 0; i < b->nmsrs; ++i) c.msrs.push_back(b->entries[i].index);
            calls.push_back(c);
            return static_cast<int>(b->nmsrs);
        }
        if (request == x86::kvm_get_msrs) return static_cast<int>(static_cast<x86::kvm_msrs_buf*>(arg)->nmsrs);
        if (request == KVM_GET_VCPU_EVENTS) std::memset(arg, 0, sizeof(struct kvm_vcpu_events));
        if (request == KVM_SET_VCPU_EVENTS) c.events_flags = static_cast<const struct kvm_vcpu_events*>(arg)->flags;
        if (request == KVM_SET_ONE_REG) {
            const auto* o = static_cast<const struct kvm_one_reg*>(arg);
            c.one_reg_id = o->id;
            std::memcpy(&c.one_reg_value, reinterpret_cast<const void*>(o->addr), sizeof c.one_reg_value);
        }
        calls.push_back(c);
        return 0;
    }
    struct kvm_run& run() override { return run_; }
    void kick() override {}
    int index() const override { return 0; }
};

struct RecordingVm final : model::KvmVm {
    RecordingVcpu v;
    model::Arch arch_ = model::Arch::X86;
    model::Arch arch() const override { return arch_; }
    int vcpu_count() const override { return 1; }
    model::KvmVcpu& vcpu(int) override { return v; }
};

// Point 1: do_cpu_init() resets QEMU's copy, keeps the init-save fields,
// drops the latched INIT and moves an AP to INIT_RECEIVED.
TEST(QemuToday, DoCpuInitResetsTheCacheAndDropsTheLatchedInit) {
    model::CPUState ap;
    ap.cpu_index = 1;
    ap.env = x86().reset_values(false);
    ap.env[reg("cs.base")] = 0x10000, ap.env[reg("rip")] = 0x20, ap.env[reg("rax")] = 6;
    ap.env[reg("IA32_SYSENTER_CS")] = 0x10, ap.env[reg("IA32_TSC")] = 12345, ap.env[reg("IA32_TSC_ADJUST")] = 0x99;
    ap.env[reg("mp_state")] = KVM_MP_STATE_RUNNABLE;
    ap.latched_init = true;
    model::do_cpu_init(ap, x86());
    EXPECT_EQ(ap.env[reg("cs.base")], 0xffff0000u);
    EXPECT_EQ(ap.env[reg("rip")], 0xfff0u);
    EXPECT_EQ(ap.env[reg("rax")], 0u);
    EXPECT_EQ(ap.env[reg("IA32_SYSENTER_CS")], 0x10u);  // start_init_save..end_init_save
    EXPECT_EQ(ap.env[reg("IA32_TSC_ADJUST")], 0x99u);
    EXPECT_EQ(ap.env[reg("IA32_TSC")], 1u);            // x86_cpu_reset_hold under KVM
    EXPECT_EQ(ap.env[reg("mp_state")], KVM_MP_STATE_INIT_RECEIVED);
    EXPECT_FALSE(ap.latched_init);
    model::CPUState bsp = ap;
    bsp.cpu_index = 0;
    bsp.latched_init = true;
    model::do_cpu_init(bsp, x86());
    EXPECT_EQ(bsp.env[reg("mp_state")], KVM_MP_STATE_RUNNABLE);
}

// Point 1 in a whole execution: with no preemption at all, the monitor's
// synchronize sees latched_init, its KVM_GET_MP_STATE starts the AP at the
// SIPI vector, and do_cpu_init's put sends it back to the reset vector, on
// a kernel that never clears or re-posts an INIT (upstream-2025). The
// candidate fix holds there.
TEST(QemuToday, DoCpuInitSendsAStartedApBackToTheResetVector) {
    const auto s = harness::load_scenario("init-sipi-monitor", scenario_dir());
    const auto k = harness::resolve_kernel("upstream-2025").config;
    harness::Engine engine;
    sched::LenientReplayDecisions d({});
    const auto r = engine.run(s, "qemu-today", k, d);
    EXPECT_TRUE(explore::violates(r, properties::Property::LostInit));
    EXPECT_TRUE(std::any_of(r.events.begin(), r.events.end(), [](const sim::Event& e) { return e.kind == sim::EventKind::VmmCpuInit; }));
    explore::ExploreConfig cfg;
    cfg.policy = "qemu-today-init-fix";
    cfg.kernel = "upstream-2025";
    cfg.strategy = "dfs";
    cfg.executions = 20000;
    EXPECT_FALSE(explore::explore(s, cfg, engine).violating_execution.has_value());
}

// Points 2 and 5: the RUNTIME put runs after bql_unlock() (qemu-levels, the
// 2013 code, puts under the BQL), and IA32_TSCDEADLINE goes in its own
// KVM_SET_MSRS after KVM_SET_VCPU_EVENTS and KVM_SET_MP_STATE.
std::vector<RecordingVcpu::Call> runtime_put(const char* policy) {
    sim::InlineScheduler sched;
    sim::World world(sched);
    RecordingVm vm;
    auto p = model::make_policy(policy);
    model::Vmm vmm(world, vm, *p, {x86().reset_values(true)});
    vm.v.vmm = &vmm;
    vmm.bql_lock();
    vmm.kvm_cpu_exec(vmm.cpu(0));  // dirty from creation: a RUNTIME put, then KVM_RUN ends the run
    return vm.v.calls;
}

TEST(QemuToday, TheRuntimePutRunsOutsideTheBql) {
    const auto today = runtime_put("qemu-today");
    ASSERT_FALSE(today.empty());
    for (const auto& c : today) EXPECT_FALSE(c.bql) << c.request;
    for (const auto& c : runtime_put("qemu-levels")) EXPECT_TRUE(c.bql) << c.request;
}

TEST(QemuToday, TheTscDeadlineHasItsOwnSetMsrsAfterTheEvents) {
    const auto calls = runtime_put("qemu-today");
    std::vector<unsigned long> order;
    for (const auto& c : calls) order.push_back(c.request);
    const std::vector<unsigned long> want = {KVM_SET_SREGS, KVM_SET_REGS, x86::kvm_set_msrs, KVM_SET_VCPU_EVENTS, x86::kvm_set_msrs};
    ASSERT_EQ(order, want);
    EXPECT_EQ(calls.back().msrs, std::vector<__u32>{x86::MSR_IA32_TSCDEADLINE});
    for (auto m : calls[2].msrs) EXPECT_NE(m, x86::MSR_IA32_TSCDEADLINE);
    // Point 6: IA32_TSC_ADJUST in the main batch at every level (the TSC itself only at RESET and FULL).
    EXPECT_NE(std::find(calls[2].msrs.begin(), calls[2].msrs.end(), x86::MSR_IA32_TSC_ADJUST), calls[2].msrs.end());
    EXPECT_EQ(std::find(calls[2].msrs.begin(), calls[2].msrs.end(), x86::MSR_IA32_TSC), calls[2].msrs.end());
}

// Point 6, the kernel side: a guest WRMSR(IA32_TSC) adds its jump to
// IA32_TSC_ADJUST (kvm_set_msr_common), on PVM too; the RUNTIME put of the
// monitor's synchronize writes TSC_ADJUST back, stored on VMX/SVM kernels
// and dropped by kvm_pvm. The writeback is never stale: only the vCPU's own
// WRMSR changes TSC_ADJUST, inside KVM_RUN, and QEMU's get and put both run
// on the vCPU's thread outside it (so tsc-adjust-monitor-read holds).
TEST(QemuToday, GuestTscWritesMoveTscAdjustAndTheWritebackIsNeverStale) {
    const auto s = harness::load_scenario("tsc-adjust-monitor-read", scenario_dir());
    harness::Engine engine;
    const auto adjust = static_cast<std::int16_t>(reg("IA32_TSC_ADJUST"));
    for (const char* k : {"debian-6.1", "pvm-6.18"}) {
        sched::LenientReplayDecisions d({});
        const auto r = engine.run(s, "qemu-today", harness::resolve_kernel(k).config, d);
        int by_guest = 0, by_host = 0;
        for (const auto& e : r.events)
            if (e.kind == sim::EventKind::KernelWrite && e.reg == adjust) (e.writer == sim::Writer::Guest ? by_guest : by_host)++;
        EXPECT_EQ(by_guest, 1) << k;
        EXPECT_EQ(by_host, 0) << k;  // the put writes back what the kernel holds
        EXPECT_TRUE(r.verdict.ok()) << k;
    }
}

// Point 3: load_snapshot() runs qemu_system_reset() first: reset intents
// and a RESET put between loadvm's stop and the snapshot's load. A reset
// makes a non-zero TSC 1 under today's QEMU only.
TEST(QemuToday, LoadvmResetsTheMachineBeforeItLoads) {
    const auto s = harness::load_scenario("savevm-loadvm", scenario_dir());
    harness::Engine engine;
    sched::LenientReplayDecisions d({});
    const auto r = engine.run(s, "qemu-today", *fakekvm::kernel_variant("init-apic-events"), d);
    std::size_t loaded = r.events.size(), stopped = 0;
    for (std::size_t i = 0; i < r.events.size(); ++i)
        if (r.events[i].kind == sim::EventKind::SnapshotLoaded) loaded = i;
    ASSERT_LT(loaded, r.events.size());
    for (std::size_t i = 0; i < loaded; ++i)
        if (r.events[i].kind == sim::EventKind::VmStopped) stopped = i;
    int resets = 0;
    for (std::size_t i = stopped; i < loaded; ++i)
        resets += r.events[i].kind == sim::EventKind::Intent && r.events[i].aux == static_cast<std::uint32_t>(sim::IntentCause::Reset);
    EXPECT_GT(resets, 0);
    EXPECT_EQ(model::make_policy("qemu-today")->tsc_after_reset(5, 0), 1u);
    EXPECT_EQ(model::make_policy("qemu-today")->tsc_after_reset(0, 0), 0u);
    EXPECT_EQ(model::make_policy("qemu-levels")->tsc_after_reset(5, 0), 0u);
}

// Point 7: KVM_VCPUEVENT_VALID_SIPI_VECTOR (with the 0 that every
// KVM_GET_VCPU_EVENTS reports) only when env's mp_state is SIPI_RECEIVED
// since 4fadfa0030 (2017); the 2013 code put it at every RESET and FULL put.
__u32 reset_put_events_flags(const char* policy, __u32 mp_state) {
    RecordingVcpu v;
    model::CPUState cpu;
    cpu.kvm = &v;
    cpu.env = x86().reset_values(false);
    cpu.env[reg("mp_state")] = mp_state;
    model::ArchSync arch(x86());
    model::make_policy(policy)->post_reset(cpu, arch);
    for (const auto& c : v.calls)
        if (c.request == KVM_SET_VCPU_EVENTS) return c.events_flags;
    return ~0u;
}

TEST(QemuToday, TheSipiVectorIsPutOnlyForSipiReceived) {
    EXPECT_FALSE(reset_put_events_flags("qemu-today", KVM_MP_STATE_INIT_RECEIVED) & KVM_VCPUEVENT_VALID_SIPI_VECTOR);
    EXPECT_TRUE(reset_put_events_flags("qemu-today", KVM_MP_STATE_SIPI_RECEIVED) & KVM_VCPUEVENT_VALID_SIPI_VECTOR);
    EXPECT_TRUE(reset_put_events_flags("qemu-levels", KVM_MP_STATE_INIT_RECEIVED) & KVM_VCPUEVENT_VALID_SIPI_VECTOR);
    EXPECT_TRUE(reset_put_events_flags("qemu-today", KVM_MP_STATE_INIT_RECEIVED) & KVM_VCPUEVENT_VALID_NMI_PENDING);
}

// Point 4: today's do_vm_stop() sets the run state before the pause (2013:
// after), and kvmclock's stop handler reads every vCPU's TSC through
// run_on_cpu before anything else touches the stopped vCPUs: the first
// vCPU ioctl after the VM stopped is that KVM_GET_MSRS.
unsigned long first_ioctl_after_stop(const char* policy) {
    const auto s = harness::load_scenario("savevm-loadvm", scenario_dir());
    harness::Engine engine;
    sched::LenientReplayDecisions d({});
    const auto r = engine.run(s, policy, *fakekvm::kernel_variant("init-apic-events"), d);
    bool stopped = false;
    for (const auto& e : r.events) {
        if (e.kind == sim::EventKind::VmStopped) stopped = true;
        if (stopped && e.kind == sim::EventKind::Ioctl && e.vcpu >= 0) return e.aux;
    }
    return 0;
}

TEST(QemuToday, VmStopSetsTheRunStateFirstAndKvmclockReadsEveryTsc) {
    EXPECT_EQ(first_ioctl_after_stop("qemu-today"), x86::kvm_get_msrs);
    EXPECT_EQ(first_ioctl_after_stop("qemu-levels"), static_cast<unsigned long>(KVM_GET_REGS));
    EXPECT_TRUE(model::make_policy("qemu-today")->runstate_before_pause());
    EXPECT_FALSE(model::make_policy("qemu-levels")->runstate_before_pause());
}

// Point 8, PowerPC: a FULL put (loadvm) writes no Book-E SREGS and no TSR
// or TCR, so none of TSR, TCR, DEC is restored; the timer's reset handler
// writes TCR = 0 and clears every TSR bit; a VM start clears the watchdog
// bits ENW|WIS|WRS. Nothing sets TSR bits (no KVM_REG_PPC_OR_TSR).
TEST(QemuToday, BookeTimerStateIsNeverPutOnlyClearedByTheResetAndVmStart) {
    const auto& cat = model::catalogue(model::Arch::PpcBookE);
    model::ArchSync arch(cat);
    RecordingVcpu v;
    model::CPUState cpu;
    cpu.kvm = &v;
    cpu.env = cat.reset_values(true);
    cpu.env[static_cast<std::size_t>(cat.tcr)] = 0x4000000;
    cpu.env[static_cast<std::size_t>(cat.tsr)] = model::tsr::DIS;
    cpu.env[static_cast<std::size_t>(cat.dec)] = 0x80;
    model::QemuToday today;
    today.post_init(cpu, arch);
    for (const auto& c : v.calls) {
        EXPECT_NE(c.request, ppc::KVM_PPC_SET_SREGS);
        EXPECT_NE(c.one_reg_id, ppc::KVM_REG_PPC_TSR);
        EXPECT_NE(c.one_reg_id, ppc::KVM_REG_PPC_TCR);
        EXPECT_NE(c.one_reg_id, ppc::KVM_REG_PPC_OR_TSR);
        EXPECT_NE(c.one_reg_id, ppc::KVM_REG_PPC_CLEAR_TSR);
    }
    v.calls.clear();
    today.reset_handlers(cpu, arch);
    ASSERT_EQ(v.calls.size(), 2u);
    EXPECT_EQ(v.calls[0].one_reg_id, ppc::KVM_REG_PPC_TCR);
    EXPECT_EQ(v.calls[0].one_reg_value, 0u);
    EXPECT_EQ(v.calls[1].one_reg_id, ppc::KVM_REG_PPC_CLEAR_TSR);
    EXPECT_EQ(v.calls[1].one_reg_value, 0xffffffffu);
    v.calls.clear();
    today.vm_state_change(cpu, arch, true);
    ASSERT_EQ(v.calls.size(), 1u);
    EXPECT_EQ(v.calls[0].one_reg_id, ppc::KVM_REG_PPC_CLEAR_TSR);
    EXPECT_EQ(v.calls[0].one_reg_value, static_cast<std::uint32_t>(model::tsr::ENW | model::tsr::WIS | model::tsr::WRS_MASK));
    v.calls.clear();
    today.vm_state_change(cpu, arch, false);
    EXPECT_TRUE(v.calls.empty());
}

// The same in a whole execution: after a loadvm the snapshot's TCR, TSR and
// DEC never reach the kernel (booke-savevm-loadvm-timer).
TEST(QemuToday, BookeLoadvmRestoresNoTimerState) {
    const auto s = harness::load_scenario("booke-savevm-loadvm-timer", scenario_dir());
    harness::Engine engine;
    explore::ExploreConfig cfg;
    cfg.policy = "qemu-today";
    cfg.strategy = "dfs";
    cfg.executions = 2000;
    const auto rep = explore::explore(s, cfg, engine);
    ASSERT_TRUE(rep.violating_execution.has_value());
    EXPECT_TRUE(explore::violates(rep.first_violation, properties::Property::SnapshotFidelity) ||
                explore::violates(rep.first_violation, properties::Property::LostUserspaceWrite));
    cfg.policy = "ppc-onereg-tsr";  // puts DEC and TCR at FULL, TSR exactly by OR/CLEAR
    EXPECT_FALSE(explore::explore(s, cfg, engine).violating_execution.has_value());
}

}  // namespace
}  // namespace regsync::testing

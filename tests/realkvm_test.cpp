// The real /dev/kvm backend and the differential probe. Where /dev/kvm is
// missing or refuses a VM, the real-kernel tests skip with the reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "explore/catalogue.h"
#include "explore/cell_search.h"
#include "harness/input_error.h"
#include "properties/property.h"
#include "harness/kernel_profile.h"
#include "harness/plugin_loader.h"
#include "realkvm/kvm_device.h"
#include "realkvm/probe.h"
#include "realkvm/guest_run.h"
#include "realkvm/kvm_replay.h"
#include "fakekvm/kernel_axes.h"
#include "fakekvm/kernel_config.h"
#include "harness/trace_file.h"
#include "sched/decision_source.h"
#include "harness/scenario.h"
#include "test_paths.h"

namespace regsync::testing {
namespace {

// Which variants may answer a row differently from the default, and why.
bool may_differ(const std::string& behaviour, const std::string& variant) {
    const struct {
        const char* row;
        const char* variant;
    } allowed[] = {
        {"latched_init", "init-mp-state"},        // nothing is latched before 3.10
        {"latched_init", "events-latched-init"},  // ff90afa75573 clears it
        {"SIPI_RECEIVED", "init-mp-state"},       // taken as is before 3.10
        {"BSP itself", "init-mp-state"},          // before 3.10 the BSP waits for SIPI too
        {"IA32_TSC", "pvm-no-tsc-offset"},        // no TSC offsetting
        {"10^6 cycles older", "tsc-sync-window"}, // a write within a second keeps the VM's offset
        {"with an INIT pending", "init-mp-state"},  // before 3.10 the INIT is the mp_state userspace overwrites
        {"with a SIPI pending", "init-mp-state"},   // nothing is pending before 3.10: the SIPI was dropped
    };
    for (const auto& a : allowed)
        if (behaviour.find(a.row) != std::string::npos && variant == a.variant) return true;
    return false;
}

TEST(KvmProbe, TheVariantsDifferOnlyWhereTheyModelADifference) {
    const auto rep = realkvm::run_probe();
    ASSERT_FALSE(rep.rows.empty());
    for (const auto& r : rep.rows) {
        SCOPED_TRACE(r.behaviour);
        ASSERT_EQ(r.fake.size(), rep.variants.size());
        for (std::size_t i = 0; i < r.fake.size(); ++i)
            if (!may_differ(r.behaviour, rep.variants[i])) {
                EXPECT_EQ(r.fake[i], r.fake.front()) << rep.variants[i];
            }
        EXPECT_EQ(r.fake.front().find("failed"), std::string::npos) << r.fake.front();
        EXPECT_EQ(r.fake.front().find("error"), std::string::npos) << r.fake.front();
    }
}

// The TSC rows tell a kernel that offsets the TSC from PVM, which cannot,
// and a write within a second of the expected value, which Linux takes as
// a request to keep the vCPUs in sync, from one far older.
TEST(KvmProbe, TheTscRowsSeparatePvmAndTheSyncWindowFromTheDefault) {
    const auto rep = realkvm::run_probe();
    int rows = 0;
    for (const auto& r : rep.rows) {
        if (r.behaviour.find("KVM_SET_MSRS of an") == std::string::npos) continue;  // the host's IA32_TSC writes
        ++rows;
        const bool near = r.behaviour.find("10^6 cycles older") != std::string::npos;
        for (std::size_t i = 0; i < rep.variants.size(); ++i) {
            const bool back = r.fake[i].find("does not go back") == std::string::npos;
            const bool kept = rep.variants[i] == "pvm-no-tsc-offset" || (near && rep.variants[i] == "tsc-sync-window");
            EXPECT_EQ(back, !kept) << r.behaviour << " / " << rep.variants[i] << ": " << r.fake[i];
        }
    }
    EXPECT_EQ(rows, 3);
}

// The latched-INIT row tells the kernel variants apart: a RUNTIME
// KVM_SET_VCPU_EVENTS with latched_init = 0 keeps the pending INIT on the
// current kernel and clears it on kernels with ff90afa75573 before its fix.
TEST(KvmProbe, TheLatchedInitRowSeparatesTheVariants) {
    const auto rep = realkvm::run_probe();
    const auto& r = rep.rows.back();
    ASSERT_NE(r.behaviour.find("latched_init"), std::string::npos);
    for (std::size_t i = 0; i < rep.variants.size(); ++i) {
        if (rep.variants[i] == "init-apic-events") {
            EXPECT_EQ(r.fake[i], "the pending INIT is kept");
        } else if (rep.variants[i] == "events-latched-init") {
            EXPECT_EQ(r.fake[i], "the pending INIT is cleared");
        }
    }
}

TEST(KvmProbe, EveryRowAgreesWithTheRealKernel) {
    std::vector<std::pair<std::string, fakekvm::KernelConfig>> profiles;
    for (const auto& n : harness::bundled_kernels()) profiles.emplace_back(n, harness::resolve_kernel(n).config);
    const auto rep = realkvm::run_probe(profiles);
    if (!rep.unavailable.empty()) GTEST_SKIP() << "no real KVM here: " << rep.unavailable;
    // Every row agrees with the default variant, or with a variant or a
    // named real-kernel profile that documents a host-kernel difference.
    for (const auto& r : rep.rows)
        EXPECT_TRUE(r.agree || !r.matches.empty()) << r.behaviour << ": fake " << r.fake.front() << ", real " << r.real;
}

// kvm-probe --profile-out decides every kernel axis from the real rows: the
// profile it writes makes every row agree at once, and on this project's
// machines (kvm_pvm) it is the 6.18 + kvm_pvm profile.
TEST(KvmProbe, ProfileOutMakesEveryRowAgreeAtOnce) {
    if (const auto why = realkvm::kvm_unavailable_reason(); !why.empty()) GTEST_SKIP() << "no real KVM here: " << why;
    const auto out = temp_path("host.toml");
    const auto r = run_cli("kvm-probe --profile-out " + out);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    const auto measured = harness::resolve_kernel(out);
    const auto m = realkvm::measure_profile("test");
    ASSERT_TRUE(m.unavailable.empty());
    EXPECT_TRUE(m.unexplained.empty());
    for (const auto& row : m.report.rows) EXPECT_EQ(row.fake[m.column], row.real) << row.behaviour;
    if (std::filesystem::exists("/sys/module/kvm_pvm")) {
        // Only the axes an x86 host can show: the probe keeps the fake's
        // default on the arm64 and riscv64 ones, which the 6.18 profile sets
        // from the arm64 and riscv64 sources of 6.18.
        const auto x86_only = [](std::vector<std::pair<std::string, std::string>> axes) {
            std::erase_if(axes, [](const auto& a) {
                const auto* axis = fakekvm::find_axis(a.first);
                return axis == nullptr || axis->arch == model::Arch::Arm64 || axis->arch == model::Arch::Riscv64;
            });
            return axes;
        };
        EXPECT_EQ(x86_only(measured.axes), x86_only(harness::resolve_kernel("pvm-6.18").axes)) << r.output;
        EXPECT_FALSE(x86_only(measured.axes).empty());
    }
}

// --kernel host on the kernel itself: today's QEMU loses the INIT of
// init-sipi-monitor there (this kernel honours latched_init outside SMM),
// and kvm-replay of the trace loses it on the real kernel too. Under the
// profile with the 2025 kernel patch QEMU still loses it by its own
// do_cpu_init(); the candidate QEMU fix holds there.
TEST(KvmProbe, HostKernelVerdictIsTheRealKernelsVerdict) {
    if (const auto why = realkvm::kvm_unavailable_reason(); !why.empty()) GTEST_SKIP() << "no real KVM here: " << why;
    setenv("XDG_CACHE_HOME", temp_path("cache").c_str(), 1);
    const auto trace = temp_path("host.json");
    auto sim = run_cli("explore --scenario init-sipi-monitor --policy qemu-today --kernel host --trace-out " + trace);
    unsetenv("XDG_CACHE_HOME");
    const auto real = run_cli("kvm-replay " + trace);
    EXPECT_EQ(sim.exit_code, real.exit_code) << sim.output << real.output;
    if (std::filesystem::exists("/sys/module/kvm_pvm")) {
        EXPECT_EQ(sim.exit_code, 1) << sim.output;
        EXPECT_NE(sim.output.find("lost-init"), std::string::npos) << sim.output;
        EXPECT_NE(real.output.find("verdict on the real kernel's observations (not judged: rax, rcx, rdx, the real code's scratch registers): VIOLATION"),
                  std::string::npos) << real.output;
    }
    EXPECT_EQ(run_cli("explore --scenario init-sipi-monitor --policy qemu-today --kernel upstream-2025 --strategy dfs --executions 100000").exit_code, 1);
    EXPECT_EQ(run_cli("explore --scenario init-sipi-monitor --policy qemu-today-init-fix --kernel upstream-2025 --strategy dfs --executions 100000").exit_code, 0);
}

// The skip rule, checked where /dev/kvm works too: REGSYNC_NO_KVM stands in
// for a missing device. The CLI names the reason and exits 2.
TEST(KvmProbe, WithoutRealKvmTheCliExitsTwoWithTheReason) {
    setenv("REGSYNC_NO_KVM", "1", 1);
    const auto r = run_cli("kvm-probe");
    unsetenv("REGSYNC_NO_KVM");
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("no real KVM here: REGSYNC_NO_KVM is set"), std::string::npos) << r.output;
}

TEST(RealKvm, AKickMakesKvmRunReturnEintr) {
    std::string why;
    auto vm = realkvm::RealVm::create(1, why);
    if (!vm) GTEST_SKIP() << "no real KVM here: " << why;
    auto& v = vm->vcpu(0);
    v.kick();  // before KVM_RUN: immediate_exit makes it return at once
    EXPECT_EQ(v.ioctl(KVM_RUN, nullptr), -EINTR);
    EXPECT_EQ(v.run().immediate_exit, 0);
}

// The bundled INIT/SIPI scenario's guest code on real vCPUs: the AP, halted,
// reports from its SIPI program at 0x10000 every time.
TEST(RealKvm, InitSipiStartsTheApAtTheVectorInEveryOf200Runs) {
    if (const auto why = realkvm::kvm_unavailable_reason(); !why.empty()) GTEST_SKIP() << "no real KVM here: " << why;
    const auto s = harness::load_scenario("init-sipi-halt", scenario_dir());
    int started = 0;
    for (int k = 0; k < 200; ++k) {
        if (k == 3 && started == 0) break;  // diagnostics only
        std::string why;
        auto vm = realkvm::RealVm::create(2, why);
        ASSERT_TRUE(vm) << why;
        const auto run = realkvm::run_guest_code(*vm, s, 2, std::chrono::milliseconds(2000));
        ASSERT_TRUE(run.error.empty()) << run.error;
        bool ok = false;
        std::string seen;
        for (const auto& r : run.reports) {
            ok = ok || (r.vcpu == 1 && r.value == 2 && r.cs_base == 0x10000);
            seen += " vcpu" + std::to_string(r.vcpu) + ":" + std::to_string(r.value) + "@" + std::to_string(r.cs_base);
        }
        started += ok;
        for (const auto& f : run.final_state) seen += "; " + f;
        if (!ok && k < 3) ADD_FAILURE() << "run " << k << (run.timed_out ? " timed out" : "") << ", reports:" << seen;
    }
    EXPECT_EQ(started, 200);
}

// kvm-replay: the fake replays a catalogued trace exactly, its vCPU ioctls
// go to real vCPUs in the same order, and the oracle judges what the real
// kernel showed.
std::string regression(const std::string& name) { return traces_dir() + "/regressions/" + name + ".json"; }

realkvm::KvmReplayReport kvm_replay(const std::string& path) {
    return realkvm::kvm_replay(harness::read_trace(path), path, scenario_dir());
}

bool has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// Races that live in VMM code: a stale writeback, the dirty bitmap's lost
// monitor write, the level design's dropped runtime write, a reset that is
// never put, the stale CS:RIP after KVM_GET_MP_STATE.
TEST(KvmReplay, VmmSideBugsReproduceOnTheRealKernel) {
    if (const auto why = realkvm::kvm_unavailable_reason(); !why.empty()) GTEST_SKIP() << "no real KVM here: " << why;
    for (const char* name : {"bitmap-dirty-entry", "bitmap-stale-writeback", "levels-drop-runtime-reset-writes", "reset-without-post-reset",
                             "get-mp-state-after-regs"}) {
        SCOPED_TRACE(name);
        const auto t = harness::read_trace(regression(name));
        const auto rep = kvm_replay(regression(name));
        ASSERT_TRUE(rep.unavailable.empty()) << rep.unavailable;
        ASSERT_FALSE(t.violations.empty());
        EXPECT_TRUE(rep.violated) << rep.text;
        EXPECT_TRUE(has(rep.real, t.violations.front().property)) << rep.text;
    }
}

// The fix of the dirty-bitmap bug, replayed the same way, holds there.
TEST(KvmReplay, TheFixedPolicyHoldsOnTheRealKernel) {
    if (const auto why = realkvm::kvm_unavailable_reason(); !why.empty()) GTEST_SKIP() << "no real KVM here: " << why;
    const auto buggy = harness::read_trace(regression("bitmap-dirty-entry"));
    const auto s = harness::load_scenario(buggy.scenario_source, scenario_dir());
    harness::Engine engine;
    sched::LenientReplayDecisions d(std::vector<sim::ActorId>(buggy.decisions.begin(), buggy.decisions.end()));
    const auto r = engine.run(s, "regsync-v2-fixed", harness::resolve_kernel(buggy.kernel).config, d);
    ASSERT_TRUE(r.verdict.ok());
    const auto fixed = harness::make_trace(s, "regsync-v2-fixed", buggy.kernel, "lenient", 0, 0, r);
    const auto rep = realkvm::kvm_replay(fixed, "fixed", scenario_dir());
    EXPECT_FALSE(rep.violated) << rep.text;
    EXPECT_TRUE(rep.real.empty()) << rep.text;
}

// kvm-replay of a trace found with a sync layer loaded as a plugin: its
// ioctls reach the real vCPUs as a built-in's do, and the real kernel shows
// the same verdict as for qemu-today on the same decisions.
TEST(KvmReplay, AnExamplePluginTraceDrivesTheRealKernelAsQemuTodaysDoes) {
    if (const auto why = realkvm::kvm_unavailable_reason(); !why.empty()) GTEST_SKIP() << "no real KVM here: " << why;
    harness::load_plugin(REGSYNC_C_SYNC_LAYER);
    for (const char* name : {"do-cpu-init-over-started-ap", "latched-init-cleared"}) {
        SCOPED_TRACE(name);
        const auto builtin = harness::read_trace(regression(name));
        ASSERT_EQ(builtin.policy, "qemu-today");
        const auto s = harness::load_scenario(builtin.scenario_source, scenario_dir());
        harness::Engine engine;
        sched::ReplayDecisions d(std::vector<sim::ActorId>(builtin.decisions.begin(), builtin.decisions.end()));
        const auto r = engine.run(s, "c-qemu-today", harness::resolve_kernel(builtin.kernel).config, d);
        const auto plugin = harness::make_trace(s, "c-qemu-today", builtin.kernel, builtin.strategy, builtin.seed, builtin.execution, r);
        EXPECT_EQ(plugin.events, builtin.events);
        EXPECT_EQ(plugin.plugin, REGSYNC_C_SYNC_LAYER);
        const auto a = kvm_replay(regression(name));
        const auto b = realkvm::kvm_replay(plugin, "plugin", scenario_dir());
        ASSERT_TRUE(b.unavailable.empty()) << b.unavailable;
        EXPECT_EQ(b.simulated, a.simulated);
        EXPECT_EQ(b.real, a.real) << b.text;
        EXPECT_EQ(b.violated, a.violated);
        EXPECT_EQ(b.unexplained, 0u) << b.text;
        EXPECT_NE(b.text.find(" agree"), std::string::npos) << b.text;  // fake | real per ioctl
        // The same through the CLI, which loads the plugin in its supervised worker.
        const auto path = temp_path(std::string(name) + ".json");
        harness::write_trace(path, plugin);
        const auto cli = run_cli("kvm-replay " + path + " --policy-plugin " + REGSYNC_C_SYNC_LAYER);
        EXPECT_EQ(cli.exit_code, a.violated ? 1 : 0) << cli.output;
        EXPECT_NE(cli.output.find("verdict on the real kernel's observations"), std::string::npos) << cli.output;
    }
}

// kvm-replay --html: the fake's drawing beside the real run's observations.
TEST(KvmReplay, HtmlDrawsTheFakeAndTheRealRunSideBySide) {
    if (const auto why = realkvm::kvm_unavailable_reason(); !why.empty()) GTEST_SKIP() << "no real KVM here: " << why;
    const auto page = temp_path("side.html");
    const auto r = run_cli("kvm-replay " + regression("latched-init-cleared") + " --html " + page);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    const auto html = read_file(page);
    const auto rep = kvm_replay(regression("latched-init-cleared"));
    ASSERT_FALSE(rep.rows.empty());
    std::size_t rows = 0, lanes = 0;
    for (auto at = html.find("<tr class=\""); at != std::string::npos; at = html.find("<tr class=\"", at + 1)) ++rows;
    for (auto at = html.find("<g class=\"lane\""); at != std::string::npos; at = html.find("<g class=\"lane\"", at + 1)) ++lanes;
    EXPECT_EQ(rows, rep.rows.size());
    EXPECT_EQ(lanes, 3u);  // vcpu0-thread, vcpu1-thread, main-loop
    EXPECT_NE(html.find("<div class=\"fake\">"), std::string::npos);
    EXPECT_NE(html.find("<div class=\"real\">"), std::string::npos);
    EXPECT_NE(html.find(" slice\" data-step="), std::string::npos);  // the causal slice, as in view
    EXPECT_NE(html.find("verdict on the real kernel's observations:</b> VIOLATION"), std::string::npos);
}

// INIT lost to HLT lives inside pre-3.10 kernels: the replay cannot force
// it, says so, and the real kernel starts the AP as the fixed variant does.
TEST(KvmReplay, InitLostToHltCannotBeForcedAndTheRealKernelStartsTheAp) {
    if (const auto why = realkvm::kvm_unavailable_reason(); !why.empty()) GTEST_SKIP() << "no real KVM here: " << why;
    const auto rep = kvm_replay(regression("init-lost-to-hlt"));
    EXPECT_TRUE(has(rep.simulated, "lost-init"));
    EXPECT_FALSE(has(rep.real, "lost-init")) << rep.text;
    EXPECT_NE(rep.text.find("cannot force it"), std::string::npos) << rep.text;
    EXPECT_NE(rep.text.find("as the fixed variant init-apic-events does"), std::string::npos) << rep.text;
}

// The model tells the truth: on every catalogued x86 trace, each state read
// and each KVM_RUN exit of the fake matches the real kernel's, up to the
// differences the replay explains (time, code layout, scratch registers).
TEST(KvmReplay, TheFakeAgreesWithTheRealKernelOnEveryCataloguedX86Trace) {
    if (const auto why = realkvm::kvm_unavailable_reason(); !why.empty()) GTEST_SKIP() << "no real KVM here: " << why;
    int replayed = 0;
    for (const char* name : {"bitmap-dirty-entry", "bitmap-stale-writeback", "bitmap-stale-writeback-hypercall", "bitmap-stale-writeback-savevm",
                             "get-mp-state-after-regs", "init-lost-to-hlt", "init-lost-to-hlt-monitor", "latched-init-cleared",
                             "levels-drop-runtime-reset-writes", "loadvm-tsc-on-pvm", "loadvm-tsc-zero-is-a-sync", "loadvm-without-post-init",
                             "partial-get-overwrites-pending-write", "reset-without-post-reset", "tsc-runtime-writeback",
                             // the INIT races around savevm, a hypercall and a reset
                             "get-mp-state-after-regs-savevm", "get-mp-state-after-regs-savevm-writeback", "get-mp-state-after-regs-hypercall",
                             "runtime-mp-state-over-init", "runtime-mp-state-over-init-savevm", "runtime-mp-state-over-init-hypercall",
                             "init-lost-to-hlt-hypercall", "init-lost-to-hlt-savevm", "reset-without-post-reset-over-init",
                             "latched-init-cleared-savevm", "bitmap-stale-writeback-init"}) {
        SCOPED_TRACE(name);
        const auto rep = kvm_replay(regression(name));
        EXPECT_EQ(rep.unexplained, 0u) << rep.text;
        EXPECT_EQ(rep.exits_differ, 0u) << rep.text;
        ++replayed;
    }
    EXPECT_EQ(replayed, 26);
}

// The matrix's host column against the real kernel: every catalogued x86
// bug whose trace, replayed by kvm-replay, violates its property on this
// kernel is found in the host column (the trace's policy and scenario,
// searched as the matrix searches a cell, under the probed profile).
TEST(KvmReplay, TheHostColumnFindsEveryBugThatReproducesOnTheRealKernel) {
    if (const auto why = realkvm::kvm_unavailable_reason(); !why.empty()) GTEST_SKIP() << "no real KVM here: " << why;
#ifdef REGSYNC_SANITIZE
    GTEST_SKIP() << "release-build budget (a matrix search per catalogued bug)";
#endif
    const auto profile = temp_path("host.toml");
    ASSERT_EQ(run_cli("kvm-probe --profile-out " + profile).exit_code, 0);
    const auto host = harness::resolve_kernel(profile);
    const auto cat = explore::load_catalogue(std::string(REGSYNC_SOURCE_DIR) + "/catalogue/verdicts.toml", scenario_dir());
    harness::Engine engine;
    int reproduced = 0;
    for (const auto& b : cat.bugs) {
        const auto path = regression(b.name);
        const auto t = harness::read_trace(path);
        const auto s = harness::load_scenario(t.scenario_source, scenario_dir());
        if (s.arch != model::Arch::X86 || t.policy == "sync-regs") continue;
        // A trace of the pre-3.10 kernel cannot force its race on a real
        // one (kvm-replay says so): its real guest follows a fake guest that
        // lost the INIT, which is no verdict on the real kernel.
        if (harness::resolve_kernel(t.kernel).config.init_sipi == fakekvm::InitSipi::MpState) continue;
        realkvm::KvmReplayReport rep;
        try {
            rep = kvm_replay(path);
        } catch (const harness::InputError&) {
            continue;  // guest code no real vCPU runs (vCPU event writes)
        }
        const std::string prop(properties::to_string(b.property));
        if (std::find(rep.real.begin(), rep.real.end(), prop) == rep.real.end()) continue;
        ++reproduced;
        const auto cell = explore::search_cell(s, t.policy, host.config, {}, engine);
        EXPECT_TRUE(cell.found.count(prop)) << b.name << ": " << prop << " reproduces on the real kernel but the host column of " << s.name
                                            << " / " << t.policy << " does not find it";
    }
    EXPECT_GE(reproduced, 10);
    std::printf("%d catalogued bugs reproduce on this kernel; the host column finds each\n", reproduced);
}

// The runtime TSC writeback, replayed as slowly as the scenario's clock
// (3 s per tick, so the written-back value is over a second stale): a
// kernel that takes the write shows the guest's TSC going back across
// vCPUs (Debian 6.1 with kvm-amd did); one that keeps its own (kvm_pvm)
// cannot, and the replay says so instead of reporting a jump-back it did
// not see.
TEST(KvmReplay, TheTscWritebackIsJudgedByWhatTheKernelDid) {
    if (const auto why = realkvm::kvm_unavailable_reason(); !why.empty()) GTEST_SKIP() << "no real KVM here: " << why;
    const auto path = regression("tsc-runtime-writeback");
    const auto rep = realkvm::kvm_replay(harness::read_trace(path), path, scenario_dir(), std::chrono::seconds(3));
    EXPECT_TRUE(has(rep.simulated, "tsc-jump-back"));
    bool kept = false;  // the writeback (step 33) read back as the kernel's own TSC
    for (const auto& n : rep.notes) kept = kept || (n.find("kept its IA32_TSC") != std::string::npos && n.find("step 33") != std::string::npos);
    if (kept) {
        EXPECT_FALSE(has(rep.real, "tsc-jump-back")) << rep.text;
        EXPECT_NE(rep.text.find("did not show on the real kernel"), std::string::npos) << rep.text;
    } else {
        EXPECT_TRUE(has(rep.real, "tsc-jump-back")) << rep.text;
    }
}

TEST(KvmReplay, PowerPcTracesAndTheSkipRuleExitTwo) {
    auto r = run_cli("kvm-replay /nonexistent/trace.json");
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("/nonexistent/trace.json"), std::string::npos) << r.output;
    r = run_cli("kvm-replay " + regression("tsr-blind-writeback"));
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("only x86 traces"), std::string::npos) << r.output;
    setenv("REGSYNC_NO_KVM", "1", 1);
    r = run_cli("kvm-replay " + regression("bitmap-dirty-entry"));
    unsetenv("REGSYNC_NO_KVM");
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("no real KVM here: REGSYNC_NO_KVM is set"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace regsync::testing

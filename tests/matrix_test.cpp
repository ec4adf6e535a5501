// The policy matrix against the catalogue: every historical bug found under
// its historical policy or kernel variant and absent under its fix.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "explore/catalogue.h"
#include "explore/explore.h"
#include "explore/matrix.h"
#include "explore/mutants.h"
#include "harness/kernel_profile.h"
#include "explore/replay.h"
#include "explore/shrink.h"
#include "harness/trace_file.h"
#include "harness/input_error.h"
#include "test_paths.h"

namespace regsync::testing {
namespace {

explore::Catalogue bundled() { return explore::load_catalogue(REGSYNC_CATALOGUE, scenario_dir()); }

// Scenarios that exist to show correct behaviour rather than a bug.
// arm64-reset-after-cpu-on, arm64-guest-reset and arm64-savevm-loadvm: every put level of the
// arm64 policies at work (they kill the mutants that skip one).
// arm64-timer-istatus: ISTATUS stripped by a writeback is recomputed by the
// kernel (a race the kernel's own semantics rule out), so every cell holds.
bool is_control(const std::string& s) {
    return s == "reset-during-run" || s == "savevm-loadvm" || s == "tsc-deadline-race" || s == "arm64-timer-istatus" ||
           s == "arm64-reset-after-cpu-on" || s == "arm64-savevm-loadvm" || s == "arm64-guest-reset";
}

TEST(Catalogue, BundledCatalogueLoadsAndCoversEveryScenario) {
    const auto cat = bundled();
    EXPECT_GE(cat.bugs.size(), 10u);
    for (const auto& s : harness::bundled_scenarios(scenario_dir())) {
        const bool named = std::any_of(cat.bugs.begin(), cat.bugs.end(), [&](const auto& b) { return std::find(b.scenarios.begin(), b.scenarios.end(), s) != b.scenarios.end(); });
        // Every bundled scenario exists to show a bug, except the ones kept as controls.
        if (!is_control(s)) {
            EXPECT_TRUE(named) << s;
        }
    }
    EXPECT_EQ(cat.expected("init-sipi-halt", "qemu-levels", "init-mp-state").size(), 1u);
    EXPECT_TRUE(cat.expected("init-sipi-halt", "qemu-levels", "init-apic-events").empty());
}

TEST(Catalogue, BadEntriesAreRefusedWithFileAndLine) {
    const auto path = temp_path("bad-catalogue.toml");
    write_file(path, "[[bug]]\nname = \"x\"\ntitle = \"t\"\nsource = \"s\"\nscenario = \"tsr-timer-race\"\n"
                     "property = \"lost-kernel-write\"\npolicies = [\"qemu-9000\"]\nfix_policy = \"accessors\"\n");
    try {
        explore::load_catalogue(path, scenario_dir());
        FAIL() << "accepted an unknown policy";
    } catch (const harness::InputError& e) {
        EXPECT_EQ(std::string(e.what()), path + ":1: bug 'x' names unknown policy 'qemu-9000'");
    }
    write_file(path, "[[bug]]\nname = \"x\"\ntitle = \"t\"\nsource = \"s\"\nscenario = \"nope\"\nproperty = \"lost-init\"\npolicies = [\"*\"]\n");
    EXPECT_THROW(explore::load_catalogue(path, scenario_dir()), harness::InputError);
}

class MatrixAgainstCatalogue : public ::testing::TestWithParam<std::string> {};

TEST_P(MatrixAgainstCatalogue, EveryCellAgrees) {
#ifdef REGSYNC_SANITIZE
    GTEST_SKIP() << "2,000 executions per cell is a release-build budget; the sanitizer build runs the other suites";
#endif
    explore::MatrixConfig cfg;
    cfg.scenario_dir = scenario_dir();
    cfg.only_scenarios = {GetParam()};
    // The named real-kernel profiles, and the kernel whose host TSC writes
    // always move the offset, where the TSC races show (no real kernel
    // profiled so far has it).
    cfg.kernels = harness::bundled_kernels();
    cfg.kernels.push_back("init-apic-events");
    harness::Engine engine;
    const auto rep = explore::run_matrix(cfg, bundled(), engine);
    EXPECT_EQ(rep.cells.size(), rep.policies.size() * rep.kernels.size());
    int held = 0, violated = 0;
    for (const auto& c : rep.cells) {
        EXPECT_TRUE(c.agrees) << c.scenario << " / " << c.policy << " / " << c.kernel << ": found "
                              << (c.found.empty() ? "nothing" : c.found.front()) << ", catalogue expects "
                              << (c.expected.empty() ? "held" : c.expected.front());
        (c.violating ? violated : held)++;
    }
    // A checker that finds nothing, or everything, is broken.
    EXPECT_GT(held, 0) << GetParam();
    if (!is_control(GetParam())) {
        EXPECT_GT(violated, 0) << GetParam();
    }
}

INSTANTIATE_TEST_SUITE_P(Scenarios, MatrixAgainstCatalogue, ::testing::ValuesIn(harness::bundled_scenarios(REGSYNC_SCENARIO_DIR)),
                         [](const auto& p) {
                             std::string n = p.param;
                             std::replace(n.begin(), n.end(), '-', '_');
                             return n;
                         });

// The matrix's reduction, lock-aware (sched/dpor.h: bound-safe sleep sets,
// commuting critical sections), must not change a verdict against bpor,
// which has neither: over every scenario and policy, on Debian 12's
// kernel, each cell holds or is violated under both alike; where both
// searches finished they found the same properties, and where they did not,
// lock-aware found everything bpor found. It spends fewer schedules, and
// finishes more cells. (Before sleep-set-blocked runs were skipped, each
// counted as a deadlock: 1,908 cells of the full matrix disagreed.)
TEST(Matrix, TheLockAwareReductionAndTheStateCacheKeepEveryVerdict) {
#ifdef REGSYNC_SANITIZE
    GTEST_SKIP() << "two matrices are a release-build budget";
#endif
    explore::MatrixConfig cfg;
    cfg.scenario_dir = scenario_dir();
    cfg.kernels = {"debian-6.1"};
    cfg.jobs = 2;
    cfg.reduction = "bpor";
    harness::Engine engine;
    const auto bpor = explore::run_matrix(cfg, bundled(), engine);
    cfg.reduction = "lock-aware";
    const auto aware = explore::run_matrix(cfg, bundled(), engine);
    ASSERT_EQ(aware.cells.size(), bpor.cells.size());
    std::uint64_t schedules[2] = {0, 0};
    std::size_t violated = 0, finished[2] = {0, 0};
    for (std::size_t i = 0; i < bpor.cells.size(); ++i) {
        const auto& b = bpor.cells[i];
        const auto& a = aware.cells[i];
        SCOPED_TRACE(b.scenario + " / " + b.policy + " / " + b.kernel);
        EXPECT_EQ(a.violating > 0, b.violating > 0);
        const std::set<std::string> fa(a.found.begin(), a.found.end()), fb(b.found.begin(), b.found.end());
        if (a.exhausted && b.exhausted) EXPECT_EQ(fa, fb);
        else EXPECT_TRUE(std::includes(fa.begin(), fa.end(), fb.begin(), fb.end()));
        violated += b.violating > 0;
        finished[0] += b.exhausted;
        finished[1] += a.exhausted;
        if (a.exhausted && b.exhausted) {
            schedules[0] += b.dfs_schedules;
            schedules[1] += a.dfs_schedules;
        }
    }
    EXPECT_GT(violated, 0u);
    EXPECT_LT(schedules[1], schedules[0]);
    EXPECT_GT(finished[1], finished[0]);

    // Stateful DPOR in each cell (matrix --state-cache) against lock-aware
    // alone, on scenarios where it finishes cells lock-aware does not (the
    // whole matrix, by hand in session 13: the same properties in all 5,320
    // cells): every cell holds or is violated alike, where both finished
    // they found the same properties, and it finishes more cells within the
    // same budget.
    cfg.state_cache = true;
    cfg.only_scenarios = {"booke-watchdog-vm-start", "tsr-timer-monitor-write", "riscv64-savevm-loadvm", "arm64-guest-reset",
                          "hypercall-result", "init-sipi-monitor", "tsr-timer-race", "stop-during-hypercall-kvmclock"};
    const auto cached = explore::run_matrix(cfg, bundled(), engine);
    std::map<std::string, const explore::Cell*> by_cell;
    for (const auto& a : aware.cells) by_cell[a.scenario + "/" + a.policy + "/" + a.kernel] = &a;
    std::size_t finished_cached = 0, finished_aware = 0, violated_cached = 0;
    for (const auto& c : cached.cells) {
        SCOPED_TRACE(c.scenario + " / " + c.policy + " / " + c.kernel + " with the state cache");
        const auto it = by_cell.find(c.scenario + "/" + c.policy + "/" + c.kernel);
        ASSERT_NE(it, by_cell.end());
        const auto& a = *it->second;
        EXPECT_EQ(c.violating > 0, a.violating > 0);
        if (c.exhausted && a.exhausted) {
            EXPECT_EQ(std::set<std::string>(c.found.begin(), c.found.end()), std::set<std::string>(a.found.begin(), a.found.end()));
        }
        finished_cached += c.exhausted;
        finished_aware += a.exhausted;
        violated_cached += c.violating > 0;
    }
    EXPECT_GT(violated_cached, 0u);
    EXPECT_GT(finished_cached, finished_aware);
}

TEST(Cli, MatrixRefusesTheStateCacheWithoutSleepSets) {
    auto r = run_cli("matrix --scenario tsr-timer-race --reduction lock-aware-bpor --state-cache");
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("--state-cache goes with --reduction dpor or lock-aware"), std::string::npos) << r.output;
}

TEST(Cli, MatrixPrintsTheTableAndExitsZeroWhenAllCellsAgree) {
#ifdef REGSYNC_SANITIZE
    GTEST_SKIP() << "release-build budget";
#endif
    auto r = run_cli("matrix --scenario monitor-write-reset-level --trace-dir " + temp_path("mx"));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("ppc-onereg-tsr"), std::string::npos);
    EXPECT_NE(r.output.find("0 disagree with the catalogue"), std::string::npos);
    auto md = run_cli("matrix --markdown --scenario tsr-timer-race --budget 200 --executions 50 --trace-dir " + temp_path("mx2"));
    EXPECT_NE(md.output.find("| policy |"), std::string::npos);
    auto js = run_cli("matrix --json --scenario tsr-timer-race --budget 200 --executions 50 --trace-dir " + temp_path("mx3"));
    EXPECT_NE(js.output.find("\"agrees\""), std::string::npos);
    EXPECT_EQ(run_cli("matrix --json --markdown").exit_code, 2);
}

TEST(Cli, MatrixExitsOneWhenACellDisagrees) {
    // A catalogue claiming the fixed policy loses the TSR bit must fail.
    const auto path = temp_path("wrong.toml");
    write_file(path, "[[bug]]\nname = \"wrong\"\ntitle = \"t\"\nsource = \"s\"\nscenario = \"tsr-timer-race\"\n"
                     "property = \"lost-kernel-write\"\npolicies = [\"ppc-onereg-tsr\"]\nkernels = [\"init-apic-events\"]\nfix_policy = \"accessors\"\n");
    auto r = run_cli("matrix --scenario tsr-timer-race --kernel init-apic-events --budget 500 --executions 200 --catalogue " + path + " --trace-dir " + temp_path("mx4"));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("tsr-timer-race / ppc-onereg-tsr / init-apic-events: catalogue says lost-kernel-write, found nothing"),
              std::string::npos) << r.output;
}

// Exact: a cell that violates a property its catalogue entries do not list
// disagrees, even when it also shows the one they list. The bundled
// catalogue, with lost-userspace-write taken out of one entry's `also`.
TEST(Cli, MatrixExitsOneWhenACellViolatesMoreThanTheCatalogueLists) {
    std::string cat = read_file(std::string(REGSYNC_SOURCE_DIR) + "/catalogue/verdicts.toml");
    const std::string entry = "name = \"bitmap-dirty-entry\"";
    const auto at = cat.find(entry);
    ASSERT_NE(at, std::string::npos);
    const auto also = cat.find("also = [\"lost-userspace-write\"]\n", at);
    ASSERT_NE(also, std::string::npos);
    cat.erase(also, std::string("also = [\"lost-userspace-write\"]\n").size());
    const auto path = temp_path("verdicts.toml");
    write_file(path, cat);
    auto r = run_cli("matrix --scenario monitor-write-reset-level --catalogue " + path + " --trace-dir " + temp_path("mx5"));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("monitor-write-reset-level / regsync-v2 / debian-6.1: catalogue says dirty-entry, found dirty-entry, lost-userspace-write"),
              std::string::npos) << r.output;
    EXPECT_NE(r.output.find("!! DIRTY+LUW"), std::string::npos) << r.output;
    // The bundled catalogue lists both: every cell agrees.
    EXPECT_EQ(run_cli("matrix --scenario monitor-write-reset-level --trace-dir " + temp_path("mx6")).exit_code, 0);
}

// The mutation score as a feature: with every bundled scenario each
// mutant of sync-regs is killed; without the runtime monitor writes of
// every family, leaving SREGS, MSRS or vCPU events out of the runtime put
// survives, and the survivors are named.
TEST(Cli, MutantsScoreDropsWithoutTheScenarioThatKillsThem) {
#ifdef REGSYNC_SANITIZE
    GTEST_SKIP() << "release-build budget (two mutation runs)";
#endif
    auto all = run_cli("mutants --policy sync-regs -j 2");
    EXPECT_EQ(all.exit_code, 0) << all.output;
    EXPECT_NE(all.output.find("(100.0%)"), std::string::npos) << all.output;
    const std::string dir = temp_path("corpus");
    ASSERT_EQ(std::system(("mkdir -p " + dir + " && cp " + scenario_dir() + "/*.toml " + dir + " && rm " + dir + "/monitor-write-runtime-families.toml").c_str()), 0);
    auto fewer = run_cli("mutants --policy sync-regs -j 2 --scenarios " + dir);
    EXPECT_EQ(fewer.exit_code, 1) << fewer.output;
    EXPECT_EQ(fewer.output.find("(100.0%)"), std::string::npos) << fewer.output;
    EXPECT_NE(fewer.output.find("survivors:\n"), std::string::npos) << fewer.output;
    for (const char* m : {"sync-regs / skip-put:SREGS@KVM_PUT_RUNTIME_STATE", "sync-regs / skip-put:MSRS@KVM_PUT_RUNTIME_STATE",
                          "sync-regs / skip-put:VCPU_EVENTS@KVM_PUT_RUNTIME_STATE"})
        EXPECT_NE(fewer.output.find(std::string("  ") + m + "\n"), std::string::npos) << m << "\n" << fewer.output;
}

}  // namespace
}  // namespace regsync::testing

namespace regsync::testing {
namespace {

// traces/regressions/<bug>.json: one shrunk trace per catalogued bug. It
// must replay exactly and violate the bug's property at the recorded step;
// the same decisions under the fix must diverge or hold.
TEST(Regressions, EveryCataloguedBugHasAShrunkTraceThatStillFailsAndHoldsUnderItsFix) {
    const auto cat = explore::load_catalogue(REGSYNC_CATALOGUE, scenario_dir());
    harness::Engine engine;
    for (const auto& b : cat.bugs) {
        SCOPED_TRACE(b.name);
        const auto t = harness::read_trace(traces_dir() + "/regressions/" + b.name + ".json");
        const std::string prop(properties::to_string(b.property));
        const auto replay = explore::replay_trace(t, scenario_dir(), engine);
        ASSERT_FALSE(replay.diverged) << replay.divergence;
        auto step_of = [&](const std::vector<harness::TraceViolation>& vs) -> long {
            for (const auto& v : vs)
                if (v.property == prop) return v.step;
            return -1;
        };
        EXPECT_GE(step_of(t.violations), 0) << "the trace does not show " << prop;
        EXPECT_EQ(step_of(replay.replayed.violations), step_of(t.violations));

        const auto s = harness::load_scenario(t.scenario_source, scenario_dir());
        const std::string policy = b.fix_policy.empty() ? t.policy : b.fix_policy;
        const std::string kernel = b.fix_kernel.empty() ? t.kernel : b.fix_kernel;
        sched::ReplayDecisions d(std::vector<sim::ActorId>(t.decisions.begin(), t.decisions.end()));
        const auto fixed = engine.run(s, policy, harness::resolve_kernel(kernel).config, d);
        EXPECT_TRUE(d.diverged() || !explore::violates(fixed, b.property))
            << prop << " still violated under " << policy << " / " << kernel;
    }
}

}  // namespace
}  // namespace regsync::testing

namespace regsync::testing {
namespace {

// A shrunk regression trace is no longer than 1.5x the violating trace that
// exhaustive search (dfs with DPOR, bounds 0..3 in turn) finds first.
TEST(Regressions, ShrunkTracesAreNoLongerThanOneAndAHalfTimesDfs) {
#ifdef REGSYNC_SANITIZE
    GTEST_SKIP() << "release-build budget";
#endif
    const auto cat = explore::load_catalogue(REGSYNC_CATALOGUE, scenario_dir());
    harness::Engine engine;
    for (const auto& b : cat.bugs) {
        SCOPED_TRACE(b.name);
        const auto t = harness::read_trace(traces_dir() + "/regressions/" + b.name + ".json");
        explore::ExploreConfig cfg;
        cfg.policy = t.policy;
        cfg.kernel = t.kernel;
        cfg.strategy = "dfs";
        cfg.preemption_bound = 3;
        cfg.executions = 200000;
        const auto rep = explore::explore(harness::load_scenario(t.scenario_source, scenario_dir()), cfg, engine);
        ASSERT_TRUE(rep.violating_execution.has_value()) << "dfs finds no violation";
        EXPECT_LE(2 * t.decisions.size(), 3 * rep.first_violation.decisions.size())
            << t.decisions.size() << " decisions shrunk, dfs " << rep.first_violation.decisions.size();
    }
}

}  // namespace
}  // namespace regsync::testing

namespace regsync::testing {
namespace {

// The fixed arm64 and riscv64 policies (mp_state got before the registers;
// arm64 puts it at FULL only, KVM_ARM_VCPU_INIT setting it at reset; riscv
// at RESET and FULL) against every generic mutant, with the bundled
// scenarios, on a kernel with and without 6826c6849b46: every mutant whose
// fault runs dies.
TEST(Mutants, TheFixedArm64AndRiscv64PoliciesKillEveryGenericMutant) {
#ifdef REGSYNC_SANITIZE
    GTEST_SKIP() << "release-build budget";
#endif
    explore::MutantsConfig cfg;
    cfg.scenario_dir = scenario_dir();
    cfg.policies = {"qemu-today-arm-mpstate-fix", "qemu-today-riscv-mpstate-sync"};
    cfg.kernels = {"init-apic-events", "arm64-psci-reset-at-run"};
    cfg.jobs = 2;
    harness::Engine engine;
    const auto rep = explore::run_mutants(cfg, engine);
    std::set<std::string> survivors, riscv_killed;
    for (const auto& m : rep.mutants) {
        if (m.applicable && !m.killed) survivors.insert(m.policy + " / " + m.mutation);
        if (m.policy == "qemu-today-riscv-mpstate-sync" && m.killed) riscv_killed.insert(m.mutation);
    }
    EXPECT_TRUE(survivors.empty()) << *survivors.begin();
    EXPECT_GE(riscv_killed.size(), 8u);
    EXPECT_GE(rep.killed(), 16u);
}

// A mutant killed under bpor is killed under the lock-aware reduction (the
// default), and no other: the same score.
TEST(Mutants, TheLockAwareReductionKeepsTheScore) {
#ifdef REGSYNC_SANITIZE
    GTEST_SKIP() << "release-build budget";
#endif
    explore::MutantsConfig cfg;
    cfg.scenario_dir = scenario_dir();
    cfg.policies = {"qemu-today-init-fix"};
    cfg.kernels = {"init-apic-events"};
    cfg.jobs = 2;
    harness::Engine engine;
    const auto killed = [&](const std::string& reduction) {
        cfg.search.reduction = reduction;
        std::set<std::string> out;
        for (const auto& m : explore::run_mutants(cfg, engine).mutants)
            if (m.killed) out.insert(m.policy + " / " + m.mutation);
        return out;
    };
    const auto bpor = killed("bpor");
    EXPECT_GE(bpor.size(), 5u);
    EXPECT_EQ(killed("lock-aware"), bpor);
}

}  // namespace
}  // namespace regsync::testing

// What random exploration must find, and must not find, on the bundled
// scenarios (issue: deterministic core, "must show").
#include <gtest/gtest.h>

#include <algorithm>

#include "explore/explore.h"
#include "explore/replay.h"
#include "explore/shrink.h"
#include "sched/dfs_decisions.h"
#include "sched/pct_decisions.h"
#include "harness/trace_file.h"
#include "test_paths.h"

namespace regsync::testing {
namespace {

using properties::Property;

explore::ExploreReport explore(const std::string& scenario, const std::string& kernel, std::uint64_t n, std::uint64_t seed = 1) {
    harness::Engine engine;
    explore::ExploreConfig cfg;
    cfg.kernel = kernel;
    cfg.seed = seed;
    cfg.executions = n;
    return explore::explore(harness::load_scenario(scenario, scenario_dir()), cfg, engine);
}

TEST(Explore, PreRework310KernelLosesTheInitWithin10000ExecutionsFromSeed1) {
    auto rep = explore("init-sipi-halt", "init-mp-state", 10000);
    ASSERT_TRUE(rep.violating_execution.has_value());
    const auto* v = rep.first_violation.verdict.first();
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->property, Property::LostInit);
    EXPECT_EQ(v->vcpu, 1);

    // The written trace replays to the same violation.
    const auto s = harness::load_scenario("init-sipi-halt", scenario_dir());
    const auto t = harness::make_trace(s, "qemu-levels", "init-mp-state", "random", 1, *rep.violating_execution, rep.first_violation);
    const auto path = temp_path("lost-init.json");
    harness::write_trace(path, t);
    harness::Engine engine;
    const auto replay = explore::replay_trace(harness::read_trace(path), scenario_dir(), engine);
    EXPECT_FALSE(replay.diverged) << replay.divergence;
    EXPECT_EQ(replay.replayed.violations, t.violations);
    EXPECT_EQ(replay.replayed.events, t.events);
}

TEST(Explore, PendingApicEventsKernelNeverLosesTheInitIn10000Executions) {
    auto rep = explore("init-sipi-halt", "init-apic-events", 10000);
    EXPECT_FALSE(rep.violating_execution.has_value()) << rep.first_violation.verdict.first()->message;
    EXPECT_EQ(rep.executions, 10000u);
    EXPECT_EQ(rep.step_limited, 0u);
}

TEST(Explore, QemuLevelsLosesTheTsrTimerBit) {
    auto rep = explore("tsr-timer-race", "init-apic-events", 10000);
    ASSERT_TRUE(rep.violating_execution.has_value());
    const auto* v = rep.first_violation.verdict.first();
    EXPECT_EQ(v->property, Property::LostKernelWrite);
    EXPECT_EQ(v->reg, *model::catalogue(model::Arch::PpcBookE).find("TSR"));
    EXPECT_EQ(v->bits, model::tsr::DIS);
}

TEST(Explore, TsrRaceNeedsTheTimerInsideTheSyncWindow) {
    // Not every schedule loses the bit: most executions hold.
    harness::Engine engine;
    const auto s = harness::load_scenario("tsr-timer-race", scenario_dir());
    int violating = 0;
    for (std::uint64_t i = 0; i < 500; ++i) {
        sched::RandomDecisions d(explore::execution_seed(1, i));
        violating += !engine.run(s, "qemu-levels", *fakekvm::kernel_variant("init-apic-events"), d).verdict.ok();
    }
    EXPECT_GT(violating, 0);
    EXPECT_LT(violating, 500);
}

class CleanUnderQemuLevels : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(CleanUnderQemuLevels, NoViolationIn10000Executions) {
    auto [scenario, kernel] = GetParam();
    auto rep = explore(scenario, kernel, 10000);
    EXPECT_FALSE(rep.violating_execution.has_value()) << rep.first_violation.verdict.first()->message;
    EXPECT_EQ(rep.deadlocks, 0u);
    EXPECT_EQ(rep.step_limited, 0u);
}

INSTANTIATE_TEST_SUITE_P(Scenarios, CleanUnderQemuLevels,
                         ::testing::Combine(::testing::Values("savevm-loadvm", "reset-during-run"),
                                            ::testing::Values("init-apic-events", "init-mp-state")),
                         [](const auto& p) {
                             std::string n = std::get<0>(p.param) + "_" + std::get<1>(p.param);
                             std::replace(n.begin(), n.end(), '-', '_');
                             return n;
                         });

}  // namespace
}  // namespace regsync::testing

namespace regsync::testing {
namespace {

TEST(Pct, FindsTheCataloguedRacesWithFewPreemptions) {
    struct Case {
        const char* scenario;
        const char* policy;
        const char* kernel;
        properties::Property want;
    };
    for (const Case& c : {Case{"init-sipi-halt", "qemu-levels", "init-mp-state", properties::Property::LostInit},
                          Case{"tsr-timer-race", "qemu-levels", "init-apic-events", properties::Property::LostKernelWrite},
                          Case{"tsc-runtime-writeback", "qemu-0.12-eager", "init-apic-events", properties::Property::TscJumpBack}}) {
        harness::Engine engine;
        explore::ExploreConfig cfg;
        cfg.policy = c.policy;
        cfg.kernel = c.kernel;
        cfg.strategy = "pct";
        cfg.depth = 3;
        cfg.executions = 5000;
        const auto rep = explore::explore(harness::load_scenario(c.scenario, scenario_dir()), cfg, engine);
        ASSERT_TRUE(rep.violating_execution.has_value()) << c.scenario;
        EXPECT_EQ(rep.first_violation.verdict.first()->property, c.want) << c.scenario;
        // PCT schedules by priority: only change points and blocking switch actors.
        EXPECT_LE(rep.first_violation.preemptions, 4u) << c.scenario;
        EXPECT_GT(rep.pct_guarantee, 0.0);
    }
}

TEST(Pct, TheSameSeedGivesTheSameSchedule) {
    const auto s = harness::load_scenario("savevm-loadvm", scenario_dir());
    harness::Engine engine;
    sched::PctDecisions a(42, 4, 80, 3), b(42, 4, 80, 3), c(43, 4, 80, 3);
    const auto kernel = *fakekvm::kernel_variant("init-apic-events");
    const auto ra = engine.run(s, "qemu-levels", kernel, a);
    const auto rb = engine.run(s, "qemu-levels", kernel, b);
    EXPECT_EQ(ra.decisions, rb.decisions);
    EXPECT_DOUBLE_EQ(sched::PctDecisions::guarantee(4, 80, 3), 1.0 / (4.0 * 80 * 80));
}

TEST(Shrink, KeepsThePropertyAndRemovesPreemptions) {
    harness::Engine engine;
    const auto s = harness::load_scenario("init-sipi-halt", scenario_dir());
    const auto kernel = *fakekvm::kernel_variant("init-mp-state");
    explore::ExploreConfig cfg;
    cfg.kernel = "init-mp-state";
    cfg.executions = 10000;
    const auto rep = explore::explore(s, cfg, engine);
    ASSERT_TRUE(rep.violating_execution.has_value());
    const auto sh = explore::shrink(s, "qemu-levels", kernel, rep.first_violation.decisions, properties::Property::LostInit, engine);
    EXPECT_TRUE(explore::violates(sh.result, properties::Property::LostInit));
    EXPECT_LT(sh.preemptions_after, sh.preemptions_before);
    EXPECT_LE(sh.preemptions_after, 1u);  // the race needs one switch: into the HLT window
    sched::ReplayDecisions exact(sh.result.decisions);
    EXPECT_TRUE(explore::violates(engine.run(s, "qemu-levels", kernel, exact), properties::Property::LostInit));
    EXPECT_FALSE(exact.diverged());
}

}  // namespace
}  // namespace regsync::testing

namespace regsync::testing {
namespace {

explore::ExploreReport dfs(const char* scenario, const char* policy, const char* kernel, std::uint32_t bound) {
    harness::Engine engine;
    explore::ExploreConfig cfg;
    cfg.policy = policy;
    cfg.kernel = kernel;
    cfg.strategy = "dfs";
    cfg.preemption_bound = bound;
    cfg.executions = 1000000;
    return explore::explore(harness::load_scenario(scenario, scenario_dir()), cfg, engine);
}

TEST(Dfs, ProvesInitSipiHaltFreeOfLostInitOnThePendingEventsKernel) {
    const auto rep = dfs("init-sipi-halt", "qemu-levels", "init-apic-events", 2);
    EXPECT_TRUE(rep.exhausted);
    EXPECT_FALSE(rep.violating_execution.has_value());
    EXPECT_EQ(rep.executions, 7196u);  // every schedule with at most 2 preemptions
    EXPECT_EQ(dfs("init-sipi-halt", "qemu-levels", "init-apic-events", 0).executions, 20u);
}

TEST(Dfs, FindsTheLostInitOnThePre310KernelWithOnePreemption) {
    const auto rep = dfs("init-sipi-halt", "qemu-levels", "init-mp-state", 1);
    ASSERT_TRUE(rep.violating_execution.has_value());
    EXPECT_EQ(rep.first_violation.verdict.first()->property, properties::Property::LostInit);
    EXPECT_EQ(rep.first_violation.preemptions, 1u);
    EXPECT_TRUE(dfs("init-sipi-halt", "qemu-levels", "init-mp-state", 0).exhausted);  // no preemption, no race
}

TEST(Dfs, TsrRaceNeedsTwoPreemptionsAndIsAbsentUnderOrClearTsr) {
    EXPECT_TRUE(dfs("tsr-timer-race", "qemu-levels", "init-apic-events", 1).exhausted);
    const auto buggy = dfs("tsr-timer-race", "qemu-levels", "init-apic-events", 2);
    ASSERT_TRUE(buggy.violating_execution.has_value());
    EXPECT_EQ(buggy.first_violation.verdict.first()->property, properties::Property::LostKernelWrite);
    const auto fixed = dfs("tsr-timer-race", "ppc-onereg-tsr", "init-apic-events", 2);
    EXPECT_TRUE(fixed.exhausted);
    EXPECT_FALSE(fixed.violating_execution.has_value());
}

TEST(Dfs, NextPrefixRespectsThePreemptionBound) {
    using P = sched::DfsDecisions::Point;
    // Two points: the first may preempt (current enabled), the second not.
    const std::vector<P> trail = {{3, 0, true, 0}, {2, 0, false, 0}};
    EXPECT_EQ(sched::DfsDecisions::next(trail, 0), (std::vector<std::uint16_t>{0, 1}));
    const std::vector<P> done = {{3, 0, true, 0}, {2, 1, false, 0}};
    EXPECT_FALSE(sched::DfsDecisions::next(done, 0).has_value());
    EXPECT_EQ(sched::DfsDecisions::next(done, 1), (std::vector<std::uint16_t>{1}));
}

}  // namespace
}  // namespace regsync::testing

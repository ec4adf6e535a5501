// Determinism is the product: same inputs, byte-identical traces; every
// trace replays exactly; executions share nothing, whichever thread runs them.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "harness/kernel_profile.h"
#include "explore/explore.h"
#include "explore/replay.h"
#include "model/policy_registry.h"
#include "harness/trace_file.h"
#include "test_paths.h"

namespace regsync::testing {
namespace {

const char* const kKernels[] = {"init-apic-events", "init-mp-state"};

// The seed-era policy on x86 and Book-E; today's QEMU target code on arm64
// and riscv64, which the seed designs never covered.
const char* policy_for(const harness::Scenario& s) { return model::policy_supports("qemu-levels", s.arch) ? "qemu-levels" : "qemu-today"; }

harness::Trace run_one(harness::Engine& engine, const harness::Scenario& s, const char* kernel, std::uint64_t i) {
    sched::RandomDecisions d(explore::execution_seed(1, i));
    auto r = engine.run(s, policy_for(s), harness::resolve_kernel(kernel).config, d);
    return harness::make_trace(s, policy_for(s), kernel, "random", 1, i, r);
}

TEST(Determinism, TheSameExploreCommandTwiceWritesByteIdenticalTraces) {
    for (const char* scenario : {"tsr-timer-race", "init-sipi-halt"}) {
        const std::string a = temp_path(std::string(scenario) + "-a.json"), b = temp_path(std::string(scenario) + "-b.json");
        const std::string args = std::string("explore --scenario ") + scenario + " --kernel init-mp-state --seed 1 --executions 10000 --trace-out ";
        ASSERT_EQ(run_cli(args + a).exit_code, 1);
        ASSERT_EQ(run_cli(args + b).exit_code, 1);
        const auto ta = read_file(a);
        EXPECT_FALSE(ta.empty());
        EXPECT_EQ(ta, read_file(b)) << scenario;
    }
}

TEST(Determinism, EveryExecutionOfEveryBundledScenarioReplaysExactly) {
    harness::Engine engine;
    for (const auto& name : harness::bundled_scenarios(scenario_dir())) {
        const auto s = harness::load_scenario(name, scenario_dir());
        for (const char* kernel : kKernels)
            for (std::uint64_t i = 0; i < 50; ++i) {
                const auto t = run_one(engine, s, kernel, i);
                const auto rep = explore::replay_trace(harness::trace_from_json(harness::trace_to_json(t), "mem"), scenario_dir(), engine);
                ASSERT_FALSE(rep.diverged) << name << " " << kernel << " #" << i << ": " << rep.divergence;
                ASSERT_EQ(harness::trace_to_json(rep.replayed), harness::trace_to_json(t));
            }
    }
}

TEST(Determinism, CommittedRegressionTracesReplayExactly) {
    harness::Engine engine;
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(traces_dir())) {
        if (e.path().extension() != ".json") continue;
        const auto t = harness::read_trace(e.path().string());
        const auto rep = explore::replay_trace(t, scenario_dir(), engine);
        EXPECT_FALSE(rep.diverged) << e.path() << ": " << rep.divergence;
        EXPECT_EQ(rep.replayed.violations, t.violations) << e.path();
        ++n;
    }
    EXPECT_GE(n, 2) << "the regression corpus in traces/ is missing";
}

TEST(Determinism, AnExecutionIsTheSameOnAnotherThread) {
    const auto s = harness::load_scenario("savevm-loadvm", scenario_dir());
    harness::Engine here;
    const auto local = harness::trace_to_json(run_one(here, s, "init-apic-events", 17));
    std::string remote;
    std::thread th([&] {
        harness::Engine there;
        remote = harness::trace_to_json(run_one(there, s, "init-apic-events", 17));
    });
    th.join();
    EXPECT_EQ(local, remote);
}

// Under the sanitizer build this is the leak and memory-error check.
TEST(Determinism, AThousandRandomExecutionsOfEachBundledScenarioComplete) {
    harness::Engine engine;
    for (const auto& name : harness::bundled_scenarios(scenario_dir())) {
        const auto s = harness::load_scenario(name, scenario_dir());
        for (const char* kernel : kKernels)
            for (std::uint64_t i = 0; i < 1000; ++i) {
                sched::RandomDecisions d(explore::execution_seed(7, i));
                const auto r = engine.run(s, policy_for(s), harness::resolve_kernel(kernel).config, d);
                ASSERT_EQ(r.end, sched::RunEnd::Quiescent) << name << " #" << i << " " << r.error;
                ASSERT_TRUE(r.main_loop_finished) << name << " #" << i;
            }
    }
}

}  // namespace
}  // namespace regsync::testing

namespace regsync::testing {
namespace {

TEST(Determinism, ExploreWithTwoThreadsEqualsOneThread) {
    for (const char* args : {"explore --scenario tsc-runtime-writeback --policy qemu-0.12-eager --seed 3 --executions 20000",
                             "explore --scenario init-sipi-halt --kernel init-mp-state --strategy pct --seed 5 --executions 5000",
                             "explore --scenario savevm-loadvm --seed 2 --executions 3000"}) {
        const auto a = temp_path("j1.json"), b = temp_path("j2.json");
        const auto r1 = run_cli(std::string(args) + " -j 1 --trace-out " + a);
        const auto r2 = run_cli(std::string(args) + " -j 2 --trace-out " + b);
        EXPECT_EQ(r1.exit_code, r2.exit_code) << args;
        auto unpath = [](std::string out, const std::string& path) {
            for (std::size_t at; (at = out.find(path)) != std::string::npos;) out.replace(at, path.size(), "TRACE");
            return out;
        };
        EXPECT_EQ(unpath(r1.output, a), unpath(r2.output, b)) << args;
        EXPECT_EQ(read_file(a), read_file(b)) << args;
    }
}

TEST(Determinism, MatrixWithTwoThreadsEqualsOneThread) {
    // A small dfs budget, so that cells run both the bounded search and the random fallback.
    const std::string args = "matrix --json --budget 300 --executions 100 --scenario tsr-timer-race --scenario monitor-write-reset-level --trace-dir ";
    const auto r1 = run_cli(args + temp_path("m1") + " -j 1");
    const auto r2 = run_cli(args + temp_path("m2") + " -j 2");
    EXPECT_EQ(r1.exit_code, r2.exit_code);
    // The trace paths differ by folder; everything else must be equal.
    auto strip = [](std::string s) {
        std::string out;
        std::size_t pos = 0;
        for (std::size_t at; (at = s.find("\"trace\":", pos)) != std::string::npos; pos = s.find('\n', at)) out += s.substr(pos, at - pos);
        return out + s.substr(pos);
    };
    EXPECT_EQ(strip(r1.output), strip(r2.output));
    EXPECT_NE(r1.output.find("\"agrees\""), std::string::npos);
    EXPECT_NE(r1.output.find("\"dfs_exhausted\": false"), std::string::npos);
    EXPECT_NE(r1.output.find("\"dfs_exhausted\": true"), std::string::npos);
}

}  // namespace
}  // namespace regsync::testing

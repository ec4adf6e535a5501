// Executions and scheduling decisions per second for each bundled scenario
// under random scheduling, single-threaded. Figures go in the README.
#include <benchmark/benchmark.h>

#include "harness/kernel_profile.h"
#include "explore/explore.h"
#include "harness/execution.h"
#include "harness/scenario.h"

namespace {

using namespace regsync;

void random_executions(benchmark::State& state, const harness::Scenario& s, const std::string& kernel_name) {
    harness::Engine engine;
    const auto kernel = harness::resolve_kernel(kernel_name).config;
    std::uint64_t i = 0, decisions = 0, steps = 0;
    for (auto _ : state) {
        sched::RandomDecisions d(explore::execution_seed(1, i++));
        auto r = engine.run(s, "qemu-levels", kernel, d);
        decisions += r.decisions.size();
        steps += r.step_count;
        benchmark::DoNotOptimize(r.verdict);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(i));
    state.counters["executions/s"] = benchmark::Counter(static_cast<double>(i), benchmark::Counter::kIsRate);
    state.counters["decisions/s"] = benchmark::Counter(static_cast<double>(decisions), benchmark::Counter::kIsRate);
    state.counters["steps/s"] = benchmark::Counter(static_cast<double>(steps), benchmark::Counter::kIsRate);
    state.counters["decisions/exec"] = static_cast<double>(decisions) / static_cast<double>(i);
}

}  // namespace

int main(int argc, char** argv) {
    static std::vector<harness::Scenario> scenarios;
    for (const auto& n : harness::bundled_scenarios(REGSYNC_SCENARIO_DIR)) scenarios.push_back(harness::load_scenario(n, REGSYNC_SCENARIO_DIR));
    for (const auto& s : scenarios)
        for (const char* k : {"init-apic-events", "init-mp-state"})
            benchmark::RegisterBenchmark(("random/" + s.name + "/" + k).c_str(), random_executions, s, std::string(k));
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

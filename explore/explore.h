// Exploration strategies over the schedules of one scenario. `random`: each
// execution draws its choices from its own sub-seed of the run's seed, so
// execution i of seed S is the same wherever and whenever it runs.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "fakekvm/kernel_config.h"
#include "harness/execution.h"
#include "harness/scenario.h"

namespace regsync::explore {

struct ExploreConfig {
    std::string policy = "qemu-levels";
    std::string kernel = "init-apic-events";
    std::string strategy = "random";
    std::uint64_t seed = 1;
    std::uint64_t executions = 1000;
};

struct ExploreReport {
    std::uint64_t executions = 0;     // run before stopping
    std::uint64_t decisions = 0;      // scheduling choices made in total
    std::uint64_t steps = 0;          // scheduler steps in total
    std::uint64_t step_limited = 0;   // executions cut by max_steps
    std::uint64_t deadlocks = 0;      // executions whose main loop never finished
    std::optional<std::uint64_t> violating_execution;
    harness::ExecutionResult first_violation;  // valid when violating_execution
};

std::uint64_t execution_seed(std::uint64_t seed, std::uint64_t index);

// Stops at the first execution that violates a property (or ends in an
// actor error or deadlock).
ExploreReport explore_random(const harness::Scenario& s, const ExploreConfig& cfg, harness::Engine& engine);

}  // namespace regsync::explore

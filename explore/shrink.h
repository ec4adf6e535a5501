// Minimisation of a failing schedule: delta debugging (ddmin) over the
// decision list, replayed leniently (a choice that no longer applies becomes
// the non-preemptive default), keeping the same property violated. The
// result is the exact decision list of the final execution.
#pragma once
#include <cstdint>
#include <vector>

#include "fakekvm/kernel_config.h"
#include "harness/execution.h"
#include "harness/scenario.h"
#include "properties/property.h"

namespace regsync::explore {

struct ShrinkResult {
    harness::ExecutionResult result;  // the shrunk execution
    std::size_t decisions_before = 0, decisions_after = 0;
    std::uint32_t preemptions_before = 0, preemptions_after = 0;
    int runs = 0;                     // executions spent shrinking
};

bool violates(const harness::ExecutionResult& r, properties::Property p);

ShrinkResult shrink(const harness::Scenario& s, const std::string& policy, const fakekvm::KernelConfig& kernel,
                    const std::vector<sim::ActorId>& decisions, properties::Property target, harness::Engine& engine,
                    int max_runs = 4000);

}  // namespace regsync::explore

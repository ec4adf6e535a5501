// Minimisation of the scenario behind a failing trace: main-loop operations
// are removed and guest steps turned into nops, one at a time, while the
// execution (the decision list replayed leniently) still violates the same
// property; then the decision list is shrunk again (shrink.h).
#pragma once
#include <string>
#include <vector>

#include "explore/shrink.h"

namespace regsync::explore {

struct ScenarioShrinkResult {
    std::string text;            // the reduced scenario, as TOML
    bool changed = false;
    int main_ops_before = 0, main_ops_after = 0;
    int guest_steps_before = 0, guest_steps_after = 0;  // steps other than nop
    int runs = 0;
    std::vector<sim::ActorId> decisions;  // a decision list that still fails on `text`
};

// `text` is the scenario's TOML source and `file` its name in messages.
ScenarioShrinkResult shrink_scenario(const std::string& text, const std::string& file, const std::string& policy,
                                     const fakekvm::KernelConfig& kernel, const std::vector<sim::ActorId>& decisions,
                                     properties::Property target, harness::Engine& engine);

}  // namespace regsync::explore

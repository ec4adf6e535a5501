// Replay of a recorded trace: the same scenario, policy and kernel driven by
// the recorded decisions must reproduce the event log and verdict exactly.
#pragma once
#include <string>

#include "harness/execution.h"
#include "harness/trace_file.h"

namespace regsync::explore {

struct ReplayReport {
    harness::Trace replayed;
    bool diverged = false;
    std::string divergence;  // first difference, when diverged
    // A trace the supervisor wrote for a sync layer's fault, replayed without
    // a supervisor (REGSYNC_SUPERVISE=0): the layer's error, when the same
    // hook failed again at the end of the recorded decisions. (A crash ends
    // the process; under the supervisor it is reported as it was first.)
    std::string fault;
};

// Throws InputError when the scenario is missing or was edited since.
ReplayReport replay_trace(const harness::Trace& t, const std::string& bundled_dir, harness::Engine& engine);

}  // namespace regsync::explore

// `regsync explain`: the causal slice of a violation, derived from what the
// execution recorded (its events, the footprint of every step, and the span
// of every sync-policy hook), not written per bug. For each violated
// property it keeps only the steps that make the violation: the get that
// made the stale copy, the kernel's own write, the put that overwrote it;
// the intent and where it was dropped; the INIT and what undid it; the two
// TSC reads and the write between them; a snapshot's capture and restore.
// Each step names its actor, its ioctl or event with the values that
// matter, and the policy hook and QEMU or kernel function it stands for.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "harness/execution.h"
#include "harness/trace_file.h"

namespace regsync::explore {

struct ExplainStep {
    std::uint32_t step = 0;
    std::string actor;
    std::string what;   // the ioctl or event, with the values that matter
    std::string where;  // the hook and the QEMU or kernel function
    std::string role;   // its part in the violation ("the stale copy", ...)
};

struct Explanation {
    std::string property;
    int vcpu = -1;    // the vCPU and register it is about (lost-init: the target's mp_state)
    int reg = -1;
    std::string message;  // the oracle's
    std::vector<ExplainStep> steps;
};

struct ExplainReport {
    std::string scenario, policy, kernel, outcome;
    std::vector<Explanation> shown;  // one per property, the most telling first
    std::size_t more = 0;            // violations not shown
};

// Re-runs the execution with footprints and explains its verdict.
ExplainReport explain(const harness::Scenario& s, const std::string& policy, const std::string& kernel,
                      const std::vector<sim::ActorId>& decisions, harness::Engine& engine);
// The same for an execution already run with footprints.
ExplainReport explain_result(const harness::Scenario& s, const std::string& policy, const std::string& kernel, const harness::ExecutionResult& r);
harness::ExecutionResult rerun_with_footprints(const harness::Scenario& s, const std::string& policy, const std::string& kernel,
                                               const std::vector<sim::ActorId>& decisions, harness::Engine& engine);
ExplainReport explain_trace(const harness::Trace& t, const std::string& scenario_dir, harness::Engine& engine);

// At most 25 lines.
std::string explain_text(const ExplainReport& r);
std::string explain_json(const ExplainReport& r);

}  // namespace regsync::explore

// The versioned JSON trace: everything needed to replay an execution (tool
// and format version, scenario content hash, policy, kernel variant,
// strategy, seed, decision list) plus the readable event log and verdict.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "harness/execution.h"
#include "harness/scenario.h"

namespace regsync::harness {

inline constexpr int kTraceFormatVersion = 1;

struct TraceViolation {
    std::string property;
    int vcpu = -1;
    std::string reg;
    std::uint64_t bits = 0;
    std::uint32_t origin = 0;
    std::uint32_t step = 0;
    std::string message;
    bool operator==(const TraceViolation&) const = default;
};

struct Trace {
    int format_version = kTraceFormatVersion;
    std::string tool_version;
    std::string scenario_name;
    std::string scenario_source;
    std::uint64_t scenario_hash = 0;
    std::string policy;
    // A policy from a plugin: the shared object and its content hash
    // (replay refuses another build). Empty for built-ins.
    std::string plugin;
    std::uint64_t plugin_hash = 0;
    std::string kernel;
    std::string strategy;
    std::uint64_t seed = 0;
    std::uint64_t execution = 0;
    std::vector<std::uint16_t> decisions;
    std::string outcome;
    std::vector<std::string> events;
    std::vector<TraceViolation> violations;
    // Outcome "plugin-fault": what the supervisor saw the sync layer do
    // (cli/supervisor.h), e.g. "SIGSEGV", in which hook.
    std::string fault;
    std::string fault_hook;
    // Where trace_from_json read it, and the line of each decision there, for
    // errors found at replay (not written).
    std::string file;
    std::vector<long> decision_lines;
    long policy_line = 1, kernel_line = 1;
};

std::string outcome_string(const ExecutionResult& r);
Trace make_trace(const Scenario& s, const std::string& policy, const std::string& kernel, const std::string& strategy,
                 std::uint64_t seed, std::uint64_t execution, const ExecutionResult& r);
std::string trace_to_json(const Trace& t);
// Throws InputError naming the file and what is wrong.
Trace trace_from_json(const std::string& text, const std::string& file);
Trace read_trace(const std::string& path);
// For a trace of a plugin policy: the plugin must be loaded, and be the same
// build (content hash). Throws InputError naming the trace file.
void check_trace_policy(const Trace& t, const std::string& file);
void write_trace(const std::string& path, const Trace& t);

}  // namespace regsync::harness

// The search that decides one (scenario, policy, kernel variant) cell, for
// `regsync matrix` and `regsync mutants`: bounded exhaustive search (dfs,
// bpor or lock-aware-bpor: each reaches every final state plain bounded dfs
// reaches; the matrix uses lock-aware-bpor, mutants bpor) within a budget of
// schedules (bounds 0, 1, ... in turn), then, if it did not
// finish, random executions.
// Every execution is judged; the cell's verdict is the set of everything
// violated (properties, step-limit, deadlock).
#pragma once
#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "harness/execution.h"

namespace regsync::explore {

struct CellSearchConfig {
    std::string strategy = "dfs";  // "dfs" (then random if unfinished) or "random"
    std::uint32_t bound = 2;
    std::uint64_t budget = 5000;      // dfs schedules
    std::uint64_t executions = 2000;  // random executions
    std::uint64_t seed = 1;
    // dfs: lock-aware, lock-aware-bpor, dpor or bpor (sched/dpor.h); each
    // keeps every final state of plain bounded dfs, and the matrix and
    // mutants tests hold lock-aware to bpor's verdicts and score.
    std::string reduction = "lock-aware";
    // dfs with dpor or lock-aware: stateful DPOR (sched/dpor.h), except for
    // a plugin policy, whose state the hash cannot see. Runs cut at a state
    // seen before are not judged and do not count against the budget.
    bool state_cache = false;
};

struct CellSearch {
    std::set<std::string> found;
    // dfs_schedules: every dfs run, the ones a sleep set cut short too (the budget counts them)
    std::uint64_t executions = 0, dfs_schedules = 0, random_executions = 0;
    bool exhausted = false;  // dfs: every schedule within the bound was run
    int exhausted_bound = -1;  // dfs: the highest bound whose schedules were all run
    std::uint64_t violating = 0, first_violation = 0;
    harness::ExecutionResult shortest;  // the shortest violating execution (no footprints)
    std::string shortest_strategy;
    std::uint64_t shortest_index = 0;
    bool stopped = false;       // `stop` ended the search early
    bool mutation_fired = false;  // with a mutation: its faulty path ran in some execution
};

// A cell search's reduction: "lock-aware" (the default since session 12),
// "lock-aware-bpor", "dpor" or "bpor". The ones with sleep sets keep only
// bound-safe sleepers (session 11), so each is a sound bounded search.
// check_cell_reduction returns it, or throws InputError.
bool is_cell_reduction(const std::string& name);
std::string check_cell_reduction(const std::string& name);
// Returns state_cache, or throws InputError if the reduction has no sleep sets.
bool check_cell_state_cache(const std::string& reduction, bool state_cache);

// `stop`, if given, is asked after every violating execution with the set
// found so far; true ends the search there.
CellSearch search_cell(const harness::Scenario& s, const std::string& policy, const fakekvm::KernelConfig& kernel,
                       const CellSearchConfig& cfg, harness::Engine& engine, const harness::ExecutionOptions& base = {},
                       const std::function<bool(const std::set<std::string>&)>& stop = {});

}  // namespace regsync::explore

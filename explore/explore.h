// Exploration strategies over the schedules of one scenario. `random`: each
// execution draws its choices from its own sub-seed of the run's seed, so
// execution i of seed S is the same wherever and whenever it runs.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "fakekvm/kernel_config.h"
#include "harness/execution.h"
#include "harness/scenario.h"
#include "sched/dpor.h"

namespace regsync::explore {

struct ExploreConfig {
    std::string policy = "qemu-levels";
    std::string kernel = "debian-6.1";  // a real current kernel: Debian 12's, as probed (README)
    std::string strategy = "random";
    std::uint64_t seed = 1;
    std::uint64_t executions = 1000;
    int depth = 3;  // pct
    int jobs = 1;   // threads, each with its own fiber scheduler
    std::uint32_t preemption_bound = 2;  // dfs
    std::string reduction = "dpor";      // dfs: none, sleep, dpor, bpor, lock-aware
    // dfs: expand the first D branching points in full and share the
    // subtrees below them (tasks) among threads and shards (sched/dpor.h);
    // 0: no split (then -j and --shard are refused for dfs).
    std::uint32_t split_depth = 0;
    // dfs: prune schedule prefixes that reach a state seen before (plain
    // enumeration only; sched/dpor.h says what is hashed and the risks).
    bool state_cache = false;
    // random/pct: this process runs execution indices i with
    // i % shard_count == shard_index (regsync merge combines the shards).
    std::uint64_t shard_index = 0;
    std::uint64_t shard_count = 1;
    // Keep what `regsync merge` needs (per-execution stats, dfs passes) even
    // as the only shard: a job array of one task writes a report too.
    bool shard_report = false;
};

// What one execution contributes to a report (kept per index so that shards
// can be merged exactly).
struct RunStats {
    std::uint64_t index = 0;
    std::uint32_t decisions = 0, steps = 0;
    bool step_limited = false, deadlock = false;
    std::uint64_t schedule = 0;  // hash of the decision list
    std::uint64_t final_state = 0;
    bool operator==(const RunStats&) const = default;
};

// dfs with a split: what the schedules of one task (a subtree) contributed.
struct DfsTask {
    std::uint64_t task = 0;
    std::uint64_t executions = 0, decisions = 0, steps = 0, step_limited = 0, deadlocks = 0, sleep_blocked = 0;
    std::vector<std::uint64_t> finals, interleavings;
    bool violated = false;  // its last execution violated a property
    bool operator==(const DfsTask&) const = default;
};

// One preemption bound's pass of a dfs run, as one process saw it.
struct DfsPass {
    std::uint32_t bound = 0;
    std::vector<DfsTask> tasks;   // this process's, by task
    bool complete = true;         // every task of this process was explored (no --executions cap)
    std::uint64_t task_count = 0; // subtrees in all (every process sees them all)
};

struct ExploreReport {
    std::uint64_t executions = 0;     // run before stopping
    std::uint64_t decisions = 0;      // scheduling choices made in total
    std::uint64_t steps = 0;          // scheduler steps in total
    std::uint64_t step_limited = 0;   // executions cut by max_steps
    std::uint64_t deadlocks = 0;      // executions whose main loop never finished
    std::optional<std::uint64_t> violating_execution;
    // pct: the bound of the run (actors n, steps k, depth d) and its guarantee
    std::size_t pct_actors = 0;
    std::uint64_t pct_steps = 0;
    double pct_guarantee = 0;
    // dfs: every schedule within the preemption bound was run
    bool exhausted = false;
    std::uint32_t bound_reached = 0;            // dfs: the bound of the last pass
    std::uint64_t executions_all_bounds = 0;    // dfs: executions of every pass (0..bound_reached)
    std::uint64_t sleep_blocked = 0;  // dfs: executions cut short as redundant (not counted as schedules)
    // coverage: distinct decision lists among the executions reported
    std::uint64_t distinct_schedules = 0;
    std::uint64_t distinct_final_states = 0;  // harness::ExecutionResult::final_state
    std::uint64_t distinct_interleavings = 0; // dfs only: Mazurkiewicz traces (explore/coverage.h)
    harness::ExecutionResult first_violation;  // valid when violating_execution
    std::vector<RunStats> runs;                // sharded runs only: every execution counted, by index
    std::vector<DfsPass> dfs_passes;           // sharded dfs runs only: per bound, per task
    std::uint64_t dfs_tasks = 0;               // dfs with a split: subtrees
    std::uint64_t dfs_states = 0, dfs_revisits = 0;  // dfs --state-cache: states stored, prefixes cut at a revisit
    // The violating execution as found (before shrinking).
    std::uint32_t violation_decisions = 0, violation_preemptions = 0;
    std::string violation_outcome;
};

// The summary of executions 0..last from their stats (sorted by index):
// the one definition that explore and the shard merge share.
void summarise(ExploreReport& rep, const std::vector<RunStats>& runs);

// The report of one dfs pass from every task's figures (any order, from any
// number of threads or shards): tasks after the lowest violating one are
// left out, so the result does not depend on how the tasks were shared.
// Returns the violating task, if any.
std::optional<std::uint64_t> summarise_dfs(ExploreReport& rep, std::vector<DfsTask> tasks, bool complete);

std::uint64_t execution_seed(std::uint64_t seed, std::uint64_t index);

// A --reduction name (InputError if unknown).
sched::Reduction parse_reduction(const std::string& name);

// Whether an execution violates anything: a property, the step limit
// (a livelock: LIVE), the main loop never finishing (a deadlock: DEAD), or
// an actor error. explore, matrix and mutants all judge by this.
bool violates(const harness::ExecutionResult& r);
// What it violates: property names (first occurrence order), then
// "step-limit", "deadlock" or "actor-error".
std::vector<std::string> violated_names(const harness::ExecutionResult& r);

// Stops at the first execution that violates a property (or ends in an
// actor error or deadlock). Strategy "random", "pct" or "dfs" (exhaustive
// within the preemption bound, single-threaded; `executions` caps it).
// `progress`, if given, is called now and then with the executions done.
ExploreReport explore(const harness::Scenario& s, const ExploreConfig& cfg, harness::Engine& engine,
                      const std::function<void(std::uint64_t)>& progress = {});

}  // namespace regsync::explore

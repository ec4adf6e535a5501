// `regsync matrix`: every (policy, kernel variant, scenario) cell explored
// with a fixed budget and seed, each verdict compared with the catalogue.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "explore/catalogue.h"
#include "explore/cell_search.h"
#include "harness/data_dirs.h"
#include "harness/execution.h"

namespace regsync::explore {

struct MatrixConfig {
    std::uint64_t seed = 1;
    std::uint64_t executions = 2000;  // per cell: random executions (strategy random, or after an unfinished dfs)
    // "dfs" (default): bounded exhaustive search of each cell (`reduction`:
    // both reach every final state plain bounded dfs reaches, README), with
    // `bound` preemptions and at most `budget` schedules; a cell whose
    // search does not finish falls back to `executions` random executions.
    // "random": `executions` random executions only.
    std::string strategy = "dfs";
    std::uint32_t bound = 2;
    std::uint64_t budget = 5000;
    // dfs: cell_search.h. lock-aware by default: within the same budget it
    // finishes the most cells (1,681 of 2,681 applicable ones at bound 2,
    // against 1,487 under lock-aware-bpor, session 12); the lock-aware
    // reductions found a livelock bpor missed (catalogue:
    // bitmap-stale-writeback-savevm).
    std::string reduction = "lock-aware";
    bool state_cache = false;  // dfs: stateful DPOR (CellSearchConfig::state_cache)
    std::string scenario_dir;
    std::string trace_dir;            // shortest violating trace of each cell goes here ("" = none)
    std::vector<std::string> only_scenarios;  // empty = every bundled scenario
    std::vector<std::string> only_policies;   // empty = every policy (built-ins and loaded plugins)
    // The columns: kernel variant or profile names or files; empty = every
    // profile in kernel_dir (the named real kernels). The CLI adds "host"
    // where /dev/kvm works.
    std::vector<std::string> kernels;
    std::string kernel_dir = harness::data_kernel_dir();
    int jobs = 1;                             // cells run in parallel, reported in order
    // A shard of the matrix runs the distinct searches t with
    // t % shard_count == shard_index and writes them (matrix_shard_json);
    // merge_matrix_shards() assembles the report one process would print.
    std::uint64_t shard_index = 0, shard_count = 1;
    CellSearchConfig search() const { return {strategy, bound, budget, executions, seed, reduction, state_cache}; }
};

struct Cell {
    std::string scenario, policy, kernel;
    std::uint64_t executions = 0;                // in all (dfs schedules + random executions)
    std::uint64_t dfs_schedules = 0;             // dfs: schedules run
    bool exhausted = false;                      // dfs: every schedule within the bound was run
    int exhausted_bound = -1;                    // dfs: the highest bound explored in full
    std::uint64_t random_executions = 0;         // random (the strategy, or the fallback)
    std::uint64_t violating = 0;                 // executions that violated something
    std::uint64_t first_violation = 0;           // index of the first, when violating > 0
    std::size_t shortest = 0;                    // decisions in the shortest violating trace
    std::vector<std::string> shortest_properties;  // what that trace violates
    std::vector<std::string> found;              // every property (and step-limit, deadlock) violated in the search
    std::string outcome;                         // of the shortest trace
    std::vector<std::string> expected;           // catalogued properties (empty = must hold)
    std::vector<std::string> bugs;               // catalogue entries naming the cell
    bool agrees = true;
    // False where the policy cannot run the scenario's architecture (a
    // plugin layer syncs one): nothing searched, shown as n/a.
    bool applicable = true;
    std::string trace;                           // path of the written trace
};

struct MatrixReport {
    std::vector<Cell> cells;
    std::vector<std::string> scenarios, policies, kernels;
    std::size_t searches = 0;  // distinct searches run (cells whose kernels look alike to the scenario share one)
    std::size_t disagreements() const;
};

MatrixReport run_matrix(const MatrixConfig& cfg, const Catalogue& cat, harness::Engine& engine);

// The shard cfg.shard_index of cfg.shard_count: its searches, as JSON
// ("regsync-matrix-shard").
std::string run_matrix_shard(const MatrixConfig& cfg, harness::Engine& engine);
// Every shard of one run, from their JSON texts (paths name them in errors):
// the report run_matrix() would have made, and the config it ran with (the
// catalogue, scenario and kernel folders are this process's). Throws
// InputError for reports that are not the shards of one run.
std::pair<MatrixReport, MatrixConfig> merge_matrix_shards(const std::vector<std::string>& texts, const std::vector<std::string>& paths,
                                                          MatrixConfig base, const Catalogue& cat, harness::Engine& engine);

std::string matrix_text(const MatrixReport& r, const MatrixConfig& cfg);
std::string matrix_markdown(const MatrixReport& r, const MatrixConfig& cfg);
std::string matrix_json(const MatrixReport& r, const MatrixConfig& cfg);

}  // namespace regsync::explore

// `regsync mutants`: a mutation score for a scenario corpus. Every generic
// fault of model/mutation.h is planted in every policy that holds in some
// cell; each mutant is searched as the matrix searches a cell, and it is
// killed when some cell's verdict (the set of everything violated) differs
// from the unmutated policy's. A mutant whose fault never runs in any
// execution of the corpus cannot be told from its policy: it is listed as
// not applicable and left out of the score.
#pragma once
#include <string>
#include <vector>

#include "explore/cell_search.h"

namespace regsync::explore {

struct MutantsConfig {
    std::string scenario_dir;                       // the corpus: every .toml there
    std::vector<std::string> only_scenarios;        // names in it; empty = all
    std::vector<std::string> policies;              // empty = every policy that holds in some cell
    // The pending-events kernel and the pre-3.10 one, where INIT is a store
    // into mp_state that a blind writeback can overwrite.
    std::vector<std::string> kernels{"init-apic-events", "init-mp-state"};
    CellSearchConfig search;                        // as the matrix searches a cell
    std::uint64_t probe_executions = 20;            // random executions per cell that look for the fault running
    int jobs = 1;
    // A shard searches the mutants i with i % shard_count == shard_index
    // (every shard finds the unmutated verdicts it compares with).
    std::uint64_t shard_index = 0, shard_count = 1;
};

struct MutantResult {
    std::string policy, mutation;
    bool applicable = false;  // its fault ran in some execution
    bool killed = false;
    std::string scenario, kernel;             // the cell that killed it
    std::vector<std::string> baseline, found; // that cell: unmutated, mutated
};

struct MutantsReport {
    std::vector<std::string> scenarios, policies, kernels;
    std::vector<MutantResult> mutants;  // every candidate, by policy then mutation
    std::size_t applicable() const;
    std::size_t killed() const;
};

MutantsReport run_mutants(const MutantsConfig& cfg, harness::Engine& engine);
// A shard's part of the report, as JSON ("regsync-mutants-shard").
std::string mutants_shard_json(const MutantsReport& r, const MutantsConfig& cfg);
// Every shard of one run, from their JSON texts: the report one process
// makes. Throws InputError for reports that are not the shards of one run.
MutantsReport merge_mutants_shards(const std::vector<std::string>& texts, const std::vector<std::string>& paths);
std::string mutants_text(const MutantsReport& r);
std::string mutants_markdown(const MutantsReport& r);

}  // namespace regsync::explore

// `regsync bench`: throughput, memory, time to first violation of every
// catalogued bug per strategy, dfs with and without reduction, and Spin
// against regsync on the same races. Figures are wall-clock measurements:
// the only output of regsync that is not deterministic.
#pragma once
#include <cstdint>
#include <string>

namespace regsync::cli {

struct BenchOptions {
    std::string scenario_dir;
    std::string catalogue;
    std::string spin_dir;             // the Promela models (bench/spin)
    std::uint64_t executions = 100000; // per throughput measurement
    bool quick = false;               // fewer executions, for tests
    // --soak N: instead of the figures, N executions dealt across every
    // (bundled scenario, policy, kernel profile) cell, with resident memory
    // sampled; exit 1 if it grows in the second half of the run.
    std::uint64_t soak = 0;
    int jobs = 1;
    // --scaling N: instead, the INIT-storm family (bench/init-storm) for
    // 2..N vCPUs under each reduction, unbounded and at bound 2, each run
    // stopped after `time_limit` seconds; then dfs on -j 1 against -j 2.
    int scaling = 0;
    double time_limit = 60;
};

int cmd_bench(const BenchOptions& o);

}  // namespace regsync::cli

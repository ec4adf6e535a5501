// `regsync mutants`: the mutation score of a scenario corpus (explore/mutants.h).
// Exit 0 when every applicable mutant is killed, 1 when one survives, 2 on
// bad input.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace regsync::cli {

struct MutantsOptions {
    std::string scenario_dir;              // the corpus (--scenarios DIR), default the bundled one
    std::vector<std::string> scenarios;    // only these names in it
    std::vector<std::string> policies;     // only these policies
    std::vector<std::string> kernels;      // kernel variants (default init-apic-events)
    std::uint32_t bound = 2;
    std::uint64_t budget = 5000, executions = 2000, seed = 1;
    std::string reduction = "lock-aware";
    int jobs = 1;
    bool markdown = false;
    std::string shard, report_out;         // --shard I/N|auto, --report-out F (%i, %n)
};

int cmd_mutants(const MutantsOptions& o);

}  // namespace regsync::cli

#include "cli/mutants_cmd.h"

#include <cstdio>

#include "explore/mutants.h"
#include "harness/input_error.h"

namespace regsync::cli {

int cmd_mutants(const MutantsOptions& o) {
    if (o.jobs < 1) throw harness::InputError("-j must be at least 1");
    if (o.budget == 0 || o.executions == 0) throw harness::InputError("--budget and --executions must be at least 1");
    explore::MutantsConfig cfg;
    cfg.scenario_dir = o.scenario_dir;
    cfg.only_scenarios = o.scenarios;
    cfg.policies = o.policies;
    if (!o.kernels.empty()) cfg.kernels = o.kernels;
    cfg.search = {"dfs", o.bound, o.budget, o.executions, o.seed};
    cfg.jobs = o.jobs;
    for (const auto& s : cfg.only_scenarios) harness::load_scenario(s, cfg.scenario_dir);  // unknown names are input errors
    harness::Engine engine;
    const auto rep = explore::run_mutants(cfg, engine);
    const std::string out = o.markdown ? explore::mutants_markdown(rep) : explore::mutants_text(rep);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return rep.killed() == rep.applicable() ? 0 : 1;
}

}  // namespace regsync::cli

#include "cli/mutants_cmd.h"

#include <cstdio>

#include "cli/shard_spec.h"
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
    cfg.search = {"dfs", o.bound, o.budget, o.executions, o.seed, explore::check_cell_reduction(o.reduction)};
    cfg.jobs = o.jobs;
    for (const auto& s : cfg.only_scenarios) harness::load_scenario(s, cfg.scenario_dir);  // unknown names are input errors
    harness::Engine engine;
    if (!o.shard.empty()) {
        const auto spec = resolve_shard(o.shard);
        if (o.report_out.empty()) throw harness::InputError("--shard needs --report-out FILE (the shard's part of the score)");
        cfg.shard_index = spec.index;
        cfg.shard_count = spec.count;
        const auto path = shard_path(o.report_out, spec);
        write_report(path, explore::mutants_shard_json(explore::run_mutants(cfg, engine), cfg));
        std::printf("mutants shard %llu/%llu report written to %s (merge with: regsync merge FILE...)\n", static_cast<unsigned long long>(spec.index),
                    static_cast<unsigned long long>(spec.count), path.c_str());
        return 0;
    }
    const auto rep = explore::run_mutants(cfg, engine);
    const std::string out = o.markdown ? explore::mutants_markdown(rep) : explore::mutants_text(rep);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return rep.killed() == rep.applicable() ? 0 : 1;
}

}  // namespace regsync::cli

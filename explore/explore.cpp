#include "explore/explore.h"

#include <algorithm>

#include "harness/input_error.h"
#include "sched/decision_source.h"
#include "sched/pct_decisions.h"
#include "sim/rng.h"

namespace regsync::explore {

std::uint64_t execution_seed(std::uint64_t seed, std::uint64_t index) { return sim::derive_seed(seed, "schedule", index); }

ExploreReport explore(const harness::Scenario& s, const ExploreConfig& cfg, harness::Engine& engine) {
    auto kernel = fakekvm::kernel_variant(cfg.kernel);
    if (!kernel) throw harness::InputError("unknown kernel variant '" + cfg.kernel + "' (see 'regsync list')");
    const bool pct = cfg.strategy == "pct";
    if (!pct && cfg.strategy != "random") throw harness::InputError("unknown strategy '" + cfg.strategy + "' (random, pct)");
    if (pct && cfg.depth < 1) throw harness::InputError("--depth must be at least 1");
    ExploreReport rep;
    if (pct) {
        // k: the decisions of one random execution, doubled for headroom.
        sched::RandomDecisions probe(execution_seed(cfg.seed, ~0ULL));
        const auto r = engine.run(s, cfg.policy, *kernel, probe);
        rep.pct_actors = r.actors.size();
        rep.pct_steps = 2 * std::max<std::uint64_t>(1, r.decisions.size());
        rep.pct_guarantee = sched::PctDecisions::guarantee(rep.pct_actors, rep.pct_steps, cfg.depth);
    }
    for (std::uint64_t i = 0; i < cfg.executions; ++i) {
        sched::RandomDecisions rnd(execution_seed(cfg.seed, i));
        sched::PctDecisions pctd(execution_seed(cfg.seed, i), rep.pct_actors, rep.pct_steps, cfg.depth);
        sched::DecisionSource& d = pct ? static_cast<sched::DecisionSource&>(pctd) : rnd;
        auto r = engine.run(s, cfg.policy, *kernel, d);
        ++rep.executions;
        rep.decisions += r.decisions.size();
        rep.steps += r.step_count;
        rep.step_limited += r.end == sched::RunEnd::StepLimit;
        rep.deadlocks += !r.main_loop_finished && r.end == sched::RunEnd::Quiescent;
        const bool bad = !r.verdict.ok() || r.end == sched::RunEnd::ActorError ||
                         (!r.main_loop_finished && r.end == sched::RunEnd::Quiescent);
        if (bad) {
            rep.violating_execution = i;
            rep.first_violation = std::move(r);
            break;
        }
    }
    return rep;
}

}  // namespace regsync::explore

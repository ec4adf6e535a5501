#include "explore/explore.h"

#include "harness/input_error.h"
#include "sched/decision_source.h"
#include "sim/rng.h"

namespace regsync::explore {

std::uint64_t execution_seed(std::uint64_t seed, std::uint64_t index) { return sim::derive_seed(seed, "schedule", index); }

ExploreReport explore_random(const harness::Scenario& s, const ExploreConfig& cfg, harness::Engine& engine) {
    auto kernel = fakekvm::kernel_variant(cfg.kernel);
    if (!kernel) throw harness::InputError("unknown kernel variant '" + cfg.kernel + "' (see 'regsync list')");
    ExploreReport rep;
    for (std::uint64_t i = 0; i < cfg.executions; ++i) {
        sched::RandomDecisions d(execution_seed(cfg.seed, i));
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

#include "explore/cell_search.h"

#include "explore/explore.h"
#include "harness/input_error.h"
#include "model/policy_registry.h"
#include "sched/decision_source.h"
#include "sched/dpor.h"

namespace regsync::explore {

bool is_cell_reduction(const std::string& name) { return name == "lock-aware" || name == "lock-aware-bpor" || name == "dpor" || name == "bpor"; }

std::string check_cell_reduction(const std::string& name) {
    if (!is_cell_reduction(name))
        throw harness::InputError("unknown cell reduction '" + name + "' (lock-aware, lock-aware-bpor, dpor, bpor)");
    return name;
}

bool check_cell_state_cache(const std::string& reduction, bool state_cache) {
    if (state_cache && !sched::stateful_dpor(parse_reduction(reduction)))
        throw harness::InputError("--state-cache goes with --reduction dpor or lock-aware (" + reduction + " has no sleep sets)");
    return state_cache;
}

CellSearch search_cell(const harness::Scenario& s, const std::string& policy, const fakekvm::KernelConfig& kernel,
                       const CellSearchConfig& cfg, harness::Engine& engine, const harness::ExecutionOptions& base,
                       const std::function<bool(const std::set<std::string>&)>& stop) {
    CellSearch c;
    // Returns false when the search should end.
    const auto consider = [&](harness::ExecutionResult&& r, const char* strategy, std::uint64_t index) {
        ++c.executions;
        c.mutation_fired = c.mutation_fired || r.mutation_fired;
        if (!violates(r)) return true;
        for (const auto& p : violated_names(r)) c.found.insert(p);
        if (c.violating++ == 0) c.first_violation = c.executions - 1;
        if (c.violating == 1 || r.decisions.size() < c.shortest.decisions.size()) {
            r.steps.clear();
            c.shortest = std::move(r);
            c.shortest_strategy = strategy;
            c.shortest_index = index;
        }
        c.stopped = stop && stop(c.found);
        return !c.stopped;
    };
    bool random = cfg.strategy == "random";
    if (!random) {
        // Bounds 0, 1, ... in turn (iterative context bounding), so that a
        // search the budget cuts short has covered every schedule with
        // fewer preemptions first.
        harness::ExecutionOptions opt = base;
        opt.record_footprints = true;
        const auto reduction = parse_reduction(cfg.reduction);
        const auto* info = model::find_policy(policy);
        const bool cache = cfg.state_cache && info && info->plugin.empty();
        opt.state_hash = opt.state_at_rest = cache;
        for (std::uint32_t b = 0; b <= cfg.bound && c.dfs_schedules < cfg.budget; ++b) {
            sched::Dpor dpor(reduction, b, {}, cache);
            bool more = true;
            while (more && c.dfs_schedules < cfg.budget) {
                const std::uint64_t cuts = dpor.revisits();
                auto r = engine.run(s, policy, kernel, dpor.source(), opt);
                more = dpor.next(r.steps);
                engine.recycle(std::move(r.steps));
                if (dpor.revisits() != cuts) continue;  // cut at a state explored before
                // Cut short by a sleep set: an equivalent schedule runs (or
                // ran) in its place. It counts against the budget, which
                // bounds the work, but is not judged: it never finished.
                if (r.end == sched::RunEnd::Pruned) {
                    ++c.dfs_schedules;
                    continue;
                }
                if (!consider(std::move(r), "dfs", c.dfs_schedules++)) return c;
            }
            if (more) break;
            c.exhausted_bound = static_cast<int>(b);
        }
        c.exhausted = c.exhausted_bound == static_cast<int>(cfg.bound);
        random = !c.exhausted;  // budget spent: random executions look further
    }
    for (std::uint64_t i = 0; random && i < cfg.executions; ++i) {
        sched::RandomDecisions d(execution_seed(cfg.seed, i));
        ++c.random_executions;
        if (!consider(engine.run(s, policy, kernel, d, base), "random", i)) return c;
    }
    return c;
}

}  // namespace regsync::explore

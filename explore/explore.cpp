#include "explore/explore.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <atomic>
#include <thread>
#include <vector>

#include "harness/input_error.h"
#include "harness/trace_file.h"
#include "sched/decision_source.h"
#include "explore/coverage.h"
#include "sched/dpor.h"
#include "sched/pct_decisions.h"
#include "sim/rng.h"

namespace regsync::explore {

std::uint64_t execution_seed(std::uint64_t seed, std::uint64_t index) { return sim::derive_seed(seed, "schedule", index); }

namespace {

std::uint64_t count_distinct(std::vector<std::uint64_t> v) {
    std::sort(v.begin(), v.end());
    return static_cast<std::uint64_t>(std::unique(v.begin(), v.end()) - v.begin());
}

std::uint64_t schedule_hash(const std::vector<sim::ActorId>& d) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (auto a : d) h = (h ^ a) * 0x100000001b3ULL;
    return h;
}

bool bad(const harness::ExecutionResult& r) {
    return !r.verdict.ok() || r.end == sched::RunEnd::ActorError || (!r.main_loop_finished && r.end == sched::RunEnd::Quiescent);
}

}  // namespace

namespace {
void note_violation(ExploreReport& rep) {
    const auto& r = rep.first_violation;
    rep.violation_decisions = static_cast<std::uint32_t>(r.decisions.size());
    rep.violation_preemptions = r.preemptions;
    rep.violation_outcome = harness::outcome_string(r);
}
}  // namespace

void summarise(ExploreReport& rep, const std::vector<RunStats>& runs) {
    std::vector<std::uint64_t> schedules, finals;
    for (const auto& st : runs) {
        ++rep.executions;
        schedules.push_back(st.schedule);
        finals.push_back(st.final_state);
        rep.decisions += st.decisions;
        rep.steps += st.steps;
        rep.step_limited += st.step_limited;
        rep.deadlocks += st.deadlock;
    }
    rep.distinct_schedules = count_distinct(std::move(schedules));
    rep.distinct_final_states = count_distinct(std::move(finals));
}

ExploreReport explore_dfs(const harness::Scenario& s, const ExploreConfig& cfg, const fakekvm::KernelConfig& kernel,
                          harness::Engine& engine, const std::function<void(std::uint64_t)>& progress) {
    sched::Reduction red;
    if (cfg.reduction == "none") red = sched::Reduction::None;
    else if (cfg.reduction == "sleep") red = sched::Reduction::Sleep;
    else if (cfg.reduction == "dpor") red = sched::Reduction::Dpor;
    else if (cfg.reduction == "bpor") red = sched::Reduction::Bpor;
    else throw harness::InputError("unknown reduction '" + cfg.reduction + "' (none, sleep, dpor, bpor)");
    ExploreReport rep;
    sched::Dpor dpor(red, cfg.preemption_bound);
    harness::ExecutionOptions opt;
    opt.record_footprints = true;
    bool more = true;
    std::vector<std::uint64_t> finals, interleavings;
    while (more && rep.executions < cfg.executions) {
        if (progress && (rep.executions & 0xffff) == 0 && rep.executions > 0) progress(rep.executions);
        auto r = engine.run(s, cfg.policy, kernel, dpor.source(), opt);
        more = dpor.next(r.steps);
        if (r.end == sched::RunEnd::Pruned) continue;  // redundant: its equivalent is explored elsewhere
        finals.push_back(r.final_state);
        interleavings.push_back(interleaving_fingerprint(r.steps));
        rep.decisions += r.decisions.size();
        rep.steps += r.step_count;
        rep.step_limited += r.end == sched::RunEnd::StepLimit;
        rep.deadlocks += !r.main_loop_finished && r.end == sched::RunEnd::Quiescent;
        if (bad(r)) {
            rep.violating_execution = rep.executions++;
            r.steps.clear();
            rep.first_violation = std::move(r);
            note_violation(rep);
            break;
        }
        ++rep.executions;
    }
    rep.exhausted = !more && !rep.violating_execution;
    rep.sleep_blocked = dpor.sleep_blocked();
    rep.distinct_schedules = rep.executions;  // dfs never repeats a schedule
    rep.distinct_final_states = count_distinct(std::move(finals));
    rep.distinct_interleavings = count_distinct(std::move(interleavings));
    return rep;
}

ExploreReport explore(const harness::Scenario& s, const ExploreConfig& cfg, harness::Engine& engine,
                      const std::function<void(std::uint64_t)>& progress) {
    auto kernel = fakekvm::kernel_variant(cfg.kernel);
    if (!kernel) throw harness::InputError("unknown kernel variant '" + cfg.kernel + "' (see 'regsync list')");
    if (cfg.strategy == "dfs") {
        if (cfg.shard_count != 1) throw harness::InputError("--shard: dfs runs in one process (shard random or pct runs)");
        // Iterative context bounding: bound 0, 1, ... so that a violation is
        // reported with as few preemptions as it needs.
        ExploreReport rep;
        ExploreConfig c = cfg;
        std::uint64_t before = 0;
        const std::uint32_t first = cfg.preemption_bound == sched::kUnbounded ? sched::kUnbounded : 0;
        for (std::uint32_t b = first;; ++b) {
            c.preemption_bound = b;
            rep = explore_dfs(s, c, *kernel, engine, progress);
            rep.bound_reached = b;
            rep.executions_all_bounds = before + rep.executions;
            before = rep.executions_all_bounds;
            if (rep.violating_execution || !rep.exhausted || b >= cfg.preemption_bound) break;
        }
        return rep;
    }
    const bool pct = cfg.strategy == "pct";
    if (!pct && cfg.strategy != "random") throw harness::InputError("unknown strategy '" + cfg.strategy + "' (random, pct, dfs)");
    if (pct && cfg.depth < 1) throw harness::InputError("--depth must be at least 1");
    if (cfg.jobs < 1) throw harness::InputError("-j must be at least 1");
    ExploreReport rep;
    if (pct) {
        // k: the decisions of one random execution, doubled for headroom.
        sched::RandomDecisions probe(execution_seed(cfg.seed, ~0ULL));
        const auto r = engine.run(s, cfg.policy, *kernel, probe);
        rep.pct_actors = r.actors.size();
        rep.pct_steps = 2 * std::max<std::uint64_t>(1, r.decisions.size());
        rep.pct_guarantee = sched::PctDecisions::guarantee(rep.pct_actors, rep.pct_steps, cfg.depth);
    }
    // Execution i belongs to thread i % jobs; each thread walks its indices
    // upwards and stops past the lowest violating index found so far. The
    // report is then built from indices 0..first alone, exactly as a single
    // thread would have seen them.
    const auto jobs = static_cast<std::uint64_t>(cfg.jobs);
    const std::uint64_t shards = cfg.shard_count, shard = cfg.shard_index;
    if (shards < 1 || shard >= shards) throw harness::InputError("--shard I/N needs 0 <= I < N");
    // Per execution, kept until the first violating index is known.
    std::vector<RunStats> stats(cfg.executions);
    std::atomic<std::uint64_t> first{cfg.executions};
    std::vector<harness::ExecutionResult> found(jobs);
    std::vector<std::uint64_t> found_at(jobs, cfg.executions);
    auto worker = [&](std::uint64_t t, harness::Engine& eng) {
        for (std::uint64_t i = shard + t * shards; i < cfg.executions && i < first.load(); i += jobs * shards) {
            sched::RandomDecisions rnd(execution_seed(cfg.seed, i));
            sched::PctDecisions pctd(execution_seed(cfg.seed, i), rep.pct_actors, rep.pct_steps, cfg.depth);
            sched::DecisionSource& d = pct ? static_cast<sched::DecisionSource&>(pctd) : rnd;
            auto r = eng.run(s, cfg.policy, *kernel, d);
            stats[i] = {i, static_cast<std::uint32_t>(r.decisions.size()), r.step_count, r.end == sched::RunEnd::StepLimit,
                        !r.main_loop_finished && r.end == sched::RunEnd::Quiescent, schedule_hash(r.decisions), r.final_state};
            if (progress && t == 0 && (i & 0xffff) == 0 && i > 0) progress(i);
            if (bad(r)) {
                found[t] = std::move(r);
                found_at[t] = i;
                std::uint64_t cur = first.load();
                while (i < cur && !first.compare_exchange_weak(cur, i)) {
                }
                return;
            }
        }
    };
    if (jobs == 1) {
        worker(0, engine);
    } else {
        std::vector<std::thread> threads;
        for (std::uint64_t t = 0; t < jobs; ++t)
            threads.emplace_back([&, t] {
                harness::Engine own;  // each thread its own fiber scheduler and stacks
                worker(t, own);
            });
        for (auto& th : threads) th.join();
    }
    std::vector<RunStats> mine;
    for (std::uint64_t i = shard; i < cfg.executions && i <= first.load(); i += shards) mine.push_back(stats[i]);
    summarise(rep, mine);
    if (first.load() < cfg.executions) {
        rep.violating_execution = first.load();
        for (std::uint64_t t = 0; t < jobs; ++t)
            if (found_at[t] == first.load()) rep.first_violation = std::move(found[t]);
        note_violation(rep);
    }
    if (shards > 1) rep.runs = std::move(mine);
    return rep;
}

}  // namespace regsync::explore

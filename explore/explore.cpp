#include "explore/explore.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <atomic>
#include <thread>
#include <vector>

#include "harness/input_error.h"
#include "harness/kernel_profile.h"
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

}  // namespace

bool violates(const harness::ExecutionResult& r) {
    return !r.verdict.ok() || r.end == sched::RunEnd::ActorError || r.end == sched::RunEnd::StepLimit || !r.main_loop_finished;
}

std::vector<std::string> violated_names(const harness::ExecutionResult& r) {
    std::vector<std::string> out;
    for (const auto& v : r.verdict.violations) {
        std::string n(properties::to_string(v.property));
        if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(std::move(n));
    }
    if (r.end == sched::RunEnd::StepLimit) out.emplace_back("step-limit");
    else if (r.end == sched::RunEnd::ActorError) out.emplace_back("actor-error");
    else if (!r.main_loop_finished) out.emplace_back("deadlock");
    return out;
}

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

std::optional<std::uint64_t> summarise_dfs(ExploreReport& rep, std::vector<DfsTask> tasks, bool complete) {
    std::sort(tasks.begin(), tasks.end(), [](const DfsTask& a, const DfsTask& b) { return a.task < b.task; });
    std::optional<std::uint64_t> violated;
    std::vector<std::uint64_t> finals, interleavings;
    for (const auto& t : tasks) {
        if (violated) break;
        rep.executions += t.executions;
        rep.decisions += t.decisions;
        rep.steps += t.steps;
        rep.step_limited += t.step_limited;
        rep.deadlocks += t.deadlocks;
        rep.sleep_blocked += t.sleep_blocked;
        finals.insert(finals.end(), t.finals.begin(), t.finals.end());
        interleavings.insert(interleavings.end(), t.interleavings.begin(), t.interleavings.end());
        if (t.violated) {
            violated = t.task;
            rep.violating_execution = rep.executions - 1;
        }
    }
    rep.exhausted = complete && !violated;
    rep.distinct_schedules = rep.executions;  // dfs never repeats a schedule
    rep.distinct_final_states = count_distinct(std::move(finals));
    rep.distinct_interleavings = count_distinct(std::move(interleavings));
    return violated;
}

sched::Reduction parse_reduction(const std::string& r) {
    if (r == "none") return sched::Reduction::None;
    if (r == "sleep") return sched::Reduction::Sleep;
    if (r == "dpor") return sched::Reduction::Dpor;
    if (r == "bpor") return sched::Reduction::Bpor;
    if (r == "lock-aware") return sched::Reduction::LockAware;
    if (r == "lock-aware-bpor") return sched::Reduction::LockAwareBpor;
    throw harness::InputError("unknown reduction '" + r + "' (none, sleep, dpor, bpor, lock-aware, lock-aware-bpor)");
}

namespace {

// One bound's pass: this process's tasks (all of them without a split),
// shared among cfg.jobs threads. Each thread claims the next unclaimed task
// when it has finished its own (work sharing in task order: every thread
// walks the same prefixes, so the first to arrive takes a task). A thread
// stops once its next task lies past the lowest task that violated, or
// that reached the cap: the tasks before it are explored in full whatever
// the timing, so the report is the same for any number of threads.
//
// With a split, --executions caps in whole tasks: the report holds the
// tasks, in order, whose executions together stay within the cap, so that
// it does not depend on which thread ran what. Without one, it cuts the
// only task where the cap falls.
ExploreReport explore_dfs(const harness::Scenario& s, const ExploreConfig& cfg, const fakekvm::KernelConfig& kernel,
                          harness::Engine& engine, const std::function<void(std::uint64_t)>& progress, DfsPass& pass) {
    const auto red = parse_reduction(cfg.reduction);
    const bool split_run = cfg.split_depth > 0;
    const int workers = split_run ? cfg.jobs : 1;
    std::atomic<std::uint64_t> stop_after{~0ULL};
    std::atomic<std::uint64_t> next_claim{0};  // this shard's next unclaimed task, counted within the shard
    struct Worker {
        std::uint64_t states = 0, revisits = 0;
        std::vector<DfsTask> tasks;
        bool complete = true;
        std::uint64_t task_count = 0;
        std::optional<harness::ExecutionResult> violation;
        std::uint64_t violation_task = 0;
        std::optional<std::uint64_t> capped;  // the task the cap cut
    };
    std::vector<Worker> out(static_cast<std::size_t>(workers));
    const auto lower = [&stop_after](std::uint64_t task) {
        for (auto cur = stop_after.load(); task < cur && !stop_after.compare_exchange_weak(cur, task);) {
        }
    };
    const auto work = [&](int t, harness::Engine& eng) {
        sched::Split split;
        split.depth = cfg.split_depth;
        std::uint64_t mine = ~0ULL;  // the task this thread claimed last
        if (split_run)
            split.ours = [&cfg, &next_claim, &mine](std::uint64_t task) {
                if (task % cfg.shard_count != cfg.shard_index) return false;
                const std::uint64_t k = task / cfg.shard_count;
                if (mine == ~0ULL || k > mine) mine = next_claim.fetch_add(1);
                return k == mine;
            };
        sched::Dpor dpor(red, cfg.preemption_bound, split, cfg.state_cache);
        harness::ExecutionOptions opt;
        opt.record_footprints = true;
        opt.state_hash = cfg.state_cache;
        opt.state_at_rest = cfg.state_cache && sched::stateful_dpor(red);
        auto& w = out[static_cast<std::size_t>(t)];
        std::uint64_t runs = 0, task_runs = 0, tried = 0;
        for (bool more = true; more;) {
            if (dpor.next_task() > stop_after.load()) {
                w.complete = false;
                break;
            }
            // Every execution counts here, sleep-blocked ones too: a search
            // that mostly runs into sleep sets must still see its deadline.
            if (t == 0 && progress && (++tried & 0xff) == 0) progress(runs);
            w.states = dpor.states();
            w.revisits = dpor.revisits();
            auto r = eng.run(s, cfg.policy, kernel, dpor.source(), opt);
            more = dpor.next(r.steps);
            const bool counted = !dpor.last_foreign() && r.end != sched::RunEnd::Pruned;
            const std::uint64_t interleaving = counted ? interleaving_fingerprint(r.steps) : 0;
            eng.recycle(std::move(r.steps));
            w.task_count = dpor.last_task() + 1;
            if (dpor.last_foreign()) continue;  // another worker's subtree, cut where it begins
            if (w.tasks.empty() || w.tasks.back().task != dpor.last_task()) {
                w.tasks.emplace_back();
                w.tasks.back().task = dpor.last_task();
                task_runs = 0;
            }
            auto& ts = w.tasks.back();
            if (r.end == sched::RunEnd::Pruned) {  // redundant: its equivalent is explored elsewhere
                ++ts.sleep_blocked;
                continue;
            }
            ++runs;
            ++task_runs;
            ++ts.executions;
            ts.finals.push_back(r.final_state);
            ts.interleavings.push_back(interleaving);
            ts.decisions += r.decisions.size();
            ts.steps += r.step_count;
            ts.step_limited += r.end == sched::RunEnd::StepLimit;
            ts.deadlocks += !r.main_loop_finished && r.end == sched::RunEnd::Quiescent;
            if (violates(r)) {
                ts.violated = true;
                r.steps.clear();
                w.violation = std::move(r);
                w.violation_task = ts.task;
                lower(ts.task);
                break;
            }
            if (task_runs >= cfg.executions && more) {  // the cap falls inside this task
                w.capped = ts.task;
                w.complete = false;
                lower(ts.task);
                break;
            }
        }
    };
    if (workers == 1) {
        work(0, engine);
    } else {
        std::vector<std::thread> threads;
        for (int t = 0; t < workers; ++t)
            threads.emplace_back([&, t] {
                harness::Engine own;  // one fiber scheduler per thread
                work(t, own);
            });
        for (auto& th : threads) th.join();
    }
    pass = DfsPass{};
    pass.bound = cfg.preemption_bound;
    std::optional<std::uint64_t> capped;
    for (auto& w : out) {
        pass.tasks.insert(pass.tasks.end(), w.tasks.begin(), w.tasks.end());
        pass.complete = pass.complete && w.complete;
        pass.task_count = std::max(pass.task_count, w.task_count);
        if (w.capped && (!capped || *w.capped < *capped)) capped = w.capped;
    }
    std::sort(pass.tasks.begin(), pass.tasks.end(), [](const DfsTask& a, const DfsTask& b) { return a.task < b.task; });
    if (split_run) {
        // Whole tasks within the cap, in task order; a task is cut short only
        // without a split (then there is one).
        std::uint64_t total = 0;
        std::size_t keep = 0;
        for (; keep < pass.tasks.size(); ++keep) {
            const auto& ts = pass.tasks[keep];
            if ((capped && ts.task >= *capped) || total + ts.executions > cfg.executions) break;
            total += ts.executions;
            if (ts.violated) {
                ++keep;
                break;
            }
        }
        if (keep < pass.tasks.size() && !(keep > 0 && pass.tasks[keep - 1].violated)) pass.complete = false;
        pass.tasks.resize(keep);
    }
    ExploreReport rep;
    const auto v = summarise_dfs(rep, pass.tasks, pass.complete);
    // Threads that stopped for a lower violation did not leave the pass
    // incomplete: every task up to it was run.
    if (v) {
        for (auto& w : out)
            if (w.violation && w.violation_task == *v) rep.first_violation = std::move(*w.violation);
        note_violation(rep);
        pass.complete = true;
    }
    rep.dfs_tasks = cfg.split_depth > 0 ? pass.task_count : 0;
    for (const auto& w : out) {
        rep.dfs_states += w.states;
        rep.dfs_revisits += w.revisits;
    }
    return rep;
}

}  // namespace

ExploreReport explore(const harness::Scenario& s, const ExploreConfig& cfg, harness::Engine& engine,
                      const std::function<void(std::uint64_t)>& progress) {
    const auto kernel = std::optional<fakekvm::KernelConfig>(harness::resolve_kernel(cfg.kernel).config);
    if (cfg.strategy == "dfs") {
        if (cfg.jobs < 1) throw harness::InputError("-j must be at least 1");
        if (cfg.state_cache && cfg.reduction != "none" && cfg.reduction != "sleep" && cfg.reduction != "dpor" && cfg.reduction != "lock-aware")
            throw harness::InputError("dfs: --state-cache goes with --reduction none, sleep, dpor or lock-aware (bpor and lock-aware-bpor have no sleep sets)");
        if (cfg.state_cache && (cfg.split_depth > 0 || cfg.shard_count > 1))
            throw harness::InputError("dfs: --state-cache runs in one process and one thread (the cache is not shared)");
        if (cfg.split_depth == 0 && (cfg.jobs > 1 || cfg.shard_count > 1))
            throw harness::InputError("dfs: -j and --shard share the subtrees below a split: give --split-depth D (D >= 1)");
        // Iterative context bounding: bound 0, 1, ... so that a violation is
        // reported with as few preemptions as it needs.
        ExploreReport rep;
        ExploreConfig c = cfg;
        std::uint64_t before = 0;
        std::vector<DfsPass> passes;
        const std::uint32_t first = cfg.preemption_bound == sched::kUnbounded ? sched::kUnbounded : 0;
        for (std::uint32_t b = first;; ++b) {
            c.preemption_bound = b;
            DfsPass pass;
            rep = explore_dfs(s, c, *kernel, engine, progress, pass);
            passes.push_back(std::move(pass));
            rep.bound_reached = b;
            rep.executions_all_bounds = before + rep.executions;
            before = rep.executions_all_bounds;
            if (rep.violating_execution || !rep.exhausted || b >= cfg.preemption_bound) break;
        }
        if (cfg.shard_count > 1 || cfg.shard_report) rep.dfs_passes = std::move(passes);
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
            if (violates(r)) {
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
    if (shards > 1 || cfg.shard_report) rep.runs = std::move(mine);
    return rep;
}

}  // namespace regsync::explore

#include "explore/shrink.h"

#include <algorithm>

#include "sched/decision_source.h"

namespace regsync::explore {

bool violates(const harness::ExecutionResult& r, properties::Property p) {
    return std::any_of(r.verdict.violations.begin(), r.verdict.violations.end(),
                       [p](const properties::Violation& v) { return v.property == p; });
}

namespace {

class Shrinker {
public:
    Shrinker(const harness::Scenario& s, const std::string& policy, const fakekvm::KernelConfig& k, properties::Property target,
             harness::Engine& engine, int max_runs)
        : s_(s), policy_(policy), kernel_(k), target_(target), engine_(engine), max_runs_(max_runs) {}

    // Runs `list` leniently; on success remembers the execution as the best.
    bool test(const std::vector<sim::ActorId>& list) {
        if (runs_ >= max_runs_) return false;
        ++runs_;
        sched::LenientReplayDecisions d(list);
        auto r = engine_.run(s_, policy_, kernel_, d);
        if (!violates(r, target_)) return false;
        if (!have_best_ || better(r, best_)) {
            best_ = std::move(r);
            have_best_ = true;
        }
        return true;
    }

    // An execution that ends over one cut by the step limit, then fewer
    // forced context switches, then fewer decisions.
    static bool better(const harness::ExecutionResult& a, const harness::ExecutionResult& b) {
        const bool a_ends = a.end == sched::RunEnd::Quiescent, b_ends = b.end == sched::RunEnd::Quiescent;
        if (a_ends != b_ends) return a_ends;
        if (a.preemptions != b.preemptions) return a.preemptions < b.preemptions;
        return a.decisions.size() < b.decisions.size();
    }

    std::vector<sim::ActorId> ddmin(std::vector<sim::ActorId> list) {
        // Shortest prefix first: everything after it becomes the default.
        std::size_t lo = 0, hi = list.size();
        while (lo < hi) {
            const std::size_t mid = (lo + hi) / 2;
            if (test({list.begin(), list.begin() + static_cast<long>(mid)})) hi = mid;
            else lo = mid + 1;
        }
        list.resize(hi);
        std::size_t n = 2;
        while (list.size() >= 2 && runs_ < max_runs_) {
            const std::size_t chunk = (list.size() + n - 1) / n;
            bool reduced = false;
            for (std::size_t start = 0; start < list.size(); start += chunk) {
                std::vector<sim::ActorId> without(list.begin(), list.begin() + static_cast<long>(start));
                without.insert(without.end(), list.begin() + static_cast<long>(std::min(list.size(), start + chunk)), list.end());
                if (test(without)) {
                    list = std::move(without);
                    n = std::max<std::size_t>(n - 1, 2);
                    reduced = true;
                    break;
                }
            }
            if (!reduced) {
                if (n >= list.size()) break;
                n = std::min(list.size(), n * 2);
            }
        }
        return list;
    }

    const harness::Scenario& s_;
    const std::string& policy_;
    const fakekvm::KernelConfig& kernel_;
    properties::Property target_;
    harness::Engine& engine_;
    int max_runs_;
    int runs_ = 0;
    bool have_best_ = false;
    harness::ExecutionResult best_;
};

}  // namespace

ShrinkResult shrink(const harness::Scenario& s, const std::string& policy, const fakekvm::KernelConfig& kernel,
                    const std::vector<sim::ActorId>& decisions, properties::Property target, harness::Engine& engine, int max_runs) {
    ShrinkResult out;
    Shrinker sh(s, policy, kernel, target, engine, max_runs);
    sched::ReplayDecisions exact(decisions);
    out.result = engine.run(s, policy, kernel, exact);
    out.decisions_before = out.result.decisions.size();
    out.preemptions_before = out.result.preemptions;
    if (violates(out.result, target)) {
        sh.best_ = out.result;
        sh.have_best_ = true;
        sh.ddmin(decisions);
        // The shrunk execution's own decisions replay it exactly.
        sched::ReplayDecisions again(sh.best_.decisions);
        out.result = engine.run(s, policy, kernel, again);
    }
    out.decisions_after = out.result.decisions.size();
    out.preemptions_after = out.result.preemptions;
    out.runs = sh.runs_;
    return out;
}

}  // namespace regsync::explore

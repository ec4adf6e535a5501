#include "explore/shrink_scenario.h"

#include <toml++/toml.h>

#include <sstream>

#include "harness/input_error.h"
#include "sched/decision_source.h"

namespace regsync::explore {

namespace {

std::string to_text(const toml::table& t) {
    std::ostringstream os;
    os << t;
    return os.str() + "\n";
}

// Every guest code array of the scenario: [[vcpu]].code and
// [[vcpu.program]].code.
std::vector<toml::array*> code_arrays(toml::table& t) {
    std::vector<toml::array*> out;
    if (auto* vcpus = t["vcpu"].as_array())
        for (auto& v : *vcpus) {
            auto* vt = v.as_table();
            if (!vt) continue;
            if (auto* code = (*vt)["code"].as_array()) out.push_back(code);
            if (auto* progs = (*vt)["program"].as_array())
                for (auto& p : *progs)
                    if (auto* pt = p.as_table())
                        if (auto* code = (*pt)["code"].as_array()) out.push_back(code);
        }
    return out;
}

int count_steps(toml::table& t) {
    int n = 0;
    for (auto* code : code_arrays(t))
        for (auto& step : *code)
            if (step.value_or(std::string{}) != "nop") ++n;
    return n;
}

int count_ops(toml::table& t) {
    auto* main = t["main"].as_array();
    return main ? static_cast<int>(main->size()) : 0;
}

}  // namespace

ScenarioShrinkResult shrink_scenario(const std::string& text, const std::string& file, const std::string& policy,
                                     const fakekvm::KernelConfig& kernel, const std::vector<sim::ActorId>& decisions,
                                     properties::Property target, harness::Engine& engine) {
    toml::table cur;
    try {
        cur = toml::parse(text, file);
    } catch (const toml::parse_error& e) {
        throw harness::InputError(file + ": " + std::string(e.description()));
    }
    ScenarioShrinkResult res;
    res.decisions = decisions;
    res.main_ops_before = count_ops(cur);
    res.guest_steps_before = count_steps(cur);
    // A candidate is kept when it still parses and still fails the same
    // way: a livelock (step limit) does not stand in for a finished run.
    bool step_limited = false;
    {
        sched::LenientReplayDecisions d(decisions);
        step_limited = engine.run(harness::parse_scenario(text, file), policy, kernel, d).end == sched::RunEnd::StepLimit;
    }
    const auto still_fails = [&](const toml::table& cand) {
        ++res.runs;
        harness::Scenario s;
        try {
            s = harness::parse_scenario(to_text(cand), file);
        } catch (const harness::InputError&) {
            return false;
        }
        sched::LenientReplayDecisions d(res.decisions);
        auto r = engine.run(s, policy, kernel, d);
        if (!violates(r, target) || (!step_limited && r.end == sched::RunEnd::StepLimit)) return false;
        res.decisions = std::move(r.decisions);
        return true;
    };
    for (bool progress = true; progress;) {
        progress = false;
        // Main-loop operations, the last first (later ones depend on earlier).
        for (int k = count_ops(cur) - 1; k >= 0; --k) {
            toml::table cand = cur;
            auto* main = cand["main"].as_array();
            main->erase(main->cbegin() + k);
            if (main->empty()) cand.erase("main");
            if (still_fails(cand)) {
                cur = std::move(cand);
                progress = true;
            }
        }
        // Guest steps become nops (removing them would move later code).
        const auto arrays = code_arrays(cur).size();
        for (std::size_t a = 0; a < arrays; ++a) {
            const auto len = code_arrays(cur)[a]->size();
            for (std::size_t i = len; i-- > 0;) {
                if ((*code_arrays(cur)[a])[i].value_or(std::string{}) == "nop") continue;
                toml::table cand = cur;
                auto* code = code_arrays(cand)[a];
                code->replace(code->cbegin() + static_cast<std::ptrdiff_t>(i), "nop");
                if (still_fails(cand)) {
                    cur = std::move(cand);
                    progress = true;
                }
            }
        }
    }
    res.main_ops_after = count_ops(cur);
    res.guest_steps_after = count_steps(cur);
    res.changed = res.main_ops_after != res.main_ops_before || res.guest_steps_after != res.guest_steps_before;
    res.text = res.changed ? "# Reduced by regsync shrink from " + file + "\n" + to_text(cur) : text;
    return res;
}

}  // namespace regsync::explore

#include "explore/matrix.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <map>
#include <set>

#include "explore/explore.h"
#include "explore/cell_search.h"
#include "explore/parallel.h"
#include "fakekvm/kernel_axes.h"
#include "fakekvm/kernel_config.h"
#include "harness/input_error.h"
#include "harness/kernel_profile.h"
#include "harness/trace_file.h"
#include "model/policy_registry.h"

namespace regsync::explore {

namespace {

// What of a kernel configuration the scenario's architecture can see: cells
// whose kernels agree there have the same executions, so they are searched
// once (Book-E has no INIT, SIPI or TSC; x86 no OR/CLEAR TSR).
std::string effective_kernel(const fakekvm::KernelConfig& k, model::Arch a) {
    if (a == model::Arch::PpcBookE) return k.ppc_tsr_or_clear ? "or-clear" : "none";
    if (a != model::Arch::X86) {  // the alternatives of the architecture's own axes (fakekvm/kernel_axes.cpp)
        std::string key(model::to_string(a));
        for (const auto& axis : fakekvm::kernel_axes())
            if (axis.arch == a) {
                key += '/';
                key += fakekvm::alternative_of(axis, k);
            }
        return key;
    }
    return std::to_string(static_cast<int>(k.init_sipi)) + "/" + std::to_string(k.latched_init_outside_smm) + "/" + std::to_string(k.tsc_offsetting) +
           "/" + std::to_string(k.tsc_sync_window);
}

Cell make_cell(const MatrixConfig& cfg, const Catalogue& cat, const harness::Scenario& s, const std::string& policy,
               const harness::KernelProfile& kp, const CellSearch& r) {
    Cell c;
    c.scenario = s.name;
    c.policy = policy;
    c.kernel = kp.name;
    if (!model::policy_supports(policy, s.arch)) {
        c.applicable = false;
        return c;
    }
    const std::string kernel_name = kp.file.empty() ? kp.name : kp.file;  // what a trace names, to replay it
    c.executions = r.executions;
    c.dfs_schedules = r.dfs_schedules;
    c.exhausted = r.exhausted;
    c.exhausted_bound = r.exhausted_bound;
    c.random_executions = r.random_executions;
    c.violating = r.violating;
    c.first_violation = r.first_violation;
    c.found.assign(r.found.begin(), r.found.end());
    std::set<std::string> expected;
    for (const auto* b : cat.expected(s.name, policy, kp)) {
        c.bugs.push_back(b->name);
        expected.insert(std::string(properties::to_string(b->property)));
        expected.insert(b->also.begin(), b->also.end());
    }
    c.expected.assign(expected.begin(), expected.end());
    if (c.violating > 0) {
        c.shortest = r.shortest.decisions.size();
        c.shortest_properties = violated_names(r.shortest);
        c.outcome = harness::outcome_string(r.shortest);
        if (!cfg.trace_dir.empty()) {
            c.trace = cfg.trace_dir + "/" + s.name + "." + policy + "." + kp.name + ".json";
            harness::write_trace(c.trace, harness::make_trace(s, policy, kernel_name, r.shortest_strategy, cfg.seed, r.shortest_index, r.shortest));
        }
    }
    // Exact: the cell violates precisely what the catalogue lists for it.
    c.agrees = r.found == expected;
    return c;
}

const char* abbrev(const std::string& p) {
    if (p == "lost-kernel-write") return "LKW";
    if (p == "lost-userspace-write") return "LUW";
    if (p == "lost-init") return "INIT";
    if (p == "tsc-jump-back") return "TSC";
    if (p == "snapshot-fidelity") return "SNAP";
    if (p == "dirty-entry") return "DIRTY";
    if (p == "step-limit") return "LIVE";
    if (p.rfind("deadlock", 0) == 0) return "DEAD";
    return "ERR";
}

std::string cell_text(const Cell& c) {
    if (!c.applicable) return "n/a";
    std::string t = c.agrees ? "" : "!! ";
    if (c.violating == 0) {
        t += "held";
        if (!c.expected.empty()) t.append(" (want ").append(abbrev(c.expected.front())).append(")");
        return t;
    }
    std::string props;
    for (const auto& p : c.found) {
        if (!props.empty()) props += '+';
        props += abbrev(p);
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, " %zu@%llu", c.shortest, static_cast<unsigned long long>(c.first_violation));
    return t + props + buf;
}

std::string search_line(const MatrixConfig& cfg) {
    char buf[256];
    if (cfg.strategy == "random")
        std::snprintf(buf, sizeof buf, "random: %llu executions per cell, seed %llu", static_cast<unsigned long long>(cfg.executions),
                      static_cast<unsigned long long>(cfg.seed));
    else
        std::snprintf(buf, sizeof buf,
                      "bounded exhaustive search per cell (dfs, reduction bpor, at most %u preemptions, budget %llu schedules); a cell whose search did not finish then runs %llu random executions (seed %llu)",
                      cfg.bound, static_cast<unsigned long long>(cfg.budget), static_cast<unsigned long long>(cfg.executions),
                      static_cast<unsigned long long>(cfg.seed));
    return buf;
}

// Cells whose bounded search did not finish: their verdict rests on random executions too.
std::string unfinished(const MatrixReport& r, const char* indent) {
    std::string out;
    for (const auto& c : r.cells) {
        if (c.exhausted || c.dfs_schedules == 0) continue;
        char buf[320];
        char done[48] = "no bound";
        if (c.exhausted_bound >= 0) std::snprintf(done, sizeof done, "bounds 0..%d", c.exhausted_bound);
        std::snprintf(buf, sizeof buf, "%s%s / %s / %s: bounded: %llu schedules, budget spent (%s explored in full); then random: %llu executions\n",
                      indent, c.scenario.c_str(), c.policy.c_str(), c.kernel.c_str(), static_cast<unsigned long long>(c.dfs_schedules), done,
                      static_cast<unsigned long long>(c.random_executions));
        out += buf;
    }
    return out;
}

}  // namespace

std::size_t MatrixReport::disagreements() const {
    return static_cast<std::size_t>(std::count_if(cells.begin(), cells.end(), [](const Cell& c) { return !c.agrees; }));
}

MatrixReport run_matrix(const MatrixConfig& cfg, const Catalogue& cat, harness::Engine& engine) {
    MatrixReport rep;
    rep.scenarios = cfg.only_scenarios.empty() ? harness::bundled_scenarios(cfg.scenario_dir) : cfg.only_scenarios;
    if (cfg.only_policies.empty())
        for (const auto& p : model::policies()) rep.policies.emplace_back(p.name);
    else
        for (const auto& p : cfg.only_policies) {
            if (!model::find_policy(p)) throw harness::InputError("unknown policy '" + p + "' (see 'regsync list')");
            rep.policies.push_back(p);
        }
    std::vector<harness::KernelProfile> kernels;
    if (cfg.kernels.empty())
        for (const auto& k : harness::bundled_kernels(cfg.kernel_dir)) kernels.push_back(harness::resolve_kernel(k, cfg.kernel_dir));
    else
        for (const auto& k : cfg.kernels) kernels.push_back(harness::resolve_kernel(k));
    for (const auto& k : kernels) rep.kernels.push_back(k.name);
    std::vector<harness::Scenario> scenarios;
    for (const auto& name : rep.scenarios) scenarios.push_back(harness::load_scenario(name, cfg.scenario_dir));
    const std::size_t per_scenario = rep.policies.size() * rep.kernels.size();
    rep.cells.resize(scenarios.size() * per_scenario);
    // One search per distinct (scenario, policy, kernel as the scenario sees it).
    std::vector<std::size_t> search_of(rep.cells.size());
    std::vector<std::size_t> searched;  // the first cell of each distinct search
    std::map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i < rep.cells.size(); ++i) {
        const auto& s = scenarios[i / per_scenario];
        const std::size_t j = i % per_scenario;
        const auto key = std::to_string(i / per_scenario) + "|" + rep.policies[j / rep.kernels.size()] + "|" +
                         effective_kernel(kernels[j % rep.kernels.size()].config, s.arch);
        auto [it, fresh] = seen.emplace(key, searched.size());
        if (fresh) searched.push_back(i);
        search_of[i] = it->second;
    }
    std::vector<CellSearch> results(searched.size());
    auto search = [&](std::size_t t, harness::Engine& eng) {
        const std::size_t i = searched[t];
        const auto& s = scenarios[i / per_scenario];
        const std::size_t j = i % per_scenario;
        if (!model::policy_supports(rep.policies[j / rep.kernels.size()], s.arch)) return;
        results[t] = search_cell(s, rep.policies[j / rep.kernels.size()], kernels[j % rep.kernels.size()].config, cfg.search(), eng);
    };
    parallel_for(searched.size(), cfg.jobs, engine, search);
    for (std::size_t i = 0; i < rep.cells.size(); ++i) {
        const std::size_t j = i % per_scenario;
        rep.cells[i] = make_cell(cfg, cat, scenarios[i / per_scenario], rep.policies[j / rep.kernels.size()], kernels[j % rep.kernels.size()],
                                 results[search_of[i]]);
    }
    rep.searches = searched.size();
    return rep;
}

std::string matrix_text(const MatrixReport& r, const MatrixConfig& cfg) {
    std::string out;
    char buf[512];
    std::snprintf(buf, sizeof buf, "regsync matrix: %zu cells; ", r.cells.size());
    out += buf + search_line(cfg) + "\n";
    out += "cell: held, or everything violated, then 'N@E': decisions in the shortest trace @ first violating execution\n";
    out += "LKW lost-kernel-write  LUW lost-userspace-write  INIT lost-init  TSC tsc-jump-back  SNAP snapshot-fidelity  DIRTY dirty-entry\n";
    out += "LIVE step limit reached (livelock)  DEAD main loop deadlocked  ERR harness error\n";
    out += "!! marks a cell that disagrees with the catalogue\n";
    std::size_t i = 0;
    for (const auto& s : r.scenarios) {
        std::snprintf(buf, sizeof buf, "\n%-26s", s.c_str());
        out += buf;
        for (const auto& k : r.kernels) {
            std::snprintf(buf, sizeof buf, " %-20.20s", k.c_str());
            out += buf;
        }
        out += "\n";
        for (const auto& p : r.policies) {
            std::snprintf(buf, sizeof buf, "  %-24s", p.c_str());
            out += buf;
            for (std::size_t k = 0; k < r.kernels.size(); ++k, ++i) {
                std::snprintf(buf, sizeof buf, " %-20s", cell_text(r.cells[i]).c_str());
                out += buf;
            }
            out += "\n";
        }
    }
    const auto bad = r.disagreements();
    std::snprintf(buf, sizeof buf, "\n%zu cells, %zu disagree with the catalogue\n", r.cells.size(), bad);
    out += buf;
    std::snprintf(buf, sizeof buf, "(%zu searches: cells whose kernels the scenario cannot tell apart share one)\n", r.searches);
    out += buf;
    if (const auto u = unfinished(r, "  "); !u.empty()) out += "bounded search unfinished:\n" + u;
    for (const auto& c : r.cells)
        if (!c.agrees) {
            const auto join = [](const std::vector<std::string>& v) {
                std::string j;
                for (const auto& x : v) {
                    if (!j.empty()) j += ", ";
                    j += x;
                }
                return j;
            };
            const std::string want = join(c.expected), got = join(c.found);
            std::snprintf(buf, sizeof buf, "  %s / %s / %s: catalogue says %s, found %s\n", c.scenario.c_str(), c.policy.c_str(),
                          c.kernel.c_str(), want.empty() ? "held" : want.c_str(), got.empty() ? "nothing" : got.c_str());
            out += buf;
        }
    return out;
}

std::string matrix_markdown(const MatrixReport& r, const MatrixConfig& cfg) {
    std::string out = "Search: " + search_line(cfg) +
                      ". Cell: `held`, or everything violated and `N@E` (decisions in the shortest trace @ first violating execution); **!!** = disagrees with the catalogue.\n";
    std::size_t i = 0;
    for (const auto& s : r.scenarios) {
        out += "\n**" + s + "**\n\n| policy |";
        for (const auto& k : r.kernels) out += " " + k + " |";
        out += "\n|---|";
        for (std::size_t k = 0; k < r.kernels.size(); ++k) out += "---|";
        out += "\n";
        for (const auto& p : r.policies) {
            out += "| " + p + " |";
            for (std::size_t k = 0; k < r.kernels.size(); ++k, ++i) {
                std::string t = cell_text(r.cells[i]);
                if (t.rfind("!! ", 0) == 0) t = "**!!** " + t.substr(3);
                out += " " + t + " |";
            }
            out += "\n";
        }
    }
    out.append("\n").append(std::to_string(r.cells.size())).append(" cells, ").append(std::to_string(r.disagreements()));
    out.append(" disagree with the catalogue.\n");
    if (const auto u = unfinished(r, "- "); !u.empty()) out += "\nBounded search unfinished:\n\n" + u;
    return out;
}

std::string matrix_json(const MatrixReport& r, const MatrixConfig& cfg) {
    nlohmann::ordered_json j;
    j["seed"] = cfg.seed;
    j["strategy"] = cfg.strategy;
    if (cfg.strategy != "random") {
        j["preemption_bound"] = cfg.bound;
        j["budget_schedules_per_cell"] = cfg.budget;
    }
    j["random_executions_per_cell"] = cfg.executions;
    j["disagreements"] = r.disagreements();
    auto& cells = j["cells"] = nlohmann::ordered_json::array();
    for (const auto& c : r.cells) {
        nlohmann::ordered_json e;
        e["scenario"] = c.scenario;
        e["policy"] = c.policy;
        e["kernel"] = c.kernel;
        e["verdict"] = c.violating ? "violated" : "held";
        e["properties"] = c.found;
        e["shortest_trace_decisions"] = c.shortest;
        e["shortest_trace_properties"] = c.shortest_properties;
        if (c.violating) e["first_violating_execution"] = c.first_violation;
        e["violating_executions"] = c.violating;
        e["executions"] = c.executions;
        if (cfg.strategy != "random") {
            e["dfs_schedules"] = c.dfs_schedules;
            e["dfs_exhausted"] = c.exhausted;
            e["dfs_bound_explored_in_full"] = c.exhausted_bound;
        }
        e["random_executions"] = c.random_executions;
        e["expected"] = c.expected;
        e["catalogue_entries"] = c.bugs;
        e["agrees"] = c.agrees;
        if (!c.applicable) e["applicable"] = false;
        if (!c.trace.empty()) e["trace"] = c.trace;
        cells.push_back(e);
    }
    return j.dump(1) + "\n";
}

}  // namespace regsync::explore

#include "explore/matrix.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <map>
#include <set>

#include "explore/explore.h"
#include "explore/cell_search.h"
#include "explore/parallel.h"
#include "explore/shard.h"
#include "fakekvm/kernel_axes.h"
#include "fakekvm/kernel_config.h"
#include "harness/input_error.h"
#include "harness/json_input.h"
#include "harness/limits.h"
#include "sched/decision_source.h"
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
                      "bounded exhaustive search per cell (dfs, reduction %s%s, at most %u preemptions, budget %llu schedules); a cell whose search did not finish then runs %llu random executions (seed %llu)",
                      cfg.reduction.c_str(), cfg.state_cache ? " with the state cache" : "", cfg.bound, static_cast<unsigned long long>(cfg.budget), static_cast<unsigned long long>(cfg.executions),
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

namespace {

// The cells of a matrix run, and the distinct searches that decide them.
struct Plan {
    MatrixReport rep;  // its names, and its cells sized
    std::vector<harness::KernelProfile> kernels;
    std::vector<harness::Scenario> scenarios;
    std::size_t per_scenario = 0;
    std::vector<std::size_t> search_of;  // cell -> search
    std::vector<std::size_t> searched;   // search -> its first cell
    const harness::Scenario& scenario(std::size_t cell) const { return scenarios[cell / per_scenario]; }
    const std::string& policy(std::size_t cell) const { return rep.policies[cell % per_scenario / rep.kernels.size()]; }
    const harness::KernelProfile& kernel(std::size_t cell) const { return kernels[cell % per_scenario % rep.kernels.size()]; }
};

Plan plan_matrix(const MatrixConfig& cfg) {
    Plan plan;
    MatrixReport& rep = plan.rep;
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
    plan.kernels = std::move(kernels);
    for (const auto& name : rep.scenarios) plan.scenarios.push_back(harness::load_scenario(name, cfg.scenario_dir));
    plan.per_scenario = rep.policies.size() * rep.kernels.size();
    rep.cells.resize(plan.scenarios.size() * plan.per_scenario);
    // One search per distinct (scenario, policy, kernel as the scenario sees it).
    plan.search_of.resize(rep.cells.size());
    std::map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i < rep.cells.size(); ++i) {
        const auto key = std::to_string(i / plan.per_scenario) + "|" + plan.policy(i) + "|" + effective_kernel(plan.kernel(i).config, plan.scenario(i).arch);
        auto [it, fresh] = seen.emplace(key, plan.searched.size());
        if (fresh) plan.searched.push_back(i);
        plan.search_of[i] = it->second;
    }
    rep.searches = plan.searched.size();
    return plan;
}

// The searches of one shard (all of them for shard 0 of 1); the others stay empty.
std::vector<CellSearch> search_shard(const Plan& plan, const MatrixConfig& cfg, harness::Engine& engine) {
    std::vector<CellSearch> results(plan.searched.size());
    std::vector<std::size_t> mine;
    for (std::size_t t = 0; t < plan.searched.size(); ++t)
        if (t % cfg.shard_count == cfg.shard_index) mine.push_back(t);
    parallel_for(mine.size(), cfg.jobs, engine, [&](std::size_t k, harness::Engine& eng) {
        const std::size_t i = plan.searched[mine[k]];
        if (!model::policy_supports(plan.policy(i), plan.scenario(i).arch)) return;
        results[mine[k]] = search_cell(plan.scenario(i), plan.policy(i), plan.kernel(i).config, cfg.search(), eng);
    });
    return results;
}

MatrixReport assemble(Plan plan, const MatrixConfig& cfg, const Catalogue& cat, const std::vector<CellSearch>& results) {
    for (std::size_t i = 0; i < plan.rep.cells.size(); ++i)
        plan.rep.cells[i] = make_cell(cfg, cat, plan.scenario(i), plan.policy(i), plan.kernel(i), results[plan.search_of[i]]);
    return std::move(plan.rep);
}

}  // namespace

MatrixReport run_matrix(const MatrixConfig& cfg, const Catalogue& cat, harness::Engine& engine) {
    const auto plan = plan_matrix(cfg);
    MatrixConfig whole = cfg;
    whole.shard_index = 0;
    whole.shard_count = 1;
    return assemble(plan, cfg, cat, search_shard(plan, whole, engine));
}

std::string run_matrix_shard(const MatrixConfig& cfg, harness::Engine& engine) {
    const auto plan = plan_matrix(cfg);
    const auto results = search_shard(plan, cfg, engine);
    nlohmann::ordered_json j;
    j["format"] = "regsync-matrix-shard";
    j["format_version"] = 1;
    j["tool_version"] = REGSYNC_VERSION;
    j["config"] = {{"seed", cfg.seed}, {"strategy", cfg.strategy}, {"bound", cfg.bound}, {"budget", cfg.budget}, {"executions", cfg.executions},
                   {"reduction", cfg.reduction}, {"state_cache", cfg.state_cache}};
    auto scenarios = nlohmann::ordered_json::array();
    for (const auto& s : plan.scenarios) scenarios.push_back({s.name, harness::hex64(s.content_hash)});
    j["scenarios"] = scenarios;
    j["policies"] = plan.rep.policies;
    j["kernels"] = cfg.kernels.empty() ? plan.rep.kernels : cfg.kernels;
    j["shard"] = {cfg.shard_index, cfg.shard_count};
    auto searches = nlohmann::ordered_json::array();
    for (std::size_t t = cfg.shard_index; t < results.size(); t += cfg.shard_count) {
        const auto& r = results[t];
        searches.push_back({{"search", t}, {"found", r.found}, {"executions", r.executions}, {"dfs_schedules", r.dfs_schedules},
                            {"random_executions", r.random_executions}, {"exhausted", r.exhausted}, {"exhausted_bound", r.exhausted_bound},
                            {"violating", r.violating}, {"first_violation", r.first_violation}, {"shortest_decisions", r.shortest.decisions},
                            {"shortest_strategy", r.shortest_strategy}, {"shortest_index", r.shortest_index}});
    }
    j["searches"] = searches;
    return j.dump(1) + "\n";
}

std::pair<MatrixReport, MatrixConfig> merge_matrix_shards(const std::vector<std::string>& texts, const std::vector<std::string>& paths,
                                                          MatrixConfig cfg, const Catalogue& cat, harness::Engine& engine) {
    const auto js = parse_shard_reports(texts, paths, "regsync-matrix-shard", {"config", "scenarios", "policies", "kernels"});
    std::vector<CellSearch> results;
    std::vector<bool> have;
    Plan plan;
    try {
        const auto& c = js.front().at("config");
        cfg.seed = harness::json_integer<std::uint64_t>(c.at("seed"), "seed");
        cfg.strategy = c.at("strategy").get<std::string>();
        cfg.bound = harness::json_integer<std::uint32_t>(c.at("bound"), "bound");
        cfg.budget = harness::json_integer<std::uint64_t>(c.at("budget"), "budget");
        cfg.executions = harness::json_integer<std::uint64_t>(c.at("executions"), "executions");
        // Reports of regsync before --reduction searched with bpor.
        cfg.reduction = c.contains("reduction") ? c.at("reduction").get<std::string>() : "bpor";
        if (!is_cell_reduction(cfg.reduction))
            throw harness::InputError::at(paths.front(), 1, "unknown reduction '" + cfg.reduction + "' in the config");
        cfg.state_cache = c.contains("state_cache") && c.at("state_cache").get<bool>();
        cfg.only_scenarios.clear();
        for (const auto& s : js.front().at("scenarios")) cfg.only_scenarios.push_back(s.at(0).get<std::string>());
        cfg.only_policies = js.front().at("policies").get<std::vector<std::string>>();
        cfg.kernels = js.front().at("kernels").get<std::vector<std::string>>();
        try {
            plan = plan_matrix(cfg);
        } catch (const harness::InputError& e) {
            // An unknown scenario, policy or kernel: it is the report's.
            throw harness::InputError::at(paths.front(), 1, std::string("the run it is a shard of: ") + e.what());
        }
        for (std::size_t k = 0; k < plan.scenarios.size(); ++k)
            if (js.front().at("scenarios").at(k).at(1).get<std::string>() != harness::hex64(plan.scenarios[k].content_hash))
                throw harness::InputError::at(paths.front(), 1, "scenario '" + plan.scenarios[k].name + "' has changed since the shards ran");
        results.resize(plan.searched.size());
        have.assign(plan.searched.size(), false);
        const auto count = harness::json_integer<std::uint64_t>(js.front().at("shard").at(1), "shard count");
        std::vector<bool> shard_seen(std::min<std::uint64_t>(count, harness::limits::kShards), false);
        for (std::size_t k = 0; k < js.size(); ++k) {
            const auto index = harness::json_integer<std::uint64_t>(js[k].at("shard").at(0), "shard index");
            if (harness::json_integer<std::uint64_t>(js[k].at("shard").at(1), "shard count") != count || index >= shard_seen.size() || shard_seen[index])
                throw harness::InputError::at(paths[k], 1, "shard " + js[k].at("shard").dump() + " is out of range or given twice");
            shard_seen[index] = true;
            for (const auto& e : js[k].at("searches")) {
                const auto t = harness::json_integer<std::size_t>(e.at("search"), "search");
                if (t >= results.size() || t % count != index || have[t]) throw harness::InputError::at(paths[k], 1, "search " + std::to_string(t) + " does not belong to this shard");
                auto& r = results[t];
                for (const auto& f : e.at("found")) r.found.insert(f.get<std::string>());
                r.executions = harness::json_integer<std::uint64_t>(e.at("executions"), "executions");
                r.dfs_schedules = harness::json_integer<std::uint64_t>(e.at("dfs_schedules"), "dfs_schedules");
                r.random_executions = harness::json_integer<std::uint64_t>(e.at("random_executions"), "random_executions");
                r.exhausted = e.at("exhausted").get<bool>();
                r.exhausted_bound = harness::json_integer<int>(e.at("exhausted_bound"), "exhausted_bound");
                r.violating = harness::json_integer<std::uint64_t>(e.at("violating"), "violating");
                r.first_violation = harness::json_integer<std::uint64_t>(e.at("first_violation"), "first_violation");
                r.shortest_strategy = e.at("shortest_strategy").get<std::string>();
                r.shortest_index = harness::json_integer<std::uint64_t>(e.at("shortest_index"), "shortest_index");
                if (r.violating > 0) {
                    // The shortest execution again, from its decisions: executions are deterministic.
                    const std::size_t i = plan.searched[t];
                    sched::ReplayDecisions d(harness::json_integers<sim::ActorId>(e.at("shortest_decisions"), "shortest_decisions"));
                    r.shortest = engine.run(plan.scenario(i), plan.policy(i), plan.kernel(i).config, d);
                    if (d.diverged()) throw harness::InputError::at(paths[k], 1, "search " + std::to_string(t) + ": its shortest execution does not replay");
                }
                have[t] = true;
            }
        }
        for (std::size_t s = 0; s < shard_seen.size(); ++s)
            if (!shard_seen[s]) throw harness::InputError("merge: matrix shard " + std::to_string(s) + " of " + std::to_string(count) + " is missing");
    } catch (const nlohmann::json::exception& e) {
        throw harness::InputError::at(paths.front(), 1, std::string("malformed matrix shard report: ") + e.what());
    } catch (const harness::JsonFieldError& e) {
        throw harness::InputError::at(paths.front(), 1, std::string("malformed matrix shard report: ") + e.what());
    }
    return {assemble(std::move(plan), cfg, cat, results), cfg};
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
        j["reduction"] = cfg.reduction;
        if (cfg.state_cache) j["state_cache"] = true;
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

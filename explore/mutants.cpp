#include "explore/mutants.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "explore/explore.h"
#include "explore/parallel.h"
#include "explore/shard.h"
#include "fakekvm/kernel_config.h"
#include "harness/input_error.h"
#include "harness/json_input.h"
#include "harness/limits.h"
#include "harness/kernel_profile.h"
#include "model/mutation.h"
#include "model/policy_registry.h"
#include "sched/decision_source.h"

namespace regsync::explore {

std::string mutants_shard_json(const MutantsReport& r, const MutantsConfig& cfg) {
    nlohmann::ordered_json j;
    j["format"] = "regsync-mutants-shard";
    j["format_version"] = 1;
    j["tool_version"] = REGSYNC_VERSION;
    j["config"] = {{"scenarios", r.scenarios}, {"kernels", r.kernels}, {"policies", cfg.policies}, {"strategy", cfg.search.strategy},
                   {"bound", cfg.search.bound}, {"budget", cfg.search.budget}, {"executions", cfg.search.executions}, {"seed", cfg.search.seed}, {"reduction", cfg.search.reduction},
                   {"probe_executions", cfg.probe_executions}};
    j["policies"] = r.policies;
    j["mutants"] = r.mutants.size();
    j["shard"] = {cfg.shard_index, cfg.shard_count};
    auto ms = nlohmann::ordered_json::array();
    for (std::size_t i = cfg.shard_index; i < r.mutants.size(); i += cfg.shard_count) {
        const auto& m = r.mutants[i];
        ms.push_back({{"mutant", i}, {"policy", m.policy}, {"mutation", m.mutation}, {"applicable", m.applicable}, {"killed", m.killed},
                      {"scenario", m.scenario}, {"kernel", m.kernel}, {"baseline", m.baseline}, {"found", m.found}});
    }
    j["results"] = ms;
    return j.dump(1) + "\n";
}

MutantsReport merge_mutants_shards(const std::vector<std::string>& texts, const std::vector<std::string>& paths) {
    MutantsReport rep;
    const auto js = parse_shard_reports(texts, paths, "regsync-mutants-shard", {"config", "policies", "mutants"});
    try {
        const auto& c = js.front().at("config");
        rep.scenarios = c.at("scenarios").get<std::vector<std::string>>();
        rep.kernels = c.at("kernels").get<std::vector<std::string>>();
        rep.policies = js.front().at("policies").get<std::vector<std::string>>();
        const auto n = harness::json_integer<std::size_t>(js.front().at("mutants"), "mutants");
        const auto count = harness::json_integer<std::uint64_t>(js.front().at("shard").at(1), "shard count");
        if (count == 0 || count > harness::limits::kShards || n > 1'000'000)
            throw harness::InputError::at(paths.front(), 1, "shard count or mutant count out of range");
        rep.mutants.resize(n);
        std::vector<bool> seen(count, false), have(n, false);
        for (std::size_t k = 0; k < js.size(); ++k) {
            const auto index = harness::json_integer<std::uint64_t>(js[k].at("shard").at(0), "shard index");
            if (harness::json_integer<std::uint64_t>(js[k].at("shard").at(1), "shard count") != count || index >= count || seen[index])
                throw harness::InputError::at(paths[k], 1, "shard " + js[k].at("shard").dump() + " is out of range or given twice");
            seen[index] = true;
            for (const auto& e : js[k].at("results")) {
                const auto i = harness::json_integer<std::size_t>(e.at("mutant"), "mutant");
                if (i >= n || i % count != index || have[i]) throw harness::InputError::at(paths[k], 1, "mutant " + std::to_string(i) + " does not belong to this shard");
                have[i] = true;
                auto& m = rep.mutants[i];
                m.policy = e.at("policy").get<std::string>();
                m.mutation = e.at("mutation").get<std::string>();
                m.applicable = e.at("applicable").get<bool>();
                m.killed = e.at("killed").get<bool>();
                m.scenario = e.at("scenario").get<std::string>();
                m.kernel = e.at("kernel").get<std::string>();
                m.baseline = e.at("baseline").get<std::vector<std::string>>();
                m.found = e.at("found").get<std::vector<std::string>>();
            }
        }
        for (std::size_t s = 0; s < count; ++s)
            if (!seen[s]) throw harness::InputError("merge: mutants shard " + std::to_string(s) + " of " + std::to_string(count) + " is missing");
    } catch (const nlohmann::json::exception& e) {
        throw harness::InputError::at(paths.front(), 1, std::string("malformed mutants shard report: ") + e.what());
    } catch (const harness::JsonFieldError& e) {
        throw harness::InputError::at(paths.front(), 1, std::string("malformed mutants shard report: ") + e.what());
    }
    return rep;
}

namespace {

std::vector<std::string> as_list(const std::set<std::string>& s) { return {s.begin(), s.end()}; }

struct CellRef {
    std::size_t scenario, kernel;
};

}  // namespace

std::size_t MutantsReport::applicable() const {
    return static_cast<std::size_t>(std::count_if(mutants.begin(), mutants.end(), [](const MutantResult& m) { return m.applicable; }));
}
std::size_t MutantsReport::killed() const {
    return static_cast<std::size_t>(std::count_if(mutants.begin(), mutants.end(), [](const MutantResult& m) { return m.killed; }));
}

MutantsReport run_mutants(const MutantsConfig& cfg, harness::Engine& engine) {
    MutantsReport rep;
    rep.scenarios = cfg.only_scenarios.empty() ? harness::bundled_scenarios(cfg.scenario_dir) : cfg.only_scenarios;
    if (rep.scenarios.empty()) throw harness::InputError(cfg.scenario_dir + ": no scenario (*.toml) to score mutants with");
    std::vector<harness::Scenario> scenarios;
    for (const auto& n : rep.scenarios) scenarios.push_back(harness::load_scenario(n, cfg.scenario_dir));
    std::vector<fakekvm::KernelConfig> kernels;
    for (const auto& k : cfg.kernels) {
        kernels.push_back(harness::resolve_kernel(k).config);
    }
    rep.kernels = cfg.kernels;
    std::vector<std::string> candidates = cfg.policies;
    if (candidates.empty())
        for (const auto& p : model::policies()) candidates.emplace_back(p.name);
    for (const auto& p : candidates)
        if (!model::find_policy(p)) throw harness::InputError("unknown policy '" + p + "' (see 'regsync list')");

    // The unmutated verdict of every cell.
    std::vector<CellRef> cells;
    for (std::size_t s = 0; s < scenarios.size(); ++s)
        for (std::size_t k = 0; k < kernels.size(); ++k) cells.push_back({s, k});
    std::vector<std::set<std::string>> baseline(candidates.size() * cells.size());
    // A plugin layer syncs one architecture: the other's cells are not its.
    const auto applies = [&](std::size_t p, std::size_t c) { return model::policy_supports(candidates[p], scenarios[cells[c].scenario].arch); };
    parallel_for(baseline.size(), cfg.jobs, engine, [&](std::size_t i, harness::Engine& eng) {
        const auto& c = cells[i % cells.size()];
        if (!applies(i / cells.size(), i % cells.size())) return;
        baseline[i] = search_cell(scenarios[c.scenario], candidates[i / cells.size()], kernels[c.kernel], cfg.search, eng).found;
    });
    std::vector<std::size_t> policy_rows;  // into candidates
    for (std::size_t p = 0; p < candidates.size(); ++p) {
        bool holds_somewhere = false;
        for (std::size_t c = 0; c < cells.size(); ++c) holds_somewhere = holds_somewhere || (applies(p, c) && baseline[p * cells.size() + c].empty());
        if (holds_somewhere) {
            policy_rows.push_back(p);
            rep.policies.push_back(candidates[p]);
        }
    }

    const auto& muts = model::mutations();
    rep.mutants.resize(policy_rows.size() * muts.size());
    for (std::size_t i = 0; i < rep.mutants.size(); ++i) {
        rep.mutants[i].policy = candidates[policy_rows[i / muts.size()]];
        rep.mutants[i].mutation = muts[i % muts.size()].name();
    }
    parallel_for(rep.mutants.size(), cfg.jobs, engine, [&](std::size_t i, harness::Engine& eng) {
        if (i % cfg.shard_count != cfg.shard_index) return;
        const std::size_t p = policy_rows[i / muts.size()];
        const auto& mut = muts[i % muts.size()];
        auto& m = rep.mutants[i];
        harness::ExecutionOptions opt;
        opt.mutation = &mut;
        const auto kill = [&](std::size_t c, const std::set<std::string>& found) {
            m.killed = true;
            m.scenario = scenarios[cells[c].scenario].name;
            m.kernel = cfg.kernels[cells[c].kernel];
            m.baseline = as_list(baseline[p * cells.size() + c]);
            m.found = as_list(found);
        };
        // A search of cell c ends as soon as it shows something the policy never does there.
        const auto search = [&](std::size_t c, const CellSearchConfig& how) {
            const auto& base = baseline[p * cells.size() + c];
            return search_cell(scenarios[cells[c].scenario], m.policy, kernels[cells[c].kernel], how, eng, opt,
                               [&](const std::set<std::string>& f) { return !std::includes(base.begin(), base.end(), f.begin(), f.end()); });
        };
        // Where does the fault run? A few random executions of every cell
        // (they may already kill it with something the policy never shows).
        CellSearchConfig probe = cfg.search;
        probe.strategy = "random";
        probe.executions = cfg.probe_executions;
        std::vector<bool> fires(cells.size(), false);
        for (std::size_t c = 0; c < cells.size() && !m.killed; ++c) {
            if (!applies(p, c)) continue;
            const auto r = search(c, probe);
            fires[c] = r.mutation_fired;
            m.applicable = m.applicable || r.mutation_fired;
            if (r.stopped) kill(c, r.found);
        }
        if (!m.applicable || m.killed) return;
        // The full search, cells where the fault ran first.
        std::vector<std::size_t> order;
        for (std::size_t c = 0; c < cells.size(); ++c)
            if (fires[c]) order.push_back(c);
        for (std::size_t c = 0; c < cells.size(); ++c)
            if (!fires[c] && applies(p, c)) order.push_back(c);
        for (std::size_t c : order) {
            const auto r = search(c, cfg.search);
            if (r.stopped || r.found != baseline[p * cells.size() + c]) {
                kill(c, r.found);
                return;
            }
        }
    });
    return rep;
}

namespace {
std::string join(const std::vector<std::string>& v) {
    if (v.empty()) return "held";
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : "+") + x;
    return s;
}

struct PolicyRow {
    std::string policy;
    std::size_t applicable = 0, killed = 0, inapplicable = 0;
};

std::vector<PolicyRow> rows(const MutantsReport& r) {
    std::vector<PolicyRow> out;
    for (const auto& p : r.policies) {
        PolicyRow row{p};
        for (const auto& m : r.mutants) {
            if (m.policy != p) continue;
            row.applicable += m.applicable;
            row.killed += m.killed;
            row.inapplicable += !m.applicable;
        }
        out.push_back(row);
    }
    return out;
}

std::string score_line(const MutantsReport& r) {
    char buf[160];
    const auto a = r.applicable(), k = r.killed();
    std::snprintf(buf, sizeof buf, "mutation score: %zu killed of %zu mutants (%.1f%%); %zu not applicable (their fault never ran)\n", k, a,
                  a ? 100.0 * static_cast<double>(k) / static_cast<double>(a) : 100.0, r.mutants.size() - a);
    return buf;
}
}  // namespace

std::string mutants_text(const MutantsReport& r) {
    std::string out = "regsync mutants: " + std::to_string(r.scenarios.size()) + " scenarios, kernel variant(s)";
    for (const auto& k : r.kernels) out += " " + k;
    out += "\n";
    char buf[512];
    std::snprintf(buf, sizeof buf, "%-26s %9s %7s %9s %15s\n", "policy", "mutants", "killed", "survived", "not applicable");
    out += buf;
    for (const auto& row : rows(r)) {
        std::snprintf(buf, sizeof buf, "%-26s %9zu %7zu %9zu %15zu\n", row.policy.c_str(), row.applicable, row.killed, row.applicable - row.killed,
                      row.inapplicable);
        out += buf;
    }
    bool any = false;
    for (const auto& m : r.mutants)
        if (m.applicable && !m.killed) {
            if (!any) out += "survivors:\n";
            any = true;
            out += "  " + m.policy + " / " + m.mutation + "\n";
        }
    out += "killed by:\n";
    for (const auto& m : r.mutants)
        if (m.killed) {
            std::snprintf(buf, sizeof buf, "  %s / %s: %s on %s: %s instead of %s\n", m.policy.c_str(), m.mutation.c_str(), m.scenario.c_str(),
                          m.kernel.c_str(), join(m.found).c_str(), join(m.baseline).c_str());
            out += buf;
        }
    return out + score_line(r);
}

std::string mutants_markdown(const MutantsReport& r) {
    std::string out = "| policy | mutants | killed | survived | not applicable |\n|---|---|---|---|---|\n";
    for (const auto& row : rows(r))
        out += "| " + row.policy + " | " + std::to_string(row.applicable) + " | " + std::to_string(row.killed) + " | " +
               std::to_string(row.applicable - row.killed) + " | " + std::to_string(row.inapplicable) + " |\n";
    std::string surv;
    for (const auto& m : r.mutants)
        if (m.applicable && !m.killed) surv += "- " + m.policy + " / " + m.mutation + "\n";
    if (!surv.empty()) out += "\nSurvivors:\n\n" + surv;
    return out + "\n" + score_line(r);
}

}  // namespace regsync::explore

#include "explore/matrix.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "explore/explore.h"
#include "fakekvm/kernel_config.h"
#include "harness/trace_file.h"
#include "model/policy_registry.h"

namespace regsync::explore {

namespace {

bool violated(const harness::ExecutionResult& r) {
    return !r.verdict.ok() || r.end != sched::RunEnd::Quiescent || !r.main_loop_finished;
}

std::vector<std::string> property_names(const harness::ExecutionResult& r) {
    std::vector<std::string> out;
    for (const auto& v : r.verdict.violations) {
        std::string n(properties::to_string(v.property));
        if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
    }
    if (r.end != sched::RunEnd::Quiescent || !r.main_loop_finished) out.push_back(harness::outcome_string(r));
    return out;
}

Cell run_cell(const MatrixConfig& cfg, const Catalogue& cat, harness::Engine& engine, const harness::Scenario& s,
              const std::string& policy, const std::string& kernel_name) {
    Cell c;
    c.scenario = s.name;
    c.policy = policy;
    c.kernel = kernel_name;
    const auto kernel = *fakekvm::kernel_variant(kernel_name);
    std::set<std::string> found;
    harness::ExecutionResult shortest;
    std::uint64_t shortest_index = 0;
    for (std::uint64_t i = 0; i < cfg.executions; ++i) {
        sched::RandomDecisions d(execution_seed(cfg.seed, i));
        auto r = engine.run(s, policy, kernel, d);
        ++c.executions;
        if (!violated(r)) continue;
        for (const auto& p : property_names(r)) found.insert(p);
        if (c.violating++ == 0) c.first_violation = i;
        if (c.violating == 1 || r.decisions.size() < shortest.decisions.size()) {
            shortest = std::move(r);
            shortest_index = i;
        }
    }
    c.found.assign(found.begin(), found.end());
    for (const auto* b : cat.expected(s.name, policy, kernel_name)) {
        c.bugs.push_back(b->name);
        std::string p(properties::to_string(b->property));
        if (std::find(c.expected.begin(), c.expected.end(), p) == c.expected.end()) c.expected.push_back(p);
    }
    if (c.violating > 0) {
        c.shortest = shortest.decisions.size();
        c.shortest_properties = property_names(shortest);
        c.outcome = harness::outcome_string(shortest);
        if (!cfg.trace_dir.empty()) {
            c.trace = cfg.trace_dir + "/" + s.name + "." + policy + "." + kernel_name + ".json";
            harness::write_trace(c.trace, harness::make_trace(s, policy, kernel_name, "random", cfg.seed, shortest_index, shortest));
        }
    }
    // Held where nothing is catalogued; otherwise every catalogued property found.
    c.agrees = c.expected.empty() ? c.violating == 0
                                  : std::all_of(c.expected.begin(), c.expected.end(),
                                                [&](const std::string& p) { return found.count(p) != 0; });
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

}  // namespace

std::size_t MatrixReport::disagreements() const {
    return static_cast<std::size_t>(std::count_if(cells.begin(), cells.end(), [](const Cell& c) { return !c.agrees; }));
}

MatrixReport run_matrix(const MatrixConfig& cfg, const Catalogue& cat, harness::Engine& engine) {
    MatrixReport rep;
    rep.scenarios = cfg.only_scenarios.empty() ? harness::bundled_scenarios(cfg.scenario_dir) : cfg.only_scenarios;
    for (const auto& p : model::policies()) rep.policies.emplace_back(p.name);
    for (const auto& k : fakekvm::kernel_variants()) rep.kernels.emplace_back(k.name);
    std::vector<harness::Scenario> scenarios;
    for (const auto& name : rep.scenarios) scenarios.push_back(harness::load_scenario(name, cfg.scenario_dir));
    const std::size_t per_scenario = rep.policies.size() * rep.kernels.size();
    rep.cells.resize(scenarios.size() * per_scenario);
    auto cell = [&](std::size_t i, harness::Engine& eng) {
        const auto& s = scenarios[i / per_scenario];
        const std::size_t j = i % per_scenario;
        rep.cells[i] = run_cell(cfg, cat, eng, s, rep.policies[j / rep.kernels.size()], rep.kernels[j % rep.kernels.size()]);
    };
    if (cfg.jobs <= 1) {
        for (std::size_t i = 0; i < rep.cells.size(); ++i) cell(i, engine);
        return rep;
    }
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < cfg.jobs; ++t)
        threads.emplace_back([&] {
            harness::Engine own;  // one fiber scheduler per thread
            for (std::size_t i; (i = next.fetch_add(1)) < rep.cells.size();) cell(i, own);
        });
    for (auto& th : threads) th.join();
    return rep;
}

std::string matrix_text(const MatrixReport& r, const MatrixConfig& cfg) {
    std::string out;
    char buf[512];
    std::snprintf(buf, sizeof buf, "regsync matrix: seed %llu, %llu executions per cell, %zu cells\n",
                  static_cast<unsigned long long>(cfg.seed), static_cast<unsigned long long>(cfg.executions), r.cells.size());
    out += buf;
    out += "cell: held, or the properties violated, then 'N@E': decisions in the shortest trace @ first violating execution\n";
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
    std::string out = "Seed " + std::to_string(cfg.seed) + ", " + std::to_string(cfg.executions) +
                      " executions per cell. Cell: `held`, or the properties violated and `N@E` (decisions in the shortest trace @ first violating execution); **!!** = disagrees with the catalogue.\n";
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
    return out;
}

std::string matrix_json(const MatrixReport& r, const MatrixConfig& cfg) {
    nlohmann::ordered_json j;
    j["seed"] = cfg.seed;
    j["executions_per_cell"] = cfg.executions;
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
        e["expected"] = c.expected;
        e["catalogue_entries"] = c.bugs;
        e["agrees"] = c.agrees;
        if (!c.trace.empty()) e["trace"] = c.trace;
        cells.push_back(e);
    }
    return j.dump(1) + "\n";
}

}  // namespace regsync::explore

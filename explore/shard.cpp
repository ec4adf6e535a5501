#include "explore/shard.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "harness/input_error.h"
#include "harness/input_file.h"
#include "harness/json_input.h"
#include "harness/limits.h"

namespace regsync::explore {

using nlohmann::ordered_json;

std::string shard_to_json(const ShardFile& f) {
    ordered_json j;
    j["format"] = "regsync-shard";
    j["format_version"] = kShardFormatVersion;
    j["tool_version"] = REGSYNC_VERSION;
    j["scenario"] = {{"name", f.scenario_name}, {"hash", f.scenario_hash}};
    j["policy"] = f.cfg.policy;
    j["kernel"] = f.cfg.kernel;
    j["strategy"] = f.cfg.strategy;
    j["seed"] = f.cfg.seed;
    j["executions"] = f.cfg.executions;
    j["depth"] = f.cfg.depth;
    j["shard"] = {f.cfg.shard_index, f.cfg.shard_count};
    j["pct"] = {f.report.pct_actors, f.report.pct_steps, f.report.pct_guarantee};
    auto runs = ordered_json::array();
    for (const auto& r : f.report.runs)
        runs.push_back({r.index, r.decisions, r.steps, (r.step_limited ? 1 : 0) | (r.deadlock ? 2 : 0), r.schedule, r.final_state});
    j["runs"] = std::move(runs);
    if (f.report.violating_execution) {
        j["violating_execution"] = *f.report.violating_execution;
        j["violation_found"] = {f.report.violation_decisions, f.report.violation_preemptions, f.report.violation_outcome};
    }
    if (f.cfg.strategy == "dfs") {
        auto passes = ordered_json::array();
        for (const auto& p : f.report.dfs_passes) {
            auto tasks = ordered_json::array();
            for (const auto& t : p.tasks)
                tasks.push_back({t.task, t.executions, t.decisions, t.steps, t.step_limited, t.deadlocks, t.sleep_blocked, t.violated ? 1 : 0,
                                 t.finals, t.interleavings});
            passes.push_back({{"bound", p.bound}, {"complete", p.complete}, {"task_count", p.task_count}, {"tasks", std::move(tasks)}});
        }
        j["dfs"] = {{"preemption_bound", f.cfg.preemption_bound}, {"reduction", f.cfg.reduction}, {"split_depth", f.cfg.split_depth},
                    {"passes", std::move(passes)}};
    }
    if (f.violation) j["violation"] = ordered_json::parse(harness::trace_to_json(*f.violation));
    return j.dump(1) + "\n";
}

ShardFile read_shard(const std::string& path) {
    const auto text = harness::read_input_file(path, harness::limits::kJsonBytes, "shard report");
    if (!text) throw harness::InputError(path + ": cannot open shard report");
    return shard_from_json(*text, path);
}

ShardFile shard_from_json(const std::string& text, const std::string& path) {
    ShardFile f;
    ordered_json j;
    try {
        j = ordered_json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        throw harness::InputError::at(path, harness::line_at(text, e.byte == 0 ? 0 : e.byte - 1), "not valid JSON");
    } catch (const nlohmann::json::exception& e) {
        // A number too large for any JSON number type (out_of_range.406).
        throw harness::InputError::at(path, 1, std::string("not valid JSON: ") + e.what());
    }
    const auto fail = [&](const std::string& what) { throw harness::InputError::at(path, 1, what); };
    try {
        if (!j.is_object() || j.value("format", "") != "regsync-shard") fail("not a regsync shard report");
        if (!j.at("format_version").is_number_integer() || j.at("format_version").get<std::int64_t>() != kShardFormatVersion)
            fail("shard format version " + j.at("format_version").dump() + ", this regsync reads version " + std::to_string(kShardFormatVersion));
        if (j.at("tool_version").get<std::string>() != REGSYNC_VERSION)
            fail("written by regsync " + j.at("tool_version").get<std::string>() + ", this is " + REGSYNC_VERSION);
        f.scenario_name = j.at("scenario").at("name").get<std::string>();
        f.scenario_hash = harness::json_integer<std::uint64_t>(j.at("scenario").at("hash"), "scenario.hash");
        f.cfg.policy = j.at("policy").get<std::string>();
        f.cfg.kernel = j.at("kernel").get<std::string>();
        f.cfg.strategy = j.at("strategy").get<std::string>();
        f.cfg.seed = harness::json_integer<std::uint64_t>(j.at("seed"), "seed");
        f.cfg.executions = harness::json_integer<std::uint64_t>(j.at("executions"), "executions");
        f.cfg.depth = harness::json_integer<int>(j.at("depth"), "depth");
        f.cfg.shard_index = harness::json_integer<std::uint64_t>(j.at("shard").at(0), "shard index");
        f.cfg.shard_count = harness::json_integer<std::uint64_t>(j.at("shard").at(1), "shard count");
        if (!j.at("shard").at(0).is_number_unsigned() || !j.at("shard").at(1).is_number_unsigned() || f.cfg.shard_count == 0 ||
            f.cfg.shard_count > harness::limits::kShards || f.cfg.shard_index >= f.cfg.shard_count)
            fail("shard " + j.at("shard").dump() + " is not [index, count] with index < count <= " + std::to_string(harness::limits::kShards));
        f.report.pct_actors = harness::json_integer<std::size_t>(j.at("pct").at(0), "pct actors");
        f.report.pct_steps = harness::json_integer<std::uint64_t>(j.at("pct").at(1), "pct steps");
        f.report.pct_guarantee = j.at("pct").at(2).get<double>();
        for (const auto& r : j.at("runs")) {
            const auto flags = harness::json_integer<int>(r.at(3), "a run's flags");
            f.report.runs.push_back({harness::json_integer<std::uint64_t>(r.at(0), "a run's index"), harness::json_integer<std::uint32_t>(r.at(1), "a run's decisions"), harness::json_integer<std::uint32_t>(r.at(2), "a run's steps"),
                                     (flags & 1) != 0, (flags & 2) != 0, harness::json_integer<std::uint64_t>(r.at(4), "a run's schedule"), harness::json_integer<std::uint64_t>(r.at(5), "a run's final state")});
        }
        if (j.contains("violating_execution")) {
            f.report.violating_execution = harness::json_integer<std::uint64_t>(j.at("violating_execution"), "violating_execution");
            f.report.violation_decisions = harness::json_integer<std::uint32_t>(j.at("violation_found").at(0), "violation decisions");
            f.report.violation_preemptions = harness::json_integer<std::uint32_t>(j.at("violation_found").at(1), "violation preemptions");
            f.report.violation_outcome = j.at("violation_found").at(2).get<std::string>();
        }
        if (j.contains("dfs")) {
            const auto& d = j.at("dfs");
            f.cfg.preemption_bound = harness::json_integer<std::uint32_t>(d.at("preemption_bound"), "preemption_bound");
            f.cfg.reduction = d.at("reduction").get<std::string>();
            f.cfg.split_depth = harness::json_integer<std::uint32_t>(d.at("split_depth"), "split_depth");
            for (const auto& p : d.at("passes")) {
                DfsPass pass;
                pass.bound = harness::json_integer<std::uint32_t>(p.at("bound"), "bound");
                pass.complete = p.at("complete").get<bool>();
                pass.task_count = harness::json_integer<std::uint64_t>(p.at("task_count"), "task_count");
                for (const auto& t : p.at("tasks")) {
                    DfsTask x;
                    x.task = harness::json_integer<std::uint64_t>(t.at(0), "a dfs task's task");
                    x.executions = harness::json_integer<std::uint64_t>(t.at(1), "a dfs task's executions");
                    x.decisions = harness::json_integer<std::uint64_t>(t.at(2), "a dfs task's decisions");
                    x.steps = harness::json_integer<std::uint64_t>(t.at(3), "a dfs task's steps");
                    x.step_limited = harness::json_integer<std::uint64_t>(t.at(4), "a dfs task's step-limited");
                    x.deadlocks = harness::json_integer<std::uint64_t>(t.at(5), "a dfs task's deadlocks");
                    x.sleep_blocked = harness::json_integer<std::uint64_t>(t.at(6), "a dfs task's sleep-blocked");
                    x.violated = harness::json_integer<int>(t.at(7), "a dfs task's violated") != 0;
                    x.finals = harness::json_integers<std::uint64_t>(t.at(8), "a dfs task's finals");
                    x.interleavings = harness::json_integers<std::uint64_t>(t.at(9), "a dfs task's interleavings");
                    pass.tasks.push_back(std::move(x));
                }
                f.report.dfs_passes.push_back(std::move(pass));
            }
        }
        if (j.contains("violation")) f.violation = harness::trace_from_json(j.at("violation").dump(), path);
    } catch (const nlohmann::json::exception& e) {
        fail(std::string("malformed shard report: ") + e.what());
    } catch (const harness::JsonFieldError& e) {
        fail(std::string("malformed shard report: ") + e.what());
    }
    return f;
}

std::vector<ordered_json> parse_shard_reports(const std::vector<std::string>& texts, const std::vector<std::string>& paths,
                                              const std::string& format, std::initializer_list<const char*> same) {
    if (texts.empty()) throw harness::InputError("merge: no shard reports given");
    std::vector<ordered_json> js;
    for (std::size_t k = 0; k < texts.size(); ++k) {
        try {
            js.push_back(ordered_json::parse(texts[k]));
        } catch (const nlohmann::json::exception& e) {
            throw harness::InputError::at(paths[k], 1, std::string("not valid JSON: ") + e.what());
        }
        const auto& j = js.back();
        // Comparisons, not get<>(): a field of another type is just not equal.
        if (!j.is_object() || !j.contains("format") || j["format"] != format || !j.contains("format_version") || j["format_version"] != 1)
            throw harness::InputError::at(paths[k], 1, "not a " + format + " report (format 1)");
        if (!j.contains("tool_version") || j["tool_version"] != REGSYNC_VERSION)
            throw harness::InputError::at(paths[k], 1, "written by another regsync version than " REGSYNC_VERSION);
        for (const char* key : same)
            if (!j.contains(key) || j[key] != js.front()[key])
                throw harness::InputError::at(paths[k], 1, "not a shard of the same run as " + paths.front() + " (its " + key + " differ)");
    }
    return js;
}

namespace {

// The merged run's violation is the one this shard found (its trace, and
// the figures of the violating execution as found).
void take_violation(MergedRun& m, const ShardFile& from) {
    m.report.violation_decisions = from.report.violation_decisions;
    m.report.violation_preemptions = from.report.violation_preemptions;
    m.report.violation_outcome = from.report.violation_outcome;
    m.violation = from.violation;
}

// dfs: bound by bound, the tasks of every shard make the pass's report; the
// first bound with a violation, an incomplete shard, or the last bound ends.
void merge_dfs(const std::vector<ShardFile>& shards, MergedRun& m) {
    std::uint64_t before = 0;
    for (std::size_t i = 0;; ++i) {
        std::vector<DfsTask> tasks;
        bool complete = true;
        std::uint64_t task_count = 0;
        std::optional<std::uint32_t> bound;
        for (const auto& b : shards) {
            if (i >= b.report.dfs_passes.size()) {
                complete = false;  // this shard stopped earlier (a violation or its cap)
                continue;
            }
            const auto& p = b.report.dfs_passes[i];
            bound = p.bound;
            tasks.insert(tasks.end(), p.tasks.begin(), p.tasks.end());
            complete = complete && p.complete;
            task_count = std::max(task_count, p.task_count);
        }
        if (!bound) break;
        ExploreReport rep;
        const auto v = summarise_dfs(rep, std::move(tasks), complete);
        rep.bound_reached = *bound;
        rep.executions_all_bounds = before + rep.executions;
        before = rep.executions_all_bounds;
        rep.dfs_tasks = task_count;
        m.report = std::move(rep);
        m.violation.reset();
        if (v) {
            for (const auto& b : shards)
                if (i < b.report.dfs_passes.size())
                    for (const auto& t : b.report.dfs_passes[i].tasks)
                        if (t.task == *v && t.violated) take_violation(m, b);
            break;
        }
        if (!m.report.exhausted) break;
    }
}

}  // namespace

MergedRun merge_shards(const std::vector<ShardFile>& shards, const std::vector<std::string>& paths) {
    if (shards.empty()) throw harness::InputError("merge: no shard reports given");
    const auto& a = shards.front();
    std::vector<bool> seen(a.cfg.shard_count, false);
    for (std::size_t k = 0; k < shards.size(); ++k) {
        const auto& b = shards[k];
        if (b.scenario_name != a.scenario_name || b.scenario_hash != a.scenario_hash || b.cfg.policy != a.cfg.policy ||
            b.cfg.kernel != a.cfg.kernel || b.cfg.strategy != a.cfg.strategy || b.cfg.seed != a.cfg.seed ||
            b.cfg.executions != a.cfg.executions || b.cfg.depth != a.cfg.depth || b.cfg.shard_count != a.cfg.shard_count)
            throw harness::InputError(paths[k] + ": not a shard of the same run as " + paths.front());
        if (b.cfg.shard_count == 0 || b.cfg.shard_index >= b.cfg.shard_count)
            throw harness::InputError(paths[k] + ": shard index out of range");
        if (seen[b.cfg.shard_index]) throw harness::InputError(paths[k] + ": shard " + std::to_string(b.cfg.shard_index) + " given twice");
        seen[b.cfg.shard_index] = true;
    }
    MergedRun m;
    m.cfg = a.cfg;
    m.cfg.shard_index = 0;
    m.cfg.shard_count = 1;
    m.scenario_name = a.scenario_name;
    if (a.cfg.strategy == "dfs") {
        for (std::uint64_t i = 0; i < a.cfg.shard_count; ++i)
            if (!seen[i])
                throw harness::InputError("merge: shard " + std::to_string(i) + " of " + std::to_string(a.cfg.shard_count) +
                                          " is missing (dfs subtrees are dealt to every shard)");
        for (std::size_t k = 0; k < shards.size(); ++k) {
            const auto& b = shards[k];
            if (b.cfg.preemption_bound != a.cfg.preemption_bound || b.cfg.reduction != a.cfg.reduction || b.cfg.split_depth != a.cfg.split_depth)
                throw harness::InputError(paths[k] + ": not a shard of the same run as " + paths.front());
        }
        merge_dfs(shards, m);
        return m;
    }
    // The first violation of the whole run is the lowest of the shards'.
    const ShardFile* winner = nullptr;
    for (const auto& b : shards)
        if (b.report.violating_execution && (!winner || *b.report.violating_execution < *winner->report.violating_execution)) winner = &b;
    const std::uint64_t last = winner ? *winner->report.violating_execution : a.cfg.executions - 1;
    std::vector<RunStats> runs;
    for (const auto& b : shards)
        for (const auto& r : b.report.runs)
            if (r.index <= last) runs.push_back(r);
    std::sort(runs.begin(), runs.end(), [](const RunStats& x, const RunStats& y) { return x.index < y.index; });
    for (std::uint64_t i = 0; i <= last && a.cfg.executions > 0; ++i)
        if (i >= runs.size() || runs[i].index != i)
            throw harness::InputError("merge: execution " + std::to_string(i) + " is in none of the shard reports (shard " +
                                      std::to_string(i % a.cfg.shard_count) + " of " + std::to_string(a.cfg.shard_count) + " missing?)");
    m.report.pct_actors = a.report.pct_actors;
    m.report.pct_steps = a.report.pct_steps;
    m.report.pct_guarantee = a.report.pct_guarantee;
    summarise(m.report, runs);
    if (winner) {
        m.report.violating_execution = winner->report.violating_execution;
        take_violation(m, *winner);
    }
    return m;
}

}  // namespace regsync::explore

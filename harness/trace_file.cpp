#include "harness/trace_file.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "harness/event_format.h"
#include "harness/input_error.h"
#include "model/catalogue.h"
#include "model/policy_registry.h"

namespace regsync::harness {

using nlohmann::ordered_json;

std::string outcome_string(const ExecutionResult& r) {
    switch (r.end) {
        case sched::RunEnd::StepLimit: return "step-limit";
        case sched::RunEnd::ActorError: return "actor-error: " + r.error;
        case sched::RunEnd::Pruned: return "pruned";
        case sched::RunEnd::Quiescent: break;
    }
    if (r.main_loop_finished) return "quiescent";
    std::string who;
    for (const auto& b : r.blocked) who += (who.empty() ? "" : ", ") + b;
    return "deadlock: main loop blocked (blocked: " + who + ")";
}

Trace make_trace(const Scenario& s, const std::string& policy, const std::string& kernel, const std::string& strategy,
                 std::uint64_t seed, std::uint64_t execution, const ExecutionResult& r) {
    Trace t;
    t.tool_version = REGSYNC_VERSION;
    t.scenario_name = s.name;
    t.scenario_source = s.source.empty() ? s.file : s.source;
    t.scenario_hash = s.content_hash;
    t.policy = policy;
    if (const auto* p = model::find_policy(policy); p && !p->plugin.empty()) {
        t.plugin = p->plugin;
        t.plugin_hash = p->plugin_hash;
    }
    t.kernel = kernel;
    t.strategy = strategy;
    t.seed = seed;
    t.execution = execution;
    t.decisions.assign(r.decisions.begin(), r.decisions.end());
    t.outcome = outcome_string(r);
    t.events = format_events(s.arch, r.actors, r.events);
    const auto& cat = model::catalogue(s.arch);
    for (const auto& v : r.verdict.violations)
        t.violations.push_back({std::string(properties::to_string(v.property)), v.vcpu,
                                v.reg >= 0 ? std::string(cat[static_cast<model::RegIndex>(v.reg)].name) : "",
                                v.bits, v.origin, v.step, v.message});
    return t;
}

std::string trace_to_json(const Trace& t) {
    ordered_json j;
    j["format"] = "regsync-trace";
    j["format_version"] = t.format_version;
    j["tool_version"] = t.tool_version;
    j["scenario"] = {{"name", t.scenario_name}, {"source", t.scenario_source}, {"content_hash", hex64(t.scenario_hash)}};
    j["policy"] = t.policy;
    if (!t.plugin.empty()) j["plugin"] = {{"path", t.plugin}, {"content_hash", hex64(t.plugin_hash)}};
    j["kernel"] = t.kernel;
    j["strategy"] = t.strategy;
    j["seed"] = t.seed;
    j["execution"] = t.execution;
    j["decisions"] = t.decisions;
    j["outcome"] = t.outcome;
    auto& vs = j["violations"] = ordered_json::array();
    for (const auto& v : t.violations)
        vs.push_back({{"property", v.property}, {"vcpu", v.vcpu}, {"reg", v.reg}, {"bits", v.bits},
                      {"origin_step", v.origin}, {"step", v.step}, {"message", v.message}});
    if (!t.fault.empty()) j["fault"] = {{"what", t.fault}, {"hook", t.fault_hook}};
    j["events"] = t.events;
    return j.dump(1) + "\n";
}

Trace trace_from_json(const std::string& text, const std::string& file) {
    ordered_json j;
    try {
        j = ordered_json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        // byte offset -> line number, so the error names a line like all others
        long line = 1;
        for (std::size_t i = 0; i < e.byte && i < text.size(); ++i) line += text[i] == '\n';
        throw InputError::at(file, line, "not valid JSON");
    }
    auto fail = [&](const std::string& what) { throw InputError::at(file, 1, what); };
    if (!j.is_object() || j.value("format", "") != "regsync-trace") fail("not a regsync trace (missing \"format\": \"regsync-trace\")");
    if (!j.contains("format_version") || !j["format_version"].is_number_integer()) fail("missing format_version");
    Trace t;
    t.format_version = j["format_version"].get<int>();
    if (t.format_version != kTraceFormatVersion)
        fail("trace format version " + std::to_string(t.format_version) + " is not supported by this regsync (wants " +
             std::to_string(kTraceFormatVersion) + ")");
    try {
        t.tool_version = j.at("tool_version").get<std::string>();
        t.scenario_name = j.at("scenario").at("name").get<std::string>();
        t.scenario_source = j.at("scenario").at("source").get<std::string>();
        t.scenario_hash = std::stoull(j.at("scenario").at("content_hash").get<std::string>(), nullptr, 16);
        t.policy = j.at("policy").get<std::string>();
        if (j.contains("plugin")) {
            t.plugin = j["plugin"].at("path").get<std::string>();
            t.plugin_hash = std::stoull(j["plugin"].at("content_hash").get<std::string>(), nullptr, 16);
        }
        if (j.contains("fault")) {
            t.fault = j["fault"].at("what").get<std::string>();
            t.fault_hook = j["fault"].at("hook").get<std::string>();
        }
        t.kernel = j.at("kernel").get<std::string>();
        t.strategy = j.at("strategy").get<std::string>();
        t.seed = j.at("seed").get<std::uint64_t>();
        t.execution = j.at("execution").get<std::uint64_t>();
        t.decisions = j.at("decisions").get<std::vector<std::uint16_t>>();
        t.outcome = j.at("outcome").get<std::string>();
        t.events = j.at("events").get<std::vector<std::string>>();
        for (const auto& v : j.at("violations"))
            t.violations.push_back({v.at("property").get<std::string>(), v.at("vcpu").get<int>(), v.at("reg").get<std::string>(),
                                    v.at("bits").get<std::uint64_t>(), v.at("origin_step").get<std::uint32_t>(),
                                    v.at("step").get<std::uint32_t>(), v.at("message").get<std::string>()});
    } catch (const nlohmann::json::exception& e) {
        fail(std::string("malformed trace field: ") + e.what());
    } catch (const std::exception&) {
        fail("malformed trace field: a content_hash");
    }
    if (t.tool_version != REGSYNC_VERSION)
        fail("trace written by regsync " + t.tool_version + ", this is " + REGSYNC_VERSION + ": replay would not be bit-exact");
    return t;
}

Trace read_trace(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path + ": cannot open trace file");
    std::stringstream ss;
    ss << in.rdbuf();
    Trace t = trace_from_json(ss.str(), path);
    check_trace_policy(t, path);
    return t;
}

void check_trace_policy(const Trace& t, const std::string& file) {
    if (t.plugin.empty()) return;
    const auto* p = model::find_policy(t.policy);
    if (!p || p->plugin.empty())
        throw InputError(file + ": policy '" + t.policy + "' came from plugin " + t.plugin + " (content hash " + hex64(t.plugin_hash) +
                         "); load it with --policy-plugin " + t.plugin);
    if (p->plugin_hash != t.plugin_hash)
        throw InputError(file + ": policy '" + t.policy + "' came from a build of " + t.plugin + " with content hash " + hex64(t.plugin_hash) +
                         "; the loaded " + p->plugin + " has " + hex64(p->plugin_hash) + ": a different build, so replay would not be bit-exact");
}

void write_trace(const std::string& path, const Trace& t) {
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    std::ofstream out(path, std::ios::binary);
    if (!out) throw InputError(path + ": cannot write trace file");
    out << trace_to_json(t);
}

}  // namespace regsync::harness

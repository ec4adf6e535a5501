#include "harness/trace_file.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "harness/event_format.h"
#include "harness/input_error.h"
#include "harness/input_file.h"
#include "harness/json_input.h"
#include "harness/limits.h"
#include "model/catalogue.h"
#include "model/policy_registry.h"
#include "sim/scheduler.h"

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

namespace {

// The line of each element of the array under the first "key" in a JSON
// text, so that an error can name the line of a bad element. Empty when the
// text has no such array.
std::vector<long> element_lines(const std::string& text, const std::string& key) {
    std::vector<long> lines;
    auto at = text.find("\"" + key + "\"");
    if (at == std::string::npos) return lines;
    at = text.find_first_not_of(" \t\r\n", at + key.size() + 2);
    if (at == std::string::npos || text[at] != ':') return lines;
    at = text.find_first_not_of(" \t\r\n", at + 1);
    if (at == std::string::npos || text[at] != '[') return lines;
    long line = line_at(text, at);
    int depth = 0;
    bool in_string = false, want_element = true;
    for (std::size_t i = at + 1; i < text.size(); ++i) {
        const char ch = text[i];
        if (ch == '\n') ++line;
        if (in_string) {
            if (ch == '\\') ++i;
            else if (ch == '"') in_string = false;
            continue;
        }
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') continue;
        if (depth == 0 && ch == ']') break;
        if (want_element) {
            lines.push_back(line);
            want_element = false;
        }
        if (ch == '"') in_string = true;
        else if (ch == '[' || ch == '{') ++depth;
        else if (ch == ']' || ch == '}') --depth;
        else if (ch == ',' && depth == 0) want_element = true;
    }
    return lines;
}

// Each decision is an actor index (sim::ActorId, below kNoActor); whether
// that actor exists and is enabled is for the replay to find.
std::vector<std::uint16_t> decisions_from_json(const ordered_json& d, const std::vector<long>& lines, const std::string& file) {
    const long key_line = lines.empty() ? 1 : lines.front();
    if (!d.is_array()) throw InputError::at(file, key_line, "\"decisions\" must be an array of actor indices");
    if (d.size() > limits::kDecisions)
        throw InputError::at(file, key_line, std::to_string(d.size()) + " decisions: the limit is " + std::to_string(limits::kDecisions) + " (one per step of max_steps)");
    std::vector<std::uint16_t> out;
    out.reserve(d.size());
    for (std::size_t k = 0; k < d.size(); ++k) {
        const auto& e = d[k];
        const long line = k < lines.size() ? lines[k] : key_line;
        try {
            const auto a = json_integer<std::uint16_t>(e, "decision " + std::to_string(k));
            if (a == sim::kNoActor) throw JsonFieldError("decision " + std::to_string(k) + " is " + std::to_string(a));
            out.push_back(a);
        } catch (const JsonFieldError& x) {
            throw InputError::at(file, line, std::string(x.what()) + ": not an actor index (0 to " + std::to_string(sim::kNoActor - 1) + ")");
        }
    }
    return out;
}

}  // namespace

Trace trace_from_json(const std::string& text, const std::string& file) {
    ordered_json j;
    try {
        j = ordered_json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        // byte offset -> line number, so the error names a line like all others
        throw InputError::at(file, line_at(text, e.byte == 0 ? 0 : e.byte - 1), "not valid JSON");
    } catch (const nlohmann::json::exception& e) {
        // A number too large for any JSON number type (out_of_range.406).
        throw InputError::at(file, 1, std::string("not valid JSON: ") + e.what());
    }
    // Field errors name the line of their key where the text has it once.
    const auto key_line = [&](const std::string& key) {
        const auto at = text.find("\"" + key + "\"");
        return at == std::string::npos ? 1L : line_at(text, at);
    };
    auto fail = [&](const std::string& what, const std::string& key = "") { throw InputError::at(file, key.empty() ? 1 : key_line(key), what); };
    if (!j.is_object() || !j.contains("format") || j["format"] != "regsync-trace") fail("not a regsync trace (missing \"format\": \"regsync-trace\")");
    if (!j.contains("format_version")) fail("missing format_version");
    Trace t;
    if (j["format_version"] != kTraceFormatVersion)
        fail("trace format version " + j["format_version"].dump().substr(0, 40) + " is not supported by this regsync (wants " +
                 std::to_string(kTraceFormatVersion) + ")",
             "format_version");
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
        t.seed = json_integer<std::uint64_t>(j.at("seed"), "seed");
        t.execution = json_integer<std::uint64_t>(j.at("execution"), "execution");
        t.file = file;
        t.policy_line = key_line("policy");
        t.kernel_line = key_line("kernel");
        t.decision_lines = element_lines(text, "decisions");
        t.decisions = decisions_from_json(j.at("decisions"), t.decision_lines, file);
        t.outcome = j.at("outcome").get<std::string>();
        t.events = j.at("events").get<std::vector<std::string>>();
        for (const auto& v : j.at("violations"))
            t.violations.push_back({v.at("property").get<std::string>(), json_integer<int>(v.at("vcpu"), "vcpu"), v.at("reg").get<std::string>(),
                                    json_integer<std::uint64_t>(v.at("bits"), "bits"), json_integer<std::uint32_t>(v.at("origin_step"), "origin_step"),
                                    json_integer<std::uint32_t>(v.at("step"), "step"), v.at("message").get<std::string>()});
    } catch (const InputError&) {
        throw;
    } catch (const nlohmann::json::exception& e) {
        fail(std::string("malformed trace field: ") + e.what());
    } catch (const JsonFieldError& e) {
        fail(std::string("malformed trace field: ") + e.what());
    } catch (const std::exception&) {
        fail("malformed trace field: a content_hash");
    }
    if (t.tool_version != REGSYNC_VERSION)
        fail("trace written by regsync " + t.tool_version + ", this is " + REGSYNC_VERSION + ": replay would not be bit-exact", "tool_version");
    // A plugin's policy is checked against the loaded plugins (check_trace_policy).
    if (t.plugin.empty() && !model::find_policy(t.policy)) fail("unknown policy '" + t.policy + "' (see 'regsync list')", "policy");
    return t;
}

Trace read_trace(const std::string& path) {
    const auto text = read_input_file(path, limits::kJsonBytes, "trace");
    if (!text) throw InputError(path + ": cannot open trace file");
    Trace t = trace_from_json(*text, path);
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

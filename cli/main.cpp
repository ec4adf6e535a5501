// regsync: the command-line front end. Exit codes: 0 all properties held,
// 1 a property was violated, 2 usage or input error, 3 replay diverged,
// 4 a sync layer loaded as a plugin crashed, hung or failed in a hook.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <iostream>

#include "cli/bench_cmd.h"
#include "cli/shard_spec.h"
#include "harness/input_file.h"
#include "harness/limits.h"
#include "cli/host_kernel.h"
#include "cli/mutants_cmd.h"
#include "cli/supervisor.h"
#include "explore/explain.h"
#include "explore/explore.h"
#include "explore/trace_diff.h"
#include "explore/view.h"
#include "fakekvm/kernel_axes.h"
#include "harness/kernel_profile.h"
#include "sched/dpor.h"
#include "explore/matrix.h"
#include "explore/mutants.h"
#include "explore/shard.h"
#include "explore/shrink.h"
#include "explore/shrink_scenario.h"
#include "explore/replay.h"
#include "fakekvm/kernel_config.h"
#include "harness/data_dirs.h"
#include "harness/input_error.h"
#include "harness/plugin_loader.h"
#include "harness/trace_file.h"
#include "model/policy_registry.h"
#include "realkvm/kvm_device.h"
#include "realkvm/kvm_replay.h"
#include "realkvm/probe.h"
#include "properties/property.h"

namespace {

using namespace regsync;

constexpr int kExitOk = 0;
constexpr int kExitViolation = 1;
constexpr int kExitUsage = 2;
constexpr int kExitDiverged = 3;

struct Options {
    std::string scenario_dir = harness::data_scenario_dir();
    // explore
    std::string scenario;
    explore::ExploreConfig cfg;
    std::string trace_out;
    std::string bound = "2";
    std::string shard;       // "I/N"
    std::string report_out;  // shard report
    std::vector<std::string> merge_files;
    std::vector<std::string> diff_files;
    std::string view_out;
    bool no_shrink = false;
    // replay / shrink
    std::string shrink_out;
    std::string trace;
    std::uint64_t tick_us = 0;  // kvm-replay
    bool quiet = false;
    bool events = false;  // replay, explore, shrink: print the full event log too
    bool keep_scenario = false;
    // matrix
    std::string catalogue = harness::data_catalogue_file();
    std::uint64_t matrix_seed = 1;
    std::uint64_t matrix_executions = 2000;
    std::string matrix_traces = "traces/generated/matrix";
    std::vector<std::string> matrix_scenarios;
    std::vector<std::string> matrix_kernels;
    std::string profile_out;
    std::string probe_arch = "x86";
    int matrix_jobs = 1;
    std::string matrix_strategy = "dfs";
    std::uint32_t matrix_bound = 2;
    std::uint64_t matrix_budget = 5000;
    std::string matrix_reduction = "lock-aware";
    bool matrix_state_cache = false;
    bool json = false;
    bool markdown = false;
    std::vector<std::string> matrix_policies;
    std::vector<std::string> plugins;  // --policy-plugin, on every command
};

int cmd_list(const Options& o) {
    std::printf("scenarios (%s):\n", o.scenario_dir.c_str());
    for (const auto& n : harness::bundled_scenarios(o.scenario_dir)) {
        try {
            auto s = harness::load_scenario(n, o.scenario_dir);
            std::printf("  %-22s %-9s %s\n", n.c_str(), std::string(model::to_string(s.arch)).c_str(), s.description.c_str());
        } catch (const harness::InputError& e) {
            std::printf("  %-22s (invalid: %s)\n", n.c_str(), e.what());
        }
    }
    std::printf("policies:\n");
    for (const auto& p : model::policies()) std::printf("  %-22s %s\n", std::string(p.name).c_str(), std::string(p.description).c_str());
    std::printf("kernel variants (built in; each is init-apic-events with one behaviour changed):\n");
    for (const auto& k : fakekvm::kernel_variants())
        std::printf("  %-22s %s\n", std::string(k.name).c_str(), std::string(k.description).c_str());
    // Profiles of real kernels: one alternative per axis (kernels/*.toml).
    std::printf("kernel profiles (%s; --kernel NAME or a FILE):\n", harness::data_kernel_dir().c_str());
    for (const auto& n : harness::bundled_kernels()) {
        try {
            const auto p = harness::resolve_kernel(n);
            std::string axes;
            for (const auto& [a, alt] : p.axes) axes += (axes.empty() ? "" : ", ") + a + "=" + alt;
            std::printf("  %-22s %s\n  %-22s (%s)\n", p.name.c_str(), p.description.c_str(), "", axes.c_str());
        } catch (const harness::InputError& e) {
            std::printf("  %-22s UNREADABLE: %s\n", n.c_str(), e.what());
        }
    }
    std::printf("kernel axes:\n");
    for (const auto& a : fakekvm::kernel_axes()) {
        std::printf("  %-22s %s\n", std::string(a.name).c_str(), std::string(a.description).c_str());
        for (const auto& alt : a.alternatives)
            std::printf("    %-20s %s\n", std::string(alt.name).c_str(), std::string(alt.source).c_str());
    }
    std::printf("strategies:\n  %-22s %s\n  %-22s %s\n", "random", "seeded random scheduling, one sub-seed per execution",
                "pct", "probabilistic concurrency testing (--depth D): random priorities, D-1 change points");
    std::printf("  %-22s %s\n", "dfs", "every schedule within --preemption-bound B (iterative context bounding)");
    std::printf("properties:\n");
    for (int i = 0; i < properties::kPropertyCount; ++i) {
        const auto p = static_cast<properties::Property>(i);
        std::printf("  %-22s %s\n", std::string(properties::to_string(p)).c_str(), std::string(properties::describe(p)).c_str());
    }
    return kExitOk;
}

std::string default_trace_path(const harness::Scenario& s, const explore::ExploreConfig& c) {
    return "traces/generated/" + s.name + "-" + c.policy + "-" + c.kernel + "-seed" + std::to_string(c.seed) + ".json";
}

// The first 10 violations of each property, then how many more; then the
// outcome when the execution did not end quiescent (LIVE, DEAD). The trace
// keeps them all.
void print_violations(const harness::Trace& t) {
    constexpr std::size_t kShown = 10;
    std::vector<std::pair<std::string, std::size_t>> count;
    for (const auto& v : t.violations) {
        auto it = std::find_if(count.begin(), count.end(), [&](const auto& c) { return c.first == v.property; });
        if (it == count.end()) it = count.insert(count.end(), {v.property, 0});
        if (++it->second <= kShown) std::printf("  %s: %s\n", v.property.c_str(), v.message.c_str());
    }
    for (const auto& [p, n] : count)
        if (n > kShown) std::printf("  ... and %zu more %s\n", n - kShown, p.c_str());
    if (t.outcome == "step-limit")
        std::printf("  step-limit: the execution reached max_steps without ending (a livelock, LIVE)\n");
    else if (t.outcome != "quiescent")
        std::printf("  %s\n", t.outcome.c_str());
}

// With --events, the whole event log.
void print_events(const Options& o, const harness::Trace& t) {
    if (o.events)
        for (const auto& line : t.events) std::printf("%s\n", line.c_str());
}

// After a violation: its causal slice (explore/explain.h).
void print_explanation(const Options& o, const harness::Trace& t, harness::Engine& engine) {
    if (o.quiet || (t.violations.empty() && t.outcome == "quiescent")) return;
    std::fputs(explore::explain_text(explore::explain_trace(t, o.scenario_dir, engine)).c_str(), stdout);
}

// The report of an explore run, as explore and merge print it.
void print_summary(const std::string& scenario, const explore::ExploreConfig& cfg, const explore::ExploreReport& rep) {
    std::printf("scenario %s, policy %s, kernel %s, strategy %s, seed %llu\n", scenario.c_str(), cfg.policy.c_str(), cfg.kernel.c_str(),
                cfg.strategy.c_str(), static_cast<unsigned long long>(cfg.seed));
    if (cfg.strategy == "pct")
        std::printf("pct: n = %zu actors, k = %llu steps, depth d = %d: each execution finds a depth-%d bug with p >= 1/(n*k^(d-1)) = %.3g\n",
                    rep.pct_actors, static_cast<unsigned long long>(rep.pct_steps), cfg.depth, cfg.depth, rep.pct_guarantee);
    std::printf("executions: %llu, scheduling decisions: %llu, steps: %llu, step-limited: %llu\n",
                static_cast<unsigned long long>(rep.executions), static_cast<unsigned long long>(rep.decisions),
                static_cast<unsigned long long>(rep.steps), static_cast<unsigned long long>(rep.step_limited));
    if (rep.executions > 0 && rep.step_limited == rep.executions)
        std::printf("every execution reached the scenario's max_steps: a livelock in every schedule, or a scenario longer than its max_steps (raise it)\n");
    std::printf("coverage: %llu distinct schedules, %llu distinct final states",
                static_cast<unsigned long long>(rep.distinct_schedules), static_cast<unsigned long long>(rep.distinct_final_states));
    if (cfg.strategy == "dfs")
        std::printf(", %llu distinct interleavings of conflicting steps", static_cast<unsigned long long>(rep.distinct_interleavings));
    std::printf("\n");
    const bool unbounded = cfg.preemption_bound == sched::kUnbounded;
    const std::string bound_text =
        unbounded ? std::string("any number of preemptions") : "at most " + std::to_string(cfg.preemption_bound) + " preemptions";
    if (cfg.strategy == "dfs" && !unbounded)
        std::printf("dfs: bounds 0..%u explored in turn (%llu executions in all passes)\n", rep.bound_reached,
                    static_cast<unsigned long long>(rep.executions_all_bounds));
    if (cfg.strategy == "dfs" && cfg.state_cache)
        std::printf("dfs: state cache: %llu states stored, %llu schedule prefixes cut at a state seen before (%s: README)\n",
                    static_cast<unsigned long long>(rep.dfs_states), static_cast<unsigned long long>(rep.dfs_revisits),
                    sched::stateful_dpor(explore::parse_reduction(cfg.reduction)) ? "states where every actor rests, with the summary of each cut subtree"
                                                                                  : "not a proof");
    // The subtree count is known once every subtree was reached.
    if (cfg.strategy == "dfs" && cfg.split_depth > 0 && rep.exhausted)
        std::printf("dfs: split at the first %u branching points into %llu subtrees (the same result for any -j and --shard)\n",
                    cfg.split_depth, static_cast<unsigned long long>(rep.dfs_tasks));
    else if (cfg.strategy == "dfs" && cfg.split_depth > 0)
        std::printf("dfs: split at the first %u branching points (the same result for any -j and --shard)\n", cfg.split_depth);
    if (rep.violating_execution) {
        std::printf("VIOLATION in execution %llu (%u decisions, %u preemptions, outcome %s)\n",
                    static_cast<unsigned long long>(*rep.violating_execution), rep.violation_decisions, rep.violation_preemptions,
                    rep.violation_outcome.c_str());
    } else if (cfg.strategy == "dfs" && rep.exhausted) {
        std::printf("explored all %llu schedules with %s (reduction %s, %llu redundant cut short): no violation\n",
                    static_cast<unsigned long long>(rep.executions), bound_text.c_str(), cfg.reduction.c_str(),
                    static_cast<unsigned long long>(rep.sleep_blocked));
    } else if (cfg.strategy == "dfs") {
        std::printf("no violation in %llu schedules; the bound holds more (raise --executions)\n", static_cast<unsigned long long>(rep.executions));
    } else {
        std::printf("no violation in %llu executions\n", static_cast<unsigned long long>(rep.executions));
    }
}

void write_shard(const Options& o, const harness::Scenario& s, const explore::ExploreReport& rep, const std::optional<harness::Trace>& t) {
    explore::ShardFile f;
    f.cfg = o.cfg;
    f.scenario_name = s.name;
    f.scenario_hash = s.content_hash;
    f.report = rep;
    f.violation = t;
    cli::write_report(o.report_out, explore::shard_to_json(f));
    std::printf("shard %llu/%llu report written to %s (merge with: regsync merge FILE...)\n",
                static_cast<unsigned long long>(o.cfg.shard_index), static_cast<unsigned long long>(o.cfg.shard_count), o.report_out.c_str());
}

// Exit 0: the real kernel's observations hold every property; 1: one is
// violated there; 2: no usable /dev/kvm, or a trace it cannot replay.
int cmd_kvm_replay(const Options& o) {
    const auto t = harness::read_trace(o.trace);
    const auto rep = realkvm::kvm_replay(t, o.trace, o.scenario_dir, std::chrono::microseconds(o.tick_us));
    if (!rep.unavailable.empty()) {
        std::fprintf(stderr, "regsync: kvm-replay: no real KVM here: %s\n", rep.unavailable.c_str());
        return kExitUsage;
    }
    std::fputs(rep.text.c_str(), stdout);
    if (!o.view_out.empty()) {
        harness::Engine engine;
        const auto html = realkvm::kvm_replay_html(rep, "kvm-replay " + t.scenario_name + " / " + t.policy + " / " + t.kernel, explore::view_css(),
                                                   explore::view_fragment(t, o.scenario_dir, engine));
        std::ofstream out(o.view_out, std::ios::binary);
        out << html;
        if (!out) throw harness::InputError(o.view_out + ": cannot write the page");
        std::printf("wrote %s: the fake and the real run side by side\n", o.view_out.c_str());
    }
    return rep.violated ? kExitViolation : kExitOk;
}

int cmd_merge(const Options& o) {
    std::vector<explore::ShardFile> shards;
    // A folder stands for the .json reports in it (a job array's output).
    std::vector<std::string> files;
    for (const auto& p : o.merge_files) {
        if (!std::filesystem::is_directory(p)) {
            files.push_back(p);
            continue;
        }
        std::vector<std::string> in;
        for (const auto& e : std::filesystem::directory_iterator(p))
            if (e.path().extension() == ".json") in.push_back(e.path().string());
        if (in.empty()) throw harness::InputError(p + ": a folder with no .json shard report in it");
        std::sort(in.begin(), in.end());
        files.insert(files.end(), in.begin(), in.end());
    }
    // The shards of a matrix run, or of an explore run.
    std::vector<std::string> texts;
    for (const auto& p : files) {
        auto text = harness::read_input_file(p, harness::limits::kJsonBytes, "shard report");
        if (!text) throw harness::InputError(p + ": cannot open shard report");
        texts.push_back(std::move(*text));
    }
    if (texts.front().find("\"regsync-matrix-shard\"") != std::string::npos) {
        if (o.json && o.markdown) throw harness::InputError("--json and --markdown are exclusive");
        harness::Engine engine;
        explore::MatrixConfig base;
        base.scenario_dir = o.scenario_dir;
        base.trace_dir = o.matrix_traces;
        const auto [rep, cfg] = explore::merge_matrix_shards(texts, files, base, explore::load_catalogue(o.catalogue, o.scenario_dir), engine);
        const std::string out = o.json ? explore::matrix_json(rep, cfg) : o.markdown ? explore::matrix_markdown(rep, cfg) : explore::matrix_text(rep, cfg);
        std::fwrite(out.data(), 1, out.size(), stdout);
        return rep.disagreements() == 0 ? kExitOk : kExitViolation;
    }
    if (texts.front().find("\"regsync-mutants-shard\"") != std::string::npos) {
        const auto rep = explore::merge_mutants_shards(texts, files);
        const std::string out = o.markdown ? explore::mutants_markdown(rep) : explore::mutants_text(rep);
        std::fwrite(out.data(), 1, out.size(), stdout);
        return rep.killed() == rep.applicable() ? kExitOk : kExitViolation;
    }
    for (std::size_t k = 0; k < files.size(); ++k) shards.push_back(explore::shard_from_json(texts[k], files[k]));
    const auto m = explore::merge_shards(shards, files);
    print_summary(m.scenario_name, m.cfg, m.report);
    if (!m.violation) return kExitOk;
    print_violations(*m.violation);
    return kExitViolation;
}

int cmd_explore(Options o) {
    if (o.bound == "unbounded") {
        o.cfg.preemption_bound = sched::kUnbounded;
    } else {
        try {
            std::size_t used = 0;
            const unsigned long b = std::stoul(o.bound, &used);
            if (used != o.bound.size() || b >= sched::kUnbounded) throw std::invalid_argument(o.bound);
            o.cfg.preemption_bound = static_cast<std::uint32_t>(b);
        } catch (const std::exception&) {
            throw harness::InputError("--preemption-bound: '" + o.bound + "' is neither a number nor 'unbounded'");
        }
    }
    if (o.cfg.strategy != "random" && o.cfg.strategy != "pct" && o.cfg.strategy != "dfs")
        throw harness::InputError("unknown strategy '" + o.cfg.strategy + "' (this build offers: random, pct, dfs)");
    const auto* policy_info = model::find_policy(o.cfg.policy);
    if (!policy_info) throw harness::InputError("unknown policy '" + o.cfg.policy + "' (see 'regsync list')");
    if (o.cfg.state_cache && !policy_info->plugin.empty())
        throw harness::InputError("--state-cache: policy '" + o.cfg.policy + "' keeps its registers in its own CPU struct, which the state hash cannot see");
    o.cfg.kernel = cli::resolve_host_kernel(o.cfg.kernel);
    const auto kernel_profile = harness::resolve_kernel(o.cfg.kernel);
    if (o.cfg.executions == 0) throw harness::InputError("--executions must be at least 1");
    const bool sharded = !o.shard.empty();
    if (sharded) {
        const auto spec = cli::resolve_shard(o.shard);
        if (o.report_out.empty()) throw harness::InputError("--shard needs --report-out FILE (the shard's part of the report)");
        o.report_out = cli::shard_path(o.report_out, spec);
        if (!o.trace_out.empty()) o.trace_out = cli::shard_path(o.trace_out, spec);
        o.cfg.shard_index = spec.index;
        o.cfg.shard_count = spec.count;
        o.cfg.shard_report = true;
    }
    const auto s = harness::load_scenario(o.scenario, o.scenario_dir);
    harness::Engine engine;
    // A progress line on a terminal only; it never reaches reports or traces.
    std::function<void(std::uint64_t)> progress;
    if (isatty(STDERR_FILENO))
        progress = [&](std::uint64_t done) {
            std::fprintf(stderr, "\r%s: %llu of %llu executions, no violation yet", s.name.c_str(),
                         static_cast<unsigned long long>(done), static_cast<unsigned long long>(o.cfg.executions));
        };
    const auto rep = explore::explore(s, o.cfg, engine, progress);
    if (progress) std::fputs("\r\033[K", stderr);
    print_summary(s.name, o.cfg, rep);
    if (!rep.violating_execution) {
        if (sharded) write_shard(o, s, rep, std::nullopt);
        return kExitOk;
    }
    harness::ExecutionResult found = rep.first_violation;
    if (!o.no_shrink && found.verdict.first() != nullptr) {
        const auto sh = explore::shrink(s, o.cfg.policy, kernel_profile.config, found.decisions,
                                        found.verdict.first()->property, engine);
        std::printf("shrunk in %d executions: %zu -> %zu decisions, %u -> %u preemptions\n", sh.runs, sh.decisions_before,
                    sh.decisions_after, sh.preemptions_before, sh.preemptions_after);
        found = sh.result;
    }
    const auto t = harness::make_trace(s, o.cfg.policy, o.cfg.kernel, o.cfg.strategy, o.cfg.seed, *rep.violating_execution, found);
    // A shard's trace is in its report; a file only where asked for (the
    // tasks of an array would all write the one default path).
    const std::string path = o.trace_out.empty() && !sharded ? default_trace_path(s, o.cfg) : o.trace_out;
    if (!path.empty()) harness::write_trace(path, t);
    if (sharded) write_shard(o, s, rep, t);
    print_violations(t);
    print_events(o, t);
    print_explanation(o, t, engine);
    std::string plugins;
    for (const auto& p : o.plugins) plugins += " --policy-plugin " + p;
    if (!path.empty()) std::printf("trace written to %s\nreplay with: regsync replay %s%s\n", path.c_str(), path.c_str(), plugins.c_str());
    // A shard that wrote its report has done its part: the verdict is
    // merge's. Exit 1 here would make mpirun abort the other ranks and Slurm
    // mark the task failed.
    return sharded ? kExitOk : kExitViolation;
}

int cmd_explain(const Options& o) {
    const auto t = harness::read_trace(o.trace);
    harness::Engine engine;
    const auto rep = explore::explain_trace(t, o.scenario_dir, engine);
    std::fputs((o.json ? explore::explain_json(rep) : explore::explain_text(rep)).c_str(), stdout);
    return rep.shown.empty() && rep.outcome == "quiescent" ? kExitOk : kExitViolation;
}

int cmd_view(const Options& o) {
    const auto t = harness::read_trace(o.trace);
    harness::Engine engine;
    const auto html = explore::view_html(t, o.scenario_dir, engine);
    std::ofstream out(o.view_out, std::ios::binary);
    out << html;
    if (!out) throw harness::InputError(o.view_out + ": cannot write the page");
    std::printf("wrote %s (%zu bytes)\n", o.view_out.c_str(), html.size());
    return kExitOk;
}

// Exit 0: the same events and verdict; 1: they differ.
int cmd_diff(const Options& o) {
    const auto a = harness::read_trace(o.diff_files.at(0));
    const auto b = harness::read_trace(o.diff_files.at(1));
    const auto d = explore::diff_traces(a, b);
    std::fputs(explore::diff_text(d, a, b).c_str(), stdout);
    return d.same ? kExitOk : kExitViolation;
}

int cmd_replay(const Options& o) {
    const auto t = harness::read_trace(o.trace);
    harness::Engine engine;
    const auto rep = explore::replay_trace(t, o.scenario_dir, engine);
    print_events(o, rep.replayed);
    std::printf("replayed %s: scenario %s, policy %s, kernel %s, %zu decisions, outcome %s\n", o.trace.c_str(),
                t.scenario_name.c_str(), t.policy.c_str(), t.kernel.c_str(), t.decisions.size(), rep.replayed.outcome.c_str());
    if (rep.diverged) {
        std::printf("DIVERGED: %s\n", rep.divergence.c_str());
        return kExitDiverged;
    }
    if (!rep.fault.empty()) {
        std::printf("reproduced the sync layer's fault in %s: %s\n", t.fault_hook.c_str(), rep.fault.c_str());
        return cli::kExitPluginFault;
    }
    if (rep.replayed.violations.empty() && rep.replayed.outcome == "quiescent") {
        std::printf("reproduced exactly: no violation\n");
        return kExitOk;
    }
    std::printf("reproduced exactly: VIOLATION\n");
    print_violations(rep.replayed);
    print_explanation(o, t, engine);
    return kExitViolation;
}

int cmd_shrink(const Options& o) {
    const auto t = harness::read_trace(o.trace);
    harness::Engine engine;
    const auto rep = explore::replay_trace(t, o.scenario_dir, engine);
    if (rep.diverged) {
        std::printf("the trace does not replay (%s): nothing to shrink\n", rep.divergence.c_str());
        return kExitDiverged;
    }
    if (t.violations.empty()) throw harness::InputError(o.trace + ": the trace violates no property: nothing to shrink");
    const auto target = *properties::property_from_string(t.violations.front().property);
    auto s = harness::load_scenario(t.scenario_source, o.scenario_dir);
    const auto kernel = harness::resolve_kernel(t.kernel).config;
    // 1. the decision list; 2. the scenario's operations and guest steps;
    // 3. the decision list again, on the smaller scenario.
    auto sh = explore::shrink(s, t.policy, kernel, std::vector<sim::ActorId>(t.decisions.begin(), t.decisions.end()), target, engine);
    const std::size_t decisions_before = sh.decisions_before;
    const std::uint32_t preemptions_before = sh.preemptions_before;
    int runs = sh.runs;
    if (!o.keep_scenario) {
        std::ifstream in(s.file);
        std::stringstream text;
        text << in.rdbuf();
        const auto red = explore::shrink_scenario(text.str(), s.file, t.policy, kernel, sh.result.decisions, target, engine);
        runs += red.runs;
        if (red.changed) {
            auto path = std::filesystem::path(o.shrink_out).replace_extension(".toml");
            std::ofstream(path) << red.text;
            s = harness::load_scenario(path.string(), o.scenario_dir);
            sh = explore::shrink(s, t.policy, kernel, red.decisions, target, engine);
            runs += sh.runs;
            std::printf("scenario reduced to %s: %d -> %d main-loop operations, %d -> %d guest steps (the rest nop)\n", path.c_str(),
                        red.main_ops_before, red.main_ops_after, red.guest_steps_before, red.guest_steps_after);
        }
    }
    const auto out = harness::make_trace(s, t.policy, t.kernel, t.strategy, t.seed, t.execution, sh.result);
    harness::write_trace(o.shrink_out, out);
    std::printf("shrunk %s (%s) in %d executions: %zu -> %zu decisions, %u -> %u preemptions\nwritten to %s\n", o.trace.c_str(),
                t.violations.front().property.c_str(), runs, decisions_before, sh.decisions_after, preemptions_before,
                sh.preemptions_after, o.shrink_out.c_str());
    print_events(o, out);
    print_explanation(o, out, engine);
    return kExitViolation;
}

// One minimised trace per catalogued bug, under the first configuration the
// catalogue names for it: traces/regressions/<bug>.json.
int cmd_regressions(const Options& o) {
    const auto cat = explore::load_catalogue(o.catalogue, o.scenario_dir);
    harness::Engine engine;
    int missing = 0;
    for (const auto& b : cat.bugs) {
        const std::string policy = b.representative_policy();
        const std::string kernel = b.representative_kernel();
        const auto s = harness::load_scenario(b.scenario, o.scenario_dir);
        const auto kcfg = harness::resolve_kernel(kernel).config;
        // Random executions first; exhaustive search with few preemptions
        // may find a shorter counterexample than shrinking a random one
        // reaches (or the only one: a schedule random search misses): keep
        // the shorter of the two.
        std::optional<explore::ShrinkResult> best;
        std::string strategy;
        std::uint64_t index = 0;
        for (std::uint64_t i = 0; i < o.matrix_executions; ++i) {
            sched::RandomDecisions d(explore::execution_seed(o.matrix_seed, i));
            auto r = engine.run(s, policy, kcfg, d);
            if (!explore::violates(r, b.property)) continue;
            best = explore::shrink(s, policy, kcfg, r.decisions, b.property, engine);
            strategy = "random";
            index = i;
            break;
        }
        explore::ExploreConfig dc;
        dc.policy = policy;
        dc.kernel = kernel;
        dc.strategy = "dfs";
        dc.preemption_bound = 3;
        dc.executions = 200000;
        const auto ex = explore::explore(s, dc, engine);
        if (ex.violating_execution && explore::violates(ex.first_violation, b.property)) {
            auto dsh = explore::shrink(s, policy, kcfg, ex.first_violation.decisions, b.property, engine);
            if (!best || dsh.decisions_after < best->decisions_after) {
                best = std::move(dsh);
                strategy = "dfs";
                index = *ex.violating_execution;
            }
        }
        const bool found = best.has_value();
        if (found) {
            const auto& sh = *best;
            const std::string path = o.matrix_traces + "/" + b.name + ".json";
            harness::write_trace(path, harness::make_trace(s, policy, kernel, strategy, o.matrix_seed, index, sh.result));
            std::printf("%-40s %s / %s / %s: %s execution %llu, %zu decisions, %u -> %u preemptions\n", b.name.c_str(), b.scenario.c_str(),
                        policy.c_str(), kernel.c_str(), strategy.c_str(), static_cast<unsigned long long>(index), sh.decisions_after,
                        sh.preemptions_before, sh.preemptions_after);
        }
        if (!found) {
            std::printf("%-40s NOT FOUND in %llu executions\n", b.name.c_str(), static_cast<unsigned long long>(o.matrix_executions));
            ++missing;
        }
    }
    return missing == 0 ? kExitOk : kExitViolation;
}

int cmd_matrix(const Options& o) {
    if (o.json && o.markdown) throw harness::InputError("--json and --markdown are exclusive");
    if (o.matrix_executions == 0) throw harness::InputError("--executions must be at least 1");
    const auto cat = explore::load_catalogue(o.catalogue, o.scenario_dir);
    if (o.matrix_jobs < 1) throw harness::InputError("-j must be at least 1");
    if (o.matrix_strategy != "dfs" && o.matrix_strategy != "random")
        throw harness::InputError("matrix: unknown strategy '" + o.matrix_strategy + "' (dfs, random)");
    if (o.matrix_budget == 0) throw harness::InputError("--budget must be at least 1");
    explore::MatrixConfig cfg;
    cfg.seed = o.matrix_seed;
    cfg.executions = o.matrix_executions;
    cfg.strategy = o.matrix_strategy;
    cfg.bound = o.matrix_bound;
    cfg.budget = o.matrix_budget;
    cfg.reduction = explore::check_cell_reduction(o.matrix_reduction);
    cfg.state_cache = explore::check_cell_state_cache(cfg.reduction, o.matrix_state_cache);
    cfg.scenario_dir = o.scenario_dir;
    cfg.trace_dir = o.matrix_traces;
    cfg.only_scenarios = o.matrix_scenarios;
    cfg.only_policies = o.matrix_policies;
    for (const auto& k : o.matrix_kernels) cfg.kernels.push_back(cli::resolve_host_kernel(k));
    // By default: the named real-kernel profiles, and the kernel this runs
    // on where /dev/kvm works.
    if (cfg.kernels.empty()) {
        for (const auto& k : harness::bundled_kernels()) cfg.kernels.push_back(k);
        // A kernel the probe cannot place is said, not a failed main job.
        if (realkvm::kvm_unavailable_reason().empty()) try {
                cfg.kernels.push_back(cli::resolve_host_kernel("host"));
            } catch (const harness::InputError& e) {
                std::fprintf(stderr, "regsync: matrix: no host column: %s\n", e.what());
            }
    }
    cfg.jobs = o.matrix_jobs;
    for (const auto& s : cfg.only_scenarios) harness::load_scenario(s, o.scenario_dir);  // unknown names are input errors
    harness::Engine engine;
    if (!o.shard.empty()) {
        const auto spec = cli::resolve_shard(o.shard);
        if (o.report_out.empty()) throw harness::InputError("--shard needs --report-out FILE (the shard's part of the matrix)");
        cfg.shard_index = spec.index;
        cfg.shard_count = spec.count;
        cli::write_report(cli::shard_path(o.report_out, spec), explore::run_matrix_shard(cfg, engine));
        std::printf("matrix shard %llu/%llu report written to %s (merge with: regsync merge FILE...)\n", static_cast<unsigned long long>(spec.index),
                    static_cast<unsigned long long>(spec.count), cli::shard_path(o.report_out, spec).c_str());
        return kExitOk;
    }
    const auto rep = explore::run_matrix(cfg, cat, engine);
    const std::string out = o.json ? explore::matrix_json(rep, cfg) : o.markdown ? explore::matrix_markdown(rep, cfg) : explore::matrix_text(rep, cfg);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return rep.disagreements() == 0 ? kExitOk : kExitViolation;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"regsync: deterministic simulation and model checking of VMM/KVM vCPU register sync"};
    app.require_subcommand(1);
    Options o;
    app.add_option("--scenario-dir", o.scenario_dir, "Where bundled scenarios live");

    auto* list = app.add_subcommand("list", "List scenarios, policies, kernel variants, strategies and properties");

    auto* ex = app.add_subcommand("explore", "Explore schedules of a scenario and report the first violation");
    ex->add_option("--scenario", o.scenario, "Bundled scenario NAME or a .toml FILE")->required();
    ex->add_option("--policy", o.cfg.policy, "Sync policy")->capture_default_str();
    ex->add_option("--kernel", o.cfg.kernel, "Kernel variant or profile: a NAME (regsync list) or a profile FILE")->capture_default_str();
    ex->add_option("--strategy", o.cfg.strategy, "Exploration strategy")->capture_default_str();
    ex->add_option("--seed", o.cfg.seed, "Seed of the run")->capture_default_str();
    ex->add_option("--executions", o.cfg.executions, "Number of executions")->capture_default_str();
    ex->add_option("--depth", o.cfg.depth, "pct: bug depth d (d-1 priority change points)")->capture_default_str();
    ex->add_option("-j,--jobs", o.cfg.jobs, "Threads; the result is the same as with one (random, pct; dfs with --split-depth)")->capture_default_str();
    ex->add_flag("--state-cache", o.cfg.state_cache,
                 "dfs with --reduction none or sleep: do not explore again from a state seen before (not a proof: see README); with dpor or lock-aware: stateful DPOR over the states where every actor rests (README)");
    ex->add_option("--split-depth", o.cfg.split_depth,
                   "dfs: expand the first D branching points in full and share the subtrees below them among -j threads and --shard processes "
                   "(the result is the same for any -j and --shard)")
        ->capture_default_str();
    ex->add_option("--preemption-bound", o.bound, "dfs: at most this many preemptions per schedule, or 'unbounded'")->capture_default_str();
    ex->add_option("--reduction", o.cfg.reduction,
                   "dfs: partial-order reduction: none, sleep (sleep sets), dpor (DPOR + sleep sets), bpor (DPOR without sleep sets, for bounds), lock-aware (dpor that does not reorder commuting critical sections of one mutex), lock-aware-bpor (the same without sleep sets, for bounds)")
        ->capture_default_str();
    ex->add_option("--trace-out", o.trace_out, "Where to write the trace of a violation (with --shard: %i, %n as in --report-out; by default only in the report)");
    ex->add_flag("--no-shrink", o.no_shrink, "Write the violating trace as found, without minimising it");
    ex->add_flag("--events", o.events, "After a violation, print the full event log before its explanation");
    ex->add_option("--shard", o.shard,
                   "Run only this shard's part (I/N), or auto / auto/N: I and N from the job engine (Slurm array, Open MPI, PMI, Kubernetes, "
                   "GitLab, Buildkite, CircleCI, GoogleTest)");
    ex->add_option("--report-out", o.report_out,
                   "With --shard: where to write this shard's report (%i: the shard index, %n: the count). The shard then exits 0; merge gives the verdict");

    auto* kp = app.add_subcommand("kvm-probe", "Run each modelled kernel behaviour on the fake and on /dev/kvm and compare (exit 2 without /dev/kvm)");
    kp->add_option("--profile-out", o.profile_out, "Decide every kernel axis from the real kernel's answers and write the profile here");
    kp->add_option("--arch", o.probe_arch, "The architecture to probe: x86 (default), ppc-booke, arm64 or riscv64 (only the host's own; exit 2 otherwise)");

    auto* mg = app.add_subcommand("merge", "Merge the shard reports of one sharded explore run into its report");
    mg->add_option("reports", o.merge_files, "Shard report files, or folders of them (of an explore run, or of a matrix run)")->required();
    mg->add_option("--catalogue", o.catalogue, "A matrix run: the catalogue of expected verdicts")->capture_default_str();
    mg->add_option("--trace-dir", o.matrix_traces, "A matrix run: where the shortest violating trace of each cell goes")->capture_default_str();
    mg->add_flag("--json", o.json, "A matrix run: JSON output");
    mg->add_flag("--markdown", o.markdown, "A matrix run: Markdown output");

    auto* kr = app.add_subcommand("kvm-replay", "Replay an x86 trace on the fake with every vCPU ioctl mirrored to /dev/kvm; compare, and judge the real run (exit 2 without /dev/kvm)");
    kr->add_option("trace", o.trace, "Trace file")->required();
    kr->add_option("--html", o.view_out, "Also draw the fake and the real run side by side in this HTML file");
    kr->add_option("--tick-us", o.tick_us, "Real microseconds per tick of the virtual clock (0: run as fast as it goes)")->capture_default_str();
    auto* rp = app.add_subcommand("replay", "Replay a trace bit-exactly (exit 3 if it diverges)");
    rp->add_option("trace", o.trace, "Trace file")->required();
    rp->add_flag("-q,--quiet", o.quiet, "Print neither the explanation nor the event log");
    rp->add_flag("--events", o.events, "Print the full event log");
    auto* vw = app.add_subcommand("view", "Draw a trace as one self-contained HTML page: a lane per actor, the violation's registers, INIT/SIPI arrows, the causal slice");
    vw->add_option("trace", o.trace, "Trace file")->required();
    vw->add_option("-o,--out", o.view_out, "The HTML file to write")->required();
    auto* df = app.add_subcommand("diff", "Where two traces of one scenario diverge, and what differs from there on (exit 1 if they differ)");
    df->add_option("traces", o.diff_files, "Trace A and trace B")->required()->expected(2);
    auto* xp = app.add_subcommand("explain", "Explain a trace's violation: the steps that make it, with their ioctls, values and hooks (at most 25 lines)");
    xp->add_option("trace", o.trace, "Trace file")->required();
    xp->add_flag("--json", o.json, "The same as data");

    auto* sk = app.add_subcommand("shrink", "Minimise a violating trace while it violates the same property (exit 1)");
    sk->add_option("trace", o.trace, "Trace file")->required();
    sk->add_option("-o,--out", o.shrink_out, "Where to write the shrunk trace (a reduced scenario goes next to it, .toml)")->required();
    sk->add_flag("--keep-scenario", o.keep_scenario, "Shrink the decision list only, not the scenario");
    sk->add_flag("--events", o.events, "Print the shrunk trace's full event log before its explanation");

    auto* rg = app.add_subcommand("regressions", "Write one shrunk trace per catalogued bug (traces/regressions/)");
    rg->add_option("--catalogue", o.catalogue, "Catalogue of bugs")->capture_default_str();
    rg->add_option("--out", o.matrix_traces, "Output folder")->required();
    rg->add_option("--seed", o.matrix_seed, "Seed")->capture_default_str();
    rg->add_option("--executions", o.matrix_executions, "Random executions tried per bug")->capture_default_str();

    auto* mx = app.add_subcommand("matrix", "Run every (policy, kernel, scenario) cell and compare with the bug catalogue (exit 1 on disagreement)");
    mx->add_option("--catalogue", o.catalogue, "Catalogue of expected verdicts")->capture_default_str();
    mx->add_option("--seed", o.matrix_seed, "Seed")->capture_default_str();
    mx->add_option("--strategy", o.matrix_strategy, "dfs (bounded exhaustive, random after an unfinished search) or random")->capture_default_str();
    mx->add_option("--preemption-bound", o.matrix_bound, "dfs: preemptions per schedule")->capture_default_str();
    mx->add_option("--budget", o.matrix_budget, "dfs: schedules per cell before falling back to random")->capture_default_str();
    mx->add_option("--reduction", o.matrix_reduction, "dfs: lock-aware (DPOR with bound-safe sleep sets that does not reorder critical sections of one mutex that commute), lock-aware-bpor (the same without sleep sets), dpor, or bpor")->capture_default_str();
    mx->add_flag("--state-cache", o.matrix_state_cache, "dfs with dpor or lock-aware: stateful DPOR in each cell (README; not for plugin policies, which search without it)");
    mx->add_option("--executions", o.matrix_executions, "Random executions per cell (strategy random, or after an unfinished dfs)")->capture_default_str();
    mx->add_option("--trace-dir", o.matrix_traces, "Where the shortest violating trace of each cell goes")->capture_default_str();
    mx->add_option("--scenario", o.matrix_scenarios, "Only these bundled scenarios (repeatable)");
    mx->add_option("--policy", o.matrix_policies, "Only these policies (repeatable; default every built-in and every loaded plugin policy)");
    mx->add_option("--kernel", o.matrix_kernels, "The columns: kernel variants or profiles, by NAME or FILE, or host (repeatable; default every profile in kernels/, and host where /dev/kvm works)");
    mx->add_option("-j,--jobs", o.matrix_jobs, "Threads (cells run in parallel; same output)")->capture_default_str();
    mx->add_flag("--json", o.json, "JSON output");
    mx->add_flag("--markdown", o.markdown, "Markdown output");
    mx->add_option("--shard", o.shard, "Run only this shard's cells (I/N, or auto / auto/N as for explore); needs --report-out");
    mx->add_option("--report-out", o.report_out, "With --shard: where to write this shard's report (%i, %n as for explore); merge prints the matrix");

    cli::BenchOptions bo;
    bo.spin_dir = REGSYNC_SPIN_DIR;
    auto* bn = app.add_subcommand("bench", "Measure throughput, time to first violation, reduction, and Spin on the same races (wall-clock figures)");
    bn->add_option("--executions", bo.executions, "Executions per throughput figure")->capture_default_str();
    bn->add_option("--spin-dir", bo.spin_dir, "Where the Promela models are")->capture_default_str();
    bn->add_flag("--quick", bo.quick, "Small budgets (a smoke run)");
    bn->add_option("--soak", bo.soak, "Instead: N executions across every bundled scenario, policy and kernel profile, with resident memory sampled (exit 1 if it grows)");
    bn->add_option("-j,--jobs", bo.jobs, "--soak: threads")->check(CLI::Range(1, 64));
    bn->add_option("--scaling", bo.scaling, "Instead: the INIT-storm family for 2..N vCPUs under each reduction (bench/init-storm), then dfs on -j 1 against -j 2")->check(CLI::Range(2, 5));
    bn->add_option("--time-limit", bo.time_limit, "--scaling: seconds per run before it is stopped")->capture_default_str()->check(CLI::Range(1.0, 86400.0));

    cli::MutantsOptions mo;
    auto* mu = app.add_subcommand("mutants", "Plant generic faults in every policy that holds somewhere and score the scenarios by the mutants they kill (exit 1 if one survives)");
    mu->add_option("--scenarios", mo.scenario_dir, "The scenario corpus: a folder of .toml files (default: the bundled scenarios)");
    mu->add_option("--scenario", mo.scenarios, "Only these scenarios of the corpus (repeatable)");
    mu->add_option("--policy", mo.policies, "Only these policies (repeatable)");
    mu->add_option("--kernel", mo.kernels, "Kernel variants or profiles to search under (repeatable; default init-apic-events and init-mp-state)");
    mu->add_option("--preemption-bound", mo.bound, "dfs: preemptions per schedule")->capture_default_str();
    mu->add_option("--budget", mo.budget, "dfs: schedules per cell before falling back to random")->capture_default_str();
    mu->add_option("--reduction", mo.reduction, "dfs: lock-aware, lock-aware-bpor, dpor, or bpor (as for matrix)")->capture_default_str();
    mu->add_option("--executions", mo.executions, "Random executions per cell after an unfinished dfs")->capture_default_str();
    mu->add_option("-j,--jobs", mo.jobs, "Threads (same output)")->capture_default_str();
    mu->add_flag("--markdown", mo.markdown, "Markdown table");
    mu->add_option("--shard", mo.shard, "Search only this shard's mutants (I/N, or auto / auto/N as for explore); needs --report-out");
    mu->add_option("--report-out", mo.report_out, "With --shard: where to write this shard's report (%i, %n as for explore); merge prints the score");

    // A sync layer of the user's, loaded as a plugin: the same option on every command.
    app.add_option("--policy-plugin", o.plugins, "Load sync layers from this shared object (repeatable; include/regsync/regsync.h)");
    for (auto* sub : app.get_subcommands([](CLI::App*) { return true; }))
        sub->add_option("--policy-plugin", o.plugins, "Load sync layers from this shared object (repeatable; include/regsync/regsync.h)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "regsync: %s (see --help)\n", e.what());
        return kExitUsage;
    }
    const auto dispatch = [&]() -> int {
    try {
        for (const auto& p : o.plugins) harness::load_plugin(p);
        if (list->parsed()) return cmd_list(o);
        if (ex->parsed()) return cmd_explore(o);
        if (rp->parsed()) return cmd_replay(o);
        if (xp->parsed()) return cmd_explain(o);
        if (df->parsed()) return cmd_diff(o);
        if (vw->parsed()) return cmd_view(o);
        if (mx->parsed()) return cmd_matrix(o);
        if (sk->parsed()) return cmd_shrink(o);
        if (rg->parsed()) return cmd_regressions(o);
        if (mg->parsed()) return cmd_merge(o);
        if (kp->parsed()) return cli::cmd_kvm_probe(o.profile_out, o.probe_arch);
        if (kr->parsed()) return cmd_kvm_replay(o);
        if (mu->parsed()) {
            if (mo.scenario_dir.empty()) mo.scenario_dir = o.scenario_dir;
            return cli::cmd_mutants(mo);
        }
        if (bn->parsed()) {
            bo.scenario_dir = o.scenario_dir;
            bo.catalogue = o.catalogue;
            return cli::cmd_bench(bo);
        }
    } catch (const harness::InputError& e) {
        std::fprintf(stderr, "regsync: %s\n", e.what());
        return kExitUsage;
    }
    return kExitUsage;
    };
    // The code under test runs in a supervised child (cli/supervisor.h).
    if (o.plugins.empty()) return dispatch();
    cli::SupervisorOptions sup;
    sup.plugins = o.plugins;
    return cli::run_supervised(sup, dispatch);
}

#include "cli/bench_cmd.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "explore/catalogue.h"
#include "explore/explore.h"
#include "harness/input_error.h"
#include "harness/scenario.h"
#include "model/policy_registry.h"
#include "sim/flight_recorder.h"
#include "harness/kernel_profile.h"

namespace regsync::cli {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Timed {
    explore::ExploreReport rep;
    double seconds = 0;
};

Timed timed_explore(const harness::Scenario& s, const explore::ExploreConfig& cfg) {
    harness::Engine engine;
    const auto t0 = Clock::now();
    Timed t;
    t.rep = explore::explore(s, cfg, engine);
    t.seconds = seconds_since(t0);
    return t;
}

long peak_rss_kib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

void throughput(const BenchOptions& o) {
    std::printf("## Throughput (random strategy, %llu executions, qemu-levels, init-apic-events; best of 3 runs)\n\n",
                static_cast<unsigned long long>(o.executions));
    std::printf("| scenario | vCPUs | exec/s -j1 | decisions/s -j1 | exec/s -j2 | -j2 / -j1 | bytes kept per execution |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    for (const char* name : {"init-sipi-halt", "tsc-runtime-writeback", "reset-during-run", "savevm-loadvm", "tsr-timer-race"}) {
        const auto s = harness::load_scenario(name, o.scenario_dir);
        explore::ExploreConfig cfg;
        cfg.executions = o.executions;
        cfg.policy = s.arch == model::Arch::X86 ? "qemu-levels" : s.arch == model::Arch::PpcBookE ? "ppc-onereg-tsr" : "qemu-today";
        // Best of three runs each, alternating: a shared machine's noise
        // only ever slows a run down.
        Timed one, two;
        for (int k = 0; k < 3; ++k) {
            cfg.jobs = 1;
            auto a = timed_explore(s, cfg);
            if (k == 0 || a.seconds < one.seconds) one = std::move(a);
            cfg.jobs = 2;
            auto b = timed_explore(s, cfg);
            if (k == 0 || b.seconds < two.seconds) two = std::move(b);
        }
        // What one execution leaves behind: its event log and decisions
        // (the fiber stacks are pooled and reused across executions).
        harness::Engine engine;
        sched::RandomDecisions d(1);
        const auto r = engine.run(s, cfg.policy, harness::resolve_kernel(cfg.kernel).config, d);
        const std::size_t bytes = r.events.size() * sizeof(sim::Event) + r.decisions.size() * sizeof(sim::ActorId);
        const double e1 = static_cast<double>(one.rep.executions) / one.seconds;
        const double e2 = static_cast<double>(two.rep.executions) / two.seconds;
        std::printf("| %s | %zu | %.0f | %.0f | %.0f | %.2f | %zu |\n", name, s.vcpus.size(), e1,
                    static_cast<double>(one.rep.decisions) / one.seconds, e2, e2 / e1, bytes);
    }
    std::printf("\npeak resident set of this process so far: %ld KiB\n\n", peak_rss_kib());
}

// A sync layer loaded as a plugin against the built-in it follows, on the
// same executions; with the supervisor's flight recorder (how the CLI runs
// plugins) and without it (REGSYNC_SUPERVISE=0, in one process).
void plugin_throughput(const BenchOptions& o) {
    std::printf("## Sync layers loaded as plugins (random strategy, %llu executions, -j1, init-apic-events; best of 3 runs)\n\n",
                static_cast<unsigned long long>(o.executions));
    std::vector<const model::PolicyInfo*> layers;
    for (const auto& p : model::policies())
        if (!p.plugin.empty() && !p.follows.empty()) layers.push_back(&p);
    if (layers.empty()) {
        std::printf("(none loaded: regsync bench --policy-plugin build/release/tests/c_sync_layer.so)\n\n");
        return;
    }
    sim::flight::Region* const region = sim::flight::installed_region();
    std::printf("| scenario | plugin policy | built-in it follows | recorder | exec/s plugin | exec/s built-in | plugin / built-in |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    for (const auto* layer : layers)
        for (const char* name : {"init-sipi-halt", "tsc-runtime-writeback", "savevm-loadvm"}) {
            const auto s = harness::load_scenario(name, o.scenario_dir);
            if (!model::policy_supports(layer->name, s.arch)) continue;
            for (const bool recorder : {true, false}) {
                if (recorder && !region) continue;
                sim::flight::install(recorder ? region : nullptr);
                auto rate = [&](const std::string& policy) {
                    explore::ExploreConfig cfg;
                    cfg.executions = o.executions;
                    cfg.policy = policy;
                    cfg.kernel = "init-apic-events";
                    double best = 0;
                    for (int k = 0; k < 3; ++k) {
                        const auto t = timed_explore(s, cfg);
                        best = std::max(best, static_cast<double>(t.rep.executions) / t.seconds);
                    }
                    return best;
                };
                const double a = rate(std::string(layer->name)), b = rate(layer->follows);
                std::printf("| %s | %s | %s | %s | %.0f | %.0f | %.2f |\n", name, std::string(layer->name).c_str(), layer->follows.c_str(),
                            recorder ? "on (supervised)" : "off", a, b, a / b);
            }
            sim::flight::install(region);
        }
    std::printf("\n");
}

void time_to_violation(const BenchOptions& o) {
    const auto cat = explore::load_catalogue(o.catalogue, o.scenario_dir);
    std::printf("## Time to first violation, per catalogued bug\n\n");
    std::printf("| bug | policy / kernel | random: exec, ms | pct d=3: exec, ms | dfs (lock-aware, bounds 0..3): exec, preemptions, ms |\n");
    std::printf("|---|---|---|---|---|\n");
    for (const auto& b : cat.bugs) {
        const auto s = harness::load_scenario(b.scenario, o.scenario_dir);
        explore::ExploreConfig cfg;
        cfg.policy = b.representative_policy();
        cfg.kernel = b.representative_kernel();
        cfg.executions = o.quick ? 2000 : 100000;
        std::string cells;
        for (const char* strategy : {"random", "pct", "dfs"}) {
            cfg.strategy = strategy;
            cfg.reduction = "lock-aware";
            cfg.preemption_bound = 3;
            const auto t = timed_explore(s, cfg);
            char buf[96];
            if (!t.rep.violating_execution) std::snprintf(buf, sizeof buf, " none in %llu, %.1f |", static_cast<unsigned long long>(t.rep.executions), t.seconds * 1e3);
            else if (cfg.strategy == "dfs")
                std::snprintf(buf, sizeof buf, " %llu, %u, %.1f |", static_cast<unsigned long long>(t.rep.executions_all_bounds),
                              t.rep.first_violation.preemptions, t.seconds * 1e3);
            else std::snprintf(buf, sizeof buf, " %llu, %.1f |", static_cast<unsigned long long>(*t.rep.violating_execution + 1), t.seconds * 1e3);
            cells += buf;
        }
        std::printf("| %s | %s / %s |%s\n", b.name.c_str(), cfg.policy.c_str(), cfg.kernel.c_str(), cells.c_str());
    }
    std::printf("\n");
}

void reduction(const BenchOptions& o, const std::string& bystanders) {
    std::printf("## dfs: schedules explored with and without partial-order reduction\n\n");
    std::printf("| scenario | policy / kernel | bound | none | sleep | dpor | bpor | verdict |\n|---|---|---|---|---|---|---|---|\n");
    struct Row {
        std::string scenario, policy, kernel;
        std::uint32_t bound;
    };
    std::vector<Row> rows = {{"init-sipi-halt", "qemu-levels", "init-apic-events", 2},
                             {"init-sipi-halt", "qemu-levels", "init-mp-state", 2},
                             {"tsr-timer-race", "ppc-onereg-tsr", "init-apic-events", 2},
                             {"tsc-runtime-writeback", "qemu-levels", "init-apic-events", 1}};
    if (!bystanders.empty() && !o.quick) rows.push_back({bystanders, "qemu-levels", "init-apic-events", 1});
    for (const auto& row : rows) {
        const auto s = harness::load_scenario(row.scenario, o.scenario_dir);
        std::string cells, verdict;
        for (const char* red : {"none", "sleep", "dpor", "bpor"}) {
            explore::ExploreConfig cfg;
            cfg.policy = row.policy;
            cfg.kernel = row.kernel;
            cfg.strategy = "dfs";
            cfg.reduction = red;
            cfg.preemption_bound = row.bound;
            cfg.executions = o.quick ? 20000 : 2000000;
            const auto t = timed_explore(s, cfg);
            char buf[96];
            std::snprintf(buf, sizeof buf, " %s%llu (%.2f s) |", t.rep.exhausted || t.rep.violating_execution ? "" : ">",
                          static_cast<unsigned long long>(t.rep.executions_all_bounds), t.seconds);
            cells += buf;
            verdict = t.rep.violating_execution ? "violation" : t.rep.exhausted ? "clean" : "budget";
        }
        std::printf("| %s | %s / %s | %u |%s %s |\n", s.name.c_str(), row.policy.c_str(), row.kernel.c_str(), row.bound, cells.c_str(),
                    verdict.c_str());
    }
    std::printf("\n(counts are executions over every pass of the iterative bound, 0..bound)\n\n");
}

// Runs a shell command; its exit status, or -1.
int run(const std::string& cmd) {
    const int rc = std::system(cmd.c_str());
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

void spin_comparison(const BenchOptions& o) {
    std::printf("## Spin against regsync on the same race\n\n");
    if (run("command -v spin >/dev/null 2>&1 && command -v gcc >/dev/null 2>&1") != 0) {
        std::printf("skipped: spin or gcc is not installed (apt-get install spin gcc)\n\n");
        return;
    }
    std::printf("| race | Spin: states stored, pan s, total s (spin -a + gcc + pan) | regsync dfs (dpor): schedules, s | regsync pct: executions, s | regsync dfs / Spin total |\n");
    std::printf("|---|---|---|---|---|\n");
    struct Race {
        const char* model;
        const char* scenario;
        const char* policy;
        const char* kernel;
    };
    const Race races[] = {{"tsr-timer-race.pml", "tsr-timer-race", "qemu-levels", "init-apic-events"},
                          {"init-hlt-race.pml", "init-sipi-halt", "qemu-levels", "init-mp-state"}};
    const auto dir = std::filesystem::temp_directory_path() / ("regsync-spin-" + std::to_string(getpid()));
    for (const auto& r : races) {
        std::filesystem::create_directories(dir);
        const std::string model = o.spin_dir + "/" + r.model;
        if (!std::filesystem::exists(model)) throw harness::InputError(model + ": Promela model not found (--spin-dir)");
        const auto t0 = Clock::now();
        const std::string cmd = "cd '" + dir.string() + "' && spin -a '" + model + "' >/dev/null && gcc -O2 -w -o pan pan.c && ./pan > pan.out 2>&1";
        run(cmd);
        const double total = seconds_since(t0);
        const auto t1 = Clock::now();
        run("cd '" + dir.string() + "' && ./pan > pan.out 2>&1");
        const double pan = seconds_since(t1);
        std::string states = "?";
        bool violated = false;
        if (FILE* f = std::fopen((dir / "pan.out").c_str(), "r")) {
            char line[512];
            while (std::fgets(line, sizeof line, f)) {
                std::string l(line);
                if (l.find("states, stored") != std::string::npos) states = l.substr(0, l.find("states")), states.erase(0, states.find_first_not_of(' '));
                if (l.find("assertion violated") != std::string::npos) violated = true;
            }
            std::fclose(f);
        }
        const auto s = harness::load_scenario(r.scenario, o.scenario_dir);
        explore::ExploreConfig cfg;
        cfg.policy = r.policy;
        cfg.kernel = r.kernel;
        cfg.strategy = "dfs";
        cfg.preemption_bound = 3;
        const auto dfs = timed_explore(s, cfg);
        cfg.strategy = "pct";
        cfg.executions = 100000;
        const auto pct = timed_explore(s, cfg);
        std::printf("| %s | %s%s, %.4f, %.3f | %llu, %.4f | %llu, %.4f | %.2f |\n", r.scenario, states.c_str(),
                    violated ? " (assertion violated)" : " (no violation!)", pan, total,
                    static_cast<unsigned long long>(dfs.rep.executions_all_bounds), dfs.seconds,
                    static_cast<unsigned long long>(pct.rep.violating_execution ? *pct.rep.violating_execution + 1 : 0), pct.seconds,
                    dfs.seconds / total);
        std::filesystem::remove_all(dir);
    }
    std::printf("\n");
}

// Resident and peak resident memory now (/proc/self/status), in KiB.
std::pair<long, long> rss_kib() {
    long rss = -1, hwm = -1;
    if (FILE* f = std::fopen("/proc/self/status", "r")) {
        char line[256];
        while (std::fgets(line, sizeof line, f)) {
            std::sscanf(line, "VmRSS: %ld", &rss);
            std::sscanf(line, "VmHWM: %ld", &hwm);
        }
        std::fclose(f);
    }
    return {rss, hwm};
}

// Every cell of the matrix (bundled scenario x policy for its arch x bundled
// kernel profile), execution i in cell i % cells with random seed i: the
// engine over a long run, with every policy and kernel behaviour in it.
int soak(const BenchOptions& o) {
    struct Cell {
        const harness::Scenario* scenario;
        std::string policy;
        const fakekvm::KernelConfig* kernel;
    };
    std::vector<harness::Scenario> scenarios;
    for (const auto& n : harness::bundled_scenarios(o.scenario_dir)) scenarios.push_back(harness::load_scenario(n, o.scenario_dir));
    std::vector<harness::KernelProfile> kernels;
    for (const auto& k : harness::bundled_kernels()) kernels.push_back(harness::resolve_kernel(k));
    std::vector<Cell> cells;
    for (const auto& s : scenarios)
        for (const auto& p : model::policies())
            if (model::policy_supports(p.name, s.arch))
                for (const auto& k : kernels) cells.push_back({&s, std::string(p.name), &k.config});
    if (cells.empty()) throw harness::InputError(o.scenario_dir + ": no bundled scenario to soak");
    std::printf("# regsync bench --soak %llu: %zu scenarios x their policies x %zu kernel profiles = %zu cells, -j %d\n\n",
                static_cast<unsigned long long>(o.soak), scenarios.size(), kernels.size(), cells.size(), o.jobs);
#if defined(REGSYNC_SANITIZE)
    std::printf("build: ASan and UBSan (a report would have ended the run)\n\n");
#else
    std::printf("build: no sanitizers (the README's figure comes from build/asan)\n\n");
#endif
    std::printf("| executions | seconds | exec/s | resident KiB | peak resident KiB |\n|---|---|---|---|---|\n");
    struct Tally {
        std::uint64_t quiescent = 0, violated = 0, step_limited = 0, errors = 0;
    };
    std::vector<Tally> tallies(static_cast<std::size_t>(o.jobs));
    const auto t0 = Clock::now();
    // Ten slices; every thread runs its share of a slice, then the sample.
    std::vector<std::pair<long, long>> samples;
    const std::uint64_t slices = 10;
    const auto at_start = rss_kib();  // the scenarios and profiles loaded, nothing run
    std::printf("| 0 | 0.0 | | %ld | %ld |\n", at_start.first, at_start.second);
    for (std::uint64_t slice = 0; slice < slices; ++slice) {
        const std::uint64_t begin = o.soak * slice / slices, end = o.soak * (slice + 1) / slices;
        std::vector<std::thread> threads;
        for (int j = 0; j < o.jobs; ++j)
            threads.emplace_back([&, j] {
                thread_local harness::Engine engine;
                auto& t = tallies[static_cast<std::size_t>(j)];
                for (std::uint64_t i = begin + static_cast<std::uint64_t>(j); i < end; i += static_cast<std::uint64_t>(o.jobs)) {
                    const auto& c = cells[i % cells.size()];
                    sched::RandomDecisions d(i);
                    const auto r = engine.run(*c.scenario, c.policy, *c.kernel, d);
                    if (r.end == sched::RunEnd::ActorError) ++t.errors;
                    else if (r.end == sched::RunEnd::StepLimit) ++t.step_limited;
                    if (!r.verdict.violations.empty()) ++t.violated;
                    else if (r.end == sched::RunEnd::Quiescent) ++t.quiescent;
                }
            });
        for (auto& th : threads) th.join();
        samples.push_back(rss_kib());
        const double secs = seconds_since(t0);
        std::printf("| %llu | %.1f | %.0f | %ld | %ld |\n", static_cast<unsigned long long>(end), secs, static_cast<double>(end) / secs,
                    samples.back().first, samples.back().second);
        std::fflush(stdout);
    }
    Tally all;
    for (const auto& t : tallies) {
        all.quiescent += t.quiescent;
        all.violated += t.violated;
        all.step_limited += t.step_limited;
        all.errors += t.errors;
    }
    std::printf("\noutcomes: %llu violated a property (the catalogued bugs), %llu ended quiescent and clean, %llu step-limited, %llu actor errors\n",
                static_cast<unsigned long long>(all.violated), static_cast<unsigned long long>(all.quiescent),
                static_cast<unsigned long long>(all.step_limited), static_cast<unsigned long long>(all.errors));
    // The first half fills the caches (and ASan's quarantine); after it,
    // resident memory must stay flat: within 5% or 8 MiB of the midpoint.
    const long mid = samples[slices / 2 - 1].first, last = samples.back().first;
    const bool grew = last > mid + std::max(mid / 20, 8192L);
    std::printf("resident memory at %llu executions: %ld KiB, at %llu: %ld KiB: %s\n", static_cast<unsigned long long>(o.soak / 2), mid,
                static_cast<unsigned long long>(o.soak), last, grew ? "GROWS with the number of executions" : "flat");
    return grew ? 1 : 0;
}

// A dfs run stopped at a wall-clock limit: its figures so far.
struct Limited {
    explore::ExploreReport rep;
    double seconds = 0;
    bool timed_out = false;
    std::uint64_t executions = 0;  // when it timed out: executions run
};

struct OutOfTime {
    std::uint64_t executions;
};

Limited limited_explore(const harness::Scenario& s, const explore::ExploreConfig& cfg, double limit) {
    harness::Engine engine;
    Limited l;
    const auto t0 = Clock::now();
    try {
        l.rep = explore::explore(s, cfg, engine, [&](std::uint64_t n) {
            if (seconds_since(t0) > limit) throw OutOfTime{n};
        });
        l.executions = l.rep.executions_all_bounds;
    } catch (const OutOfTime& t) {
        l.timed_out = true;
        l.executions = t.executions;
    }
    l.seconds = seconds_since(t0);
    return l;
}

std::string scaling_cell(const Limited& l, double limit) {
    char buf[160];
    if (l.timed_out)
        std::snprintf(buf, sizeof buf, " > %.0f s (%llu schedules run) |", limit, static_cast<unsigned long long>(l.executions));
    else
        std::snprintf(buf, sizeof buf, " %llu / %llu / %llu, %.2f s%s |", static_cast<unsigned long long>(l.rep.executions),
                      static_cast<unsigned long long>(l.rep.distinct_interleavings), static_cast<unsigned long long>(l.rep.sleep_blocked),
                      l.seconds, l.rep.violating_execution ? " (violation)" : "");
    return buf;
}

int scaling(const BenchOptions& o) {
    const auto dir = std::filesystem::path(o.spin_dir).parent_path() / "init-storm";
    std::printf("# regsync bench --scaling %d: the INIT-storm family (%s)\n\n", o.scaling, dir.string().c_str());
    std::printf("The BSP sends INIT and SIPI to each of N-1 APs; each AP runs two steps, then its program at the SIPI vector;\n"
                "the monitor reads AP 1. Policy qemu-today-init-fix, kernel debian-6.1 (no violation: every figure is a proof).\n"
                "A cell: schedules run / Mazurkiewicz traces among them / executions cut short as redundant (sleep-set blocked), seconds;\n"
                "every run alone on one core, stopped after %.0f s.\n\n", o.time_limit);
    struct Column {
        const char* reduction;
        std::uint32_t bound;
        bool state_cache;
    };
    const Column cols[] = {{"dpor", sched::kUnbounded, false}, {"lock-aware", sched::kUnbounded, false}, {"sleep", sched::kUnbounded, true},
                           {"dpor", sched::kUnbounded, true},  // stateful DPOR
                           {"lock-aware", sched::kUnbounded, true},  // stateful, with commuting critical sections
                           {"bpor", 2, false},  {"lock-aware-bpor", 2, false}, {"dpor", 2, false}, {"lock-aware", 2, false},
                           {"lock-aware", 2, true}};
    std::printf("| N |");
    for (const auto& c : cols)
        std::printf(" %s%s, %s |", c.reduction, c.state_cache ? " + state cache" : "", c.bound == sched::kUnbounded ? "unbounded" : "bound 2");
    std::printf("\n|---|");
    for (std::size_t i = 0; i < std::size(cols); ++i) std::printf("---|");
    std::printf("\n");
    for (int n = 2; n <= o.scaling; ++n) {
        const auto s = harness::load_scenario((dir / ("init-storm-" + std::to_string(n) + ".toml")).string(), o.scenario_dir);
        std::string cells;
        for (const auto& c : cols) {
            explore::ExploreConfig cfg;
            cfg.policy = "qemu-today-init-fix";
            cfg.strategy = "dfs";
            cfg.reduction = c.reduction;
            cfg.preemption_bound = c.bound;
            cfg.state_cache = c.state_cache;
            cfg.executions = ~0ULL;
            cells += scaling_cell(limited_explore(s, cfg, o.time_limit), o.time_limit);
        }
        std::printf("| %d |%s\n", n, cells.c_str());
        std::fflush(stdout);
    }
    std::printf("\n(bound 2: the last pass of the iterative bound, 0..2; its time includes the passes before it)\n\n");
    // Threads: the same dfs on one and two threads (identical reports), and
    // random executions for comparison.
    std::printf("## dfs on -j 1 and -j 2 (best of three runs each)\n\n| run | -j 1 | -j 2 | speed-up |\n|---|---|---|---|\n");
    const auto s2 = harness::load_scenario((dir / "init-storm-2.toml").string(), o.scenario_dir);
    struct Parallel {
        const char* name;
        const char* strategy;
        std::uint32_t split;
        std::uint64_t executions;
    };
    for (const auto& p : {Parallel{"init-storm-2, dfs dpor unbounded, --split-depth 16", "dfs", 16, ~0ULL},
                          Parallel{"init-storm-2, random, 200,000 executions", "random", 0, 200000}}) {
        double secs[2];
        std::uint64_t runs[2];
        for (int j = 1; j <= 2; ++j) {
            explore::ExploreConfig cfg;
            cfg.policy = "qemu-today-init-fix";
            cfg.strategy = p.strategy;
            cfg.reduction = "dpor";
            cfg.preemption_bound = sched::kUnbounded;
            cfg.split_depth = p.split;
            cfg.executions = p.executions;
            cfg.jobs = j;
            secs[j - 1] = 1e300;
            for (int k = 0; k < 3; ++k) {  // best of three: the machine may be shared
                const auto t = timed_explore(s2, cfg);
                secs[j - 1] = std::min(secs[j - 1], t.seconds);
                runs[j - 1] = t.rep.executions;
            }
        }
        std::printf("| %s | %llu executions, %.2f s | %llu, %.2f s | %.2fx |\n", p.name, static_cast<unsigned long long>(runs[0]), secs[0],
                    static_cast<unsigned long long>(runs[1]), secs[1], secs[0] / secs[1]);
        std::fflush(stdout);
    }
    std::printf("\n");
    return 0;
}

}  // namespace

int cmd_bench(const BenchOptions& o) {
    if (o.soak > 0) return soak(o);
    if (o.scaling > 0) return scaling(o);
    std::printf("# regsync bench%s\n\n", o.quick ? " (quick)" : "");
    BenchOptions q = o;
    if (o.quick) q.executions = std::min<std::uint64_t>(o.executions, 2000);
    throughput(q);
    plugin_throughput(q);
    time_to_violation(q);
    const auto bystanders = std::filesystem::path(o.spin_dir).parent_path().parent_path() / "tests/data/init-sipi-halt-bystanders.toml";
    reduction(q, std::filesystem::exists(bystanders) ? bystanders.string() : std::string{});
    spin_comparison(q);
    return 0;
}

}  // namespace regsync::cli

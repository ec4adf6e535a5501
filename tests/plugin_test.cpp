// Users' sync layers through the C ABI (include/regsync/regsync.h): the
// example layer in C against today's QEMU and its copy with one bug, judged
// as built-ins are; layers that crash, hang or fail, under the supervisor.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <thread>
#include <nlohmann/json.hpp>

#include "explore/catalogue.h"
#include "explore/cell_search.h"
#include "fakekvm/kernel_config.h"
#include "properties/property.h"
#include "explore/matrix.h"
#include "harness/event_format.h"
#include "harness/input_error.h"
#include "harness/plugin_loader.h"
#include "harness/trace_file.h"
#include "model/policy_registry.h"
#include "sched/decision_source.h"
#include "regsync/check.h"
#include "sim/flight_recorder.h"
#include "test_paths.h"

namespace regsync::testing {
namespace {

const std::string kLayer = REGSYNC_C_SYNC_LAYER;
const std::string kBuggy = REGSYNC_C_SYNC_LAYER_BUGGY;
std::string faulty(const std::string& f) { return std::string(REGSYNC_FAULTY_DIR) + "/faulty_" + f + ".so"; }

void load_examples() {
    harness::load_plugin(kLayer);
    harness::load_plugin(kBuggy);
}

// The bundled scenarios of one architecture.
std::vector<std::string> scenarios_of(model::Arch a) {
    std::vector<std::string> out;
    for (const auto& n : harness::bundled_scenarios(scenario_dir()))
        if (harness::load_scenario(n, scenario_dir()).arch == a) out.push_back(n);
    return out;
}
std::vector<std::string> x86_scenarios() { return scenarios_of(model::Arch::X86); }

TEST(Plugin, TheExampleRegistersAsAPolicyThatFollowsQemuToday) {
    load_examples();
    const auto* p = model::find_policy("c-qemu-today");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->plugin, kLayer);
    EXPECT_EQ(p->follows, "qemu-today");
    EXPECT_EQ(p->plugin_hash, harness::file_hash(kLayer));
    EXPECT_TRUE(model::policy_supports("c-qemu-today", model::Arch::X86));
    EXPECT_FALSE(model::policy_supports("c-qemu-today", model::Arch::PpcBookE));
    // Loading the same file again is a no-op, not a name clash.
    EXPECT_NO_THROW(harness::load_plugin(kLayer));
    auto r = run_cli("list --policy-plugin " + kLayer);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("c-qemu-today "), std::string::npos) << r.output;
}

// The same decisions give the same execution, event for event: the C layer
// issues today's QEMU's ioctls in its order with its payloads.
TEST(Plugin, TheExampleRunsEventForEventLikeQemuToday) {
    load_examples();
    harness::Engine engine;
    int compared = 0;
    for (const auto& name : x86_scenarios()) {
        const auto s = harness::load_scenario(name, scenario_dir());
        for (const char* k : {"debian-6.1", "init-apic-events", "pvm-6.18"}) {
            const auto kernel = harness::resolve_kernel(k).config;
            for (std::uint64_t seed = 1; seed <= 12; ++seed) {
                sched::RandomDecisions a(seed), b(seed);
                const auto ra = engine.run(s, "qemu-today", kernel, a);
                const auto rb = engine.run(s, "c-qemu-today", kernel, b);
                ASSERT_EQ(harness::format_events(s.arch, ra.actors, ra.events), harness::format_events(s.arch, rb.actors, rb.events))
                    << name << " / " << k << " / seed " << seed;
                EXPECT_EQ(ra.verdict.violations.size(), rb.verdict.violations.size());
                ++compared;
            }
        }
    }
    EXPECT_GT(compared, 200);
}

// The differential test: in every x86 cell of the matrix (every kernel
// profile, and the two built-in variants whose TSC writes are not matched)
// the example gets qemu-today's verdict, and the buggy copy agrees with the
// catalogue, which names its bug where it shows. One test per scenario, so
// that ctest runs them side by side.
class PluginDifferential : public ::testing::TestWithParam<std::string> {};

TEST_P(PluginDifferential, TheExampleGetsQemuTodaysVerdictAndTheBuggyCopyAgreesWithTheCatalogue) {
#ifdef REGSYNC_SANITIZE
    GTEST_SKIP() << "a matrix row of 3 policies is a release-build budget; the sanitizer build runs the event-for-event test";
#endif
    load_examples();
    explore::MatrixConfig cfg;
    cfg.scenario_dir = scenario_dir();
    cfg.only_scenarios = {GetParam()};
    cfg.only_policies = {"qemu-today", "c-qemu-today", "c-qemu-today-tsc-runtime"};
    for (const auto& k : harness::bundled_kernels()) cfg.kernels.push_back(k);
    cfg.kernels.push_back("init-apic-events");
    cfg.kernels.push_back("init-mp-state");
    const auto cat = explore::load_catalogue(REGSYNC_CATALOGUE, scenario_dir());
    harness::Engine engine;
    const auto rep = explore::run_matrix(cfg, cat, engine);
    const std::size_t nk = rep.kernels.size();
    ASSERT_EQ(rep.cells.size(), 3 * nk);
    for (std::size_t k = 0; k < nk; ++k) {
        const auto& builtin = rep.cells[k];
        const auto& layer = rep.cells[nk + k];
        const auto& buggy = rep.cells[2 * nk + k];
        ASSERT_EQ(builtin.policy, "qemu-today");
        ASSERT_EQ(layer.policy, "c-qemu-today");
        EXPECT_EQ(layer.found, builtin.found) << builtin.kernel;
        EXPECT_TRUE(layer.agrees) << builtin.kernel;
        EXPECT_TRUE(buggy.agrees) << builtin.kernel;
        const bool tsc = std::find(buggy.found.begin(), buggy.found.end(), "tsc-jump-back") != buggy.found.end();
        const bool named = std::find(buggy.bugs.begin(), buggy.bugs.end(), "c-sync-layer-tsc-at-runtime") != buggy.bugs.end();
        EXPECT_EQ(tsc, named) << builtin.kernel;
    }
}

INSTANTIATE_TEST_SUITE_P(X86, PluginDifferential, ::testing::ValuesIn(x86_scenarios()),
                         [](const auto& p) {
                             std::string n = p.param;
                             for (auto& c : n)
                                 if (c == '-') c = '_';
                             return n;
                         });

// The buggy copy is caught at all: in the two scenarios the catalogue names.
TEST(Plugin, TheBuggyCopyIsCaughtWhereTheCatalogueSays) {
    load_examples();
    const auto cat = explore::load_catalogue(REGSYNC_CATALOGUE, scenario_dir());
    const auto* b = [&]() -> const explore::BugEntry* {
        for (const auto& e : cat.plugin_bugs)
            if (e.name == "c-sync-layer-tsc-at-runtime") return &e;
        return nullptr;
    }();
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->property, properties::Property::TscJumpBack);
    harness::Engine engine;
    for (const auto& sc : b->scenarios) {
        const auto s = harness::load_scenario(sc, scenario_dir());
        const auto r = explore::search_cell(s, "c-qemu-today-tsc-runtime", *fakekvm::kernel_variant("init-apic-events"), {}, engine);
        EXPECT_TRUE(r.found.count("tsc-jump-back")) << sc;
        const auto fixed = explore::search_cell(s, "c-qemu-today", *fakekvm::kernel_variant("init-apic-events"), {}, engine);
        EXPECT_FALSE(fixed.found.count("tsc-jump-back")) << sc;
    }
}

TEST(Plugin, ATraceRecordsItsPluginAndReplayRefusesAnotherBuild) {
    const auto trace = temp_path("buggy.json");
    auto r = run_cli("explore --scenario tsc-runtime-writeback --policy c-qemu-today-tsc-runtime --kernel init-apic-events --strategy dfs "
                     "--executions 3000 --policy-plugin " + kBuggy + " --trace-out " + trace);
    ASSERT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("tsc-jump-back"), std::string::npos);
    EXPECT_NE(r.output.find("replay with: regsync replay " + trace + " --policy-plugin " + kBuggy), std::string::npos) << r.output;
    auto j = nlohmann::json::parse(read_file(trace));
    EXPECT_EQ(j["plugin"]["path"], kBuggy);
    EXPECT_EQ(j["plugin"]["content_hash"], harness::hex64(harness::file_hash(kBuggy)));
    r = run_cli("replay -q " + trace + " --policy-plugin " + kBuggy);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("reproduced exactly: VIOLATION"), std::string::npos) << r.output;
    // Without the plugin, or with another build of it: input errors.
    r = run_cli("replay -q " + trace);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.output.find("came from plugin " + kBuggy), std::string::npos) << r.output;
    j["plugin"]["content_hash"] = "0123456789abcdef";
    write_file(trace, j.dump(1));
    r = run_cli("replay -q " + trace + " --policy-plugin " + kBuggy);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.output.find("a different build"), std::string::npos) << r.output;
}

// Exit 2 and one line naming the file, before anything of a bad file runs.
TEST(Plugin, WrongAbiMissingEntryPointAndUnreadableFilesAreInputErrors) {
    auto one_line = [](const std::string& out) { return std::count(out.begin(), out.end(), '\n') == 1; };
    auto r = run_cli("list --policy-plugin " + faulty("abi"));
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(one_line(r.output)) << r.output;
    EXPECT_EQ(r.output, "regsync: " + faulty("abi") + ": plugin built for regsync ABI version 2, this regsync has ABI version 1; rebuild it against this regsync's regsync.h\n");
    const std::string libm = "/lib/x86_64-linux-gnu/libm.so.6";
    r = run_cli("explore --scenario init-sipi-halt --policy-plugin " + libm);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(one_line(r.output)) << r.output;
    EXPECT_NE(r.output.find(libm + ": not a regsync plugin: no symbol regsync_plugin_abi_version"), std::string::npos) << r.output;
    const auto bogus = temp_path("bogus.so");
    write_file(bogus, "not an ELF file\n");
    r = run_cli("matrix --policy-plugin " + bogus);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(one_line(r.output)) << r.output;
    // Refused before dlopen() runs anything of it.
    EXPECT_NE(r.output.find(bogus + ": not a regsync plugin: not an ELF file"), std::string::npos) << r.output;
    // An ELF object that is not a shared object: its header says so.
    const auto object = temp_path("object.so");
    auto header = read_file(REGSYNC_C_SYNC_LAYER).substr(0, 64);
    header[16] = 1;  // e_type ET_REL
    write_file(object, header);
    r = run_cli("list --policy-plugin " + object);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.output, "regsync: " + object + ": not a regsync plugin: an ELF file, but not a shared object (build it with -shared)\n");
    r = run_cli("list --policy-plugin " + temp_path("missing.so"));
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.output, "regsync: " + temp_path("missing.so") + ": cannot open plugin\n");
}

// The supervisor's report: what the layer did, in which hook, the trace of
// the execution so far and the command that replays it; exit 4.
struct FaultReport {
    int exit_code;
    std::string what, hook, trace, replay;
};

FaultReport run_fault(const std::string& args, const std::string& env = "") {
    const auto r = run_cli(args, env);
    FaultReport f{r.exit_code, "", "", "", ""};
    auto field = [&](const std::string& key) {
        const auto at = r.output.find(key);
        if (at == std::string::npos) return std::string();
        const auto end = r.output.find('\n', at);
        return r.output.substr(at + key.size(), end - at - key.size());
    };
    f.what = field("PLUGIN FAULT: ");
    f.hook = field(" in hook ");
    f.trace = field("  trace: ");
    f.replay = field("  replay with: ");
    return f;
}

TEST(Plugin, ASegfaultInAHookIsReportedAndItsTraceReplaysToTheSameCrash) {
    const std::string plugin = faulty("segv");
    const auto f = run_fault("explore --scenario init-sipi-halt --policy faulty-segv --executions 10 --policy-plugin " + plugin);
    ASSERT_EQ(f.exit_code, 4) << f.what;
    EXPECT_NE(f.what.find("policy 'faulty-segv' of " + plugin + " crashed with SIGSEGV"), std::string::npos) << f.what;
    EXPECT_EQ(f.hook, "pre_run (vcpu1)");
    ASSERT_FALSE(f.trace.empty());
    harness::load_plugin(plugin);  // read_trace checks the plugin's build
    const auto t = harness::read_trace(f.trace);
    EXPECT_EQ(t.outcome, "plugin-fault");
    EXPECT_EQ(t.fault_hook, "pre_run (vcpu1)");
    EXPECT_FALSE(t.decisions.empty());
    EXPECT_EQ(f.replay, "regsync replay " + f.trace + " --policy-plugin " + plugin);
    // Replaying it reaches the same crash, reported the same way.
    const auto again = run_fault(f.replay.substr(std::string("regsync ").size()));
    EXPECT_EQ(again.exit_code, 4);
    EXPECT_EQ(again.what, f.what);
    EXPECT_EQ(again.hook, f.hook);
    EXPECT_EQ(again.trace, f.trace);
}

TEST(Plugin, AHookErrorTheLayerDidNotHandleIsReportedWithTheIoctl) {
    const auto f = run_fault("explore --scenario init-sipi-halt --policy faulty-error --executions 10 --policy-plugin " + faulty("error"));
    ASSERT_EQ(f.exit_code, 4);
    EXPECT_NE(f.what.find("hook pre_run on vcpu1 returned -7 (Argument list too long); the last ioctl that failed: KVM_SET_MSRS on vcpu1 -> -7"),
              std::string::npos) << f.what;
    // Unsupervised (in one process), the replay ends in the same hook's error.
    const auto r = run_cli("replay -q " + f.trace + " --policy-plugin " + faulty("error"), "REGSYNC_SUPERVISE=0");
    EXPECT_EQ(r.exit_code, 4) << r.output;
    EXPECT_NE(r.output.find("reproduced the sync layer's fault in pre_run (vcpu1)"), std::string::npos) << r.output;
}

TEST(Plugin, AHookThatBlocksInTheOsIsNamedWithItsSystemCall) {
    const auto f = run_fault("explore --scenario init-sipi-halt --policy faulty-sleep --executions 10 --policy-plugin " + faulty("sleep"),
                             "REGSYNC_HOOK_TIMEOUT_MS=400");
    ASSERT_EQ(f.exit_code, 4);
    EXPECT_NE(f.what.find("did not return within 400 ms, blocked in the OS: system call clock_nanosleep"), std::string::npos) << f.what;
    EXPECT_EQ(f.hook, "pre_run (vcpu1)");
}

// regsync mutants on a plugin: the faults planted around the hooks and at
// the ioctl surface apply (the ones inside regsync's own get/put and dirty
// state cannot reach a layer that keeps its own), and the corpus kills them.
TEST(Plugin, MutantsPlantHookAndIoctlFaultsInAPluginLayer) {
    const auto r = run_cli("mutants --policy c-qemu-today --scenario loadvm-every-family --scenario reset-during-run "
                           "--scenario init-during-hypercall --policy-plugin " + kLayer);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    for (const char* m : {"c-qemu-today / skip-post-init: loadvm-every-family", "c-qemu-today / skip-post-reset: reset-during-run",
                          "c-qemu-today / never-reread: init-during-hypercall"})
        EXPECT_NE(r.output.find(m), std::string::npos) << m << "\n" << r.output;
    EXPECT_NE(r.output.find("mutation score: 3 killed of 3 mutants"), std::string::npos) << r.output;
}

// A layer linked into the test program itself, through the C++ entry point
// (regsync/check.h): one that keeps every register but never talks to the
// kernel. The check finds that the machine's state never reaches it.
namespace linked {
struct Cpu {
    std::vector<std::pair<std::string, std::uint64_t>> regs;
};
void* create(regsync_vcpu*) { return new Cpu; }
void destroy(void* c) { delete static_cast<Cpu*>(c); }
int no(void*) { return 0; }
int get(void* c, const char* n, std::uint64_t* v) {
    for (const auto& [name, x] : static_cast<Cpu*>(c)->regs)
        if (name == n) {
            *v = x;
            return 0;
        }
    *v = 0;
    return 0;
}
int set(void* c, const char* n, std::uint64_t v) {
    for (auto& [name, x] : static_cast<Cpu*>(c)->regs)
        if (name == n) {
            x = v;
            return 0;
        }
    static_cast<Cpu*>(c)->regs.emplace_back(n, v);
    return 0;
}
regsync_sync_layer layer() {
    regsync_sync_layer l{};
    l.abi_version = REGSYNC_ABI_VERSION;
    l.size = sizeof l;
    l.name = "linked-never-puts";
    l.description = "a linked layer that never syncs (tests/plugin_test.cpp)";
    l.arch = REGSYNC_ARCH_X86;
    l.create_vcpu = create;
    l.destroy_vcpu = destroy;
    l.needs_synchronize = no;
    l.synchronize_state = no;
    l.post_reset = no;
    l.post_init = no;
    l.pre_run = no;
    l.get_register = get;
    l.set_register = set;
    return l;
}
}  // namespace linked

TEST(CheckApi, ALinkedLayerIsCheckedAndTheCheckFindsWhatItDropped) {
    static const regsync_sync_layer l = linked::layer();
    if (!model::find_policy(l.name)) regsync::register_sync_layer(l);
    EXPECT_THROW(regsync::register_sync_layer(l), std::runtime_error);  // the name is taken
    regsync::CheckOptions o;
    o.scenarios = {"reset-every-family"};
    o.kernels = {"debian-6.1"};
    o.budget = 200;
    o.executions = 50;
    const auto bad = regsync::check_sync_layer(l.name, o);
    EXPECT_FALSE(bad.held);
    ASSERT_EQ(bad.cells.size(), 1u);
    EXPECT_NE(std::find(bad.cells[0].violated.begin(), bad.cells[0].violated.end(), "lost-userspace-write"), bad.cells[0].violated.end())
        << bad.report;
    EXPECT_NE(bad.report.find("reset-every-family / debian-6.1: "), std::string::npos) << bad.report;
    // The same check of the built-in it imitates badly holds there.
    EXPECT_TRUE(regsync::check_sync_layer("qemu-today", o).held);
    EXPECT_THROW(regsync::check_sync_layer("no-such-layer", o), std::runtime_error);
    regsync_sync_layer broken = l;
    broken.name = "linked-broken";
    broken.pre_run = nullptr;
    try {
        regsync::register_sync_layer(broken);
        FAIL() << "took a layer without pre_run";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()), "linked layer 'linked-broken': layer 'linked-broken' has no pre_run hook");
    }
}

// Explorers start threads per run (bench runs dozens in one process): a
// thread's flight-recorder slot is given back when it exits.
TEST(FlightRecorder, SlotsOfFinishedThreadsAreReused) {
    auto region = std::make_unique<sim::flight::Region>();
    sim::flight::install(region.get());
    for (int i = 0; i < 3 * static_cast<int>(sim::flight::kSlots); ++i) {
        sim::flight::Slot* got = nullptr;
        std::thread([&] {
            got = sim::flight::slot();
            sim::flight::begin_execution("s", "s", 1, "p", "", "k");
            sim::flight::record_decision(1);
        }).join();
        ASSERT_NE(got, nullptr) << "thread " << i;
        EXPECT_EQ(got->state.load(), static_cast<std::uint32_t>(sim::flight::SlotState::Idle));
    }
    EXPECT_EQ(region->claimed.load(), 1u);
    sim::flight::install(nullptr);
}

}  // namespace
}  // namespace regsync::testing

namespace regsync::testing {
namespace {

const std::string kRiscv = REGSYNC_C_SYNC_LAYER_RISCV64;
const std::string kRiscvBuggy = REGSYNC_C_SYNC_LAYER_RISCV64_BUGGY;

std::vector<std::string> riscv_scenarios() { return scenarios_of(model::Arch::Riscv64); }

// The riscv64 counterpart of the example, loaded and run the same way: on
// the same decisions it issues today's QEMU riscv64 ioctls, event for
// event, and its copy with QEMU's old KVM_RISCV_SET_TIMER runs like the
// built-in qemu-riscv-set-timer-bug.
TEST(PluginRiscv64, TheExampleRunsEventForEventLikeQemuTodayAndItsBuggyCopyLikeTheOldQemu) {
    harness::load_plugin(kRiscv);
    harness::load_plugin(kRiscvBuggy);
    EXPECT_TRUE(model::policy_supports("c-qemu-today-riscv64", model::Arch::Riscv64));
    EXPECT_FALSE(model::policy_supports("c-qemu-today-riscv64", model::Arch::X86));
    harness::Engine engine;
    int compared = 0;
    for (const auto& name : riscv_scenarios()) {
        const auto s = harness::load_scenario(name, scenario_dir());
        for (const char* k : {"debian-6.1", "riscv-hsm-reset-at-one-reg"}) {
            const auto kernel = harness::resolve_kernel(k).config;
            for (const auto& [builtin, layer] : {std::pair{"qemu-today", "c-qemu-today-riscv64"}, std::pair{"qemu-riscv-set-timer-bug", "c-qemu-riscv-set-timer-bug"}})
                for (std::uint64_t seed = 1; seed <= 8; ++seed) {
                    sched::RandomDecisions a(seed), b(seed);
                    const auto ra = engine.run(s, builtin, kernel, a);
                    const auto rb = engine.run(s, layer, kernel, b);
                    ASSERT_EQ(harness::format_events(s.arch, ra.actors, ra.events), harness::format_events(s.arch, rb.actors, rb.events))
                        << name << " / " << k << " / " << layer << " / seed " << seed;
                    EXPECT_EQ(ra.verdict.violations.size(), rb.verdict.violations.size());
                    ++compared;
                }
        }
    }
    EXPECT_GE(compared, 5 * 2 * 2 * 8);
}

// Through `follows`, the matrix expects each layer to show its built-in's
// catalogue verdicts: in every riscv64 cell they agree.
TEST(PluginRiscv64, TheMatrixExpectsTheBuiltInsVerdictsAndTheLayersShowThem) {
#ifdef REGSYNC_SANITIZE
    GTEST_SKIP() << "a matrix of the riscv64 scenarios is a release-build budget; the sanitizer build runs the event-for-event test";
#endif
    harness::load_plugin(kRiscv);
    harness::load_plugin(kRiscvBuggy);
    explore::MatrixConfig cfg;
    cfg.scenario_dir = scenario_dir();
    cfg.only_scenarios = riscv_scenarios();
    cfg.only_policies = {"c-qemu-today-riscv64", "c-qemu-riscv-set-timer-bug"};
    for (const auto& k : harness::bundled_kernels()) cfg.kernels.push_back(k);
    cfg.kernels.push_back("riscv-hsm-reset-at-one-reg");
    const auto cat = explore::load_catalogue(REGSYNC_CATALOGUE, scenario_dir());
    harness::Engine engine;
    const auto rep = explore::run_matrix(cfg, cat, engine);
    int violated = 0;
    for (const auto& c : rep.cells) {
        EXPECT_TRUE(c.agrees) << c.scenario << " / " << c.policy << " / " << c.kernel;
        violated += c.violating > 0;
    }
    EXPECT_GT(violated, 0);
}

}  // namespace
}  // namespace regsync::testing

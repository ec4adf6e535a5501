// Property-based tests (RapidCheck): generated guest programs and generated
// main-loop operation sequences (rc::state commands with preconditions), each
// run under random schedules. A failure is shrunk to the smallest program,
// operation sequence and schedule seed; RapidCheck prints how to reproduce it.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <linux/kvm.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness/kernel_profile.h"
#include "explore/explore.h"
#include "explore/replay.h"
#include "harness/execution.h"
#include "harness/trace_file.h"
#include "harness/scenario.h"
#include "model/catalogue.h"

namespace regsync::fakekvm {
// How RapidCheck prints a guest step in a counterexample.
inline void showValue(const GuestStep& s, std::ostream& os) { os << to_string(s); }
}  // namespace regsync::fakekvm

namespace regsync::testing {
namespace {

using fakekvm::GuestOp;
using fakekvm::GuestStep;

rc::Gen<GuestStep> guest_step() {
    const auto& cat = model::catalogue(model::Arch::X86);
    return rc::gen::oneOf(
        rc::gen::just(GuestStep{GuestOp::Nop}), rc::gen::just(GuestStep{GuestOp::Rdtsc}), rc::gen::just(GuestStep{GuestOp::Hlt}),
        rc::gen::map(rc::gen::pair(rc::gen::element<std::string>("rax", "rbx", "rcx", "r8"), rc::gen::inRange<std::uint64_t>(1, 100)),
                     [&cat](const std::pair<std::string, std::uint64_t>& p) { return GuestStep{GuestOp::Write, *cat.find(p.first), p.second}; }),
        rc::gen::map(rc::gen::inRange<std::uint64_t>(1, 5), [](std::uint64_t v) { return GuestStep{GuestOp::Io, -1, v, -1, 0x80}; }));
}

// A two-vCPU x86 machine whose guests run generated code.
harness::Scenario machine(const std::vector<GuestStep>& bsp, const std::vector<GuestStep>& ap) {
    harness::Scenario s;
    s.name = "generated";
    s.file = "generated";
    s.arch = model::Arch::X86;
    s.clock_ticks = 3;
    for (int i = 0; i < 2; ++i) {
        harness::VcpuSpec v;
        v.bsp = i == 0;
        v.mp_state = KVM_MP_STATE_RUNNABLE;
        v.image.push_back({0xfffffff0, i == 0 ? bsp : ap});
        s.vcpus.push_back(v);
    }
    return s;
}

bool holds(const harness::ExecutionResult& r) { return r.verdict.ok() && r.end == sched::RunEnd::Quiescent && r.main_loop_finished; }

// Without main-loop operations nothing is ever written back at runtime:
// whatever the guests do and however they interleave, every property holds.
RC_GTEST_PROP(Properties, GuestCodeAloneNeverViolatesAnything, ()) {
    const auto bsp = *rc::gen::container<std::vector<GuestStep>>(*rc::gen::inRange(1, 8), guest_step());
    const auto ap = *rc::gen::container<std::vector<GuestStep>>(*rc::gen::inRange(1, 8), guest_step());
    const auto seed = *rc::gen::inRange<std::uint64_t>(0, 1u << 20);
    const auto policy = *rc::gen::element<std::string>("qemu-levels", "accessors", "qemu-today");
    harness::Engine engine;
    sched::RandomDecisions d(seed);
    const auto r = engine.run(machine(bsp, ap), policy, *fakekvm::kernel_variant("init-apic-events"), d);
    RC_ASSERT(holds(r));
}

// ---------------------------------------------------------- rc::state

struct Model {
    int snapshots = 0;
};

struct Sut {
    harness::Scenario scenario;
    std::string policy;
    harness::Engine engine;
};

using Command = rc::state::Command<Model, Sut>;

// Each command appends a main-loop operation, then runs the scenario so far
// under a few schedules: the shrunk counterexample is the shortest prefix.
struct MainOpCommand : Command {
    harness::MainOp op;
    std::uint64_t seed = *rc::gen::inRange<std::uint64_t>(0, 1u << 20);
    void run(const Model&, Sut& sut) const override {
        sut.scenario.main.push_back(op);
        for (std::uint64_t k = 0; k < 4; ++k) {
            sched::RandomDecisions d(explore::execution_seed(seed, k));
            const auto r = sut.engine.run(sut.scenario, sut.policy, *fakekvm::kernel_variant("init-apic-events"), d);
            RC_ASSERT(holds(r));
        }
    }
};

struct MonitorRead : MainOpCommand {
    MonitorRead() {
        op.kind = harness::MainOpKind::MonitorRead;
        op.vcpu = *rc::gen::inRange(0, 2);
        op.reg = *model::catalogue(model::Arch::X86).find("rip");
    }
    void show(std::ostream& os) const override { os << "monitor-read vcpu" << op.vcpu << " rip (seed " << seed << ")"; }
};

struct MonitorWrite : MainOpCommand {
    MonitorWrite() {
        op.kind = harness::MainOpKind::MonitorWrite;
        op.vcpu = *rc::gen::inRange(0, 2);
        op.reg = *model::catalogue(model::Arch::X86).find(*rc::gen::element<std::string>("rax", "rbx", "rcx"));
        op.value = *rc::gen::inRange<std::uint64_t>(100, 200);
    }
    void show(std::ostream& os) const override { os << "monitor-write vcpu" << op.vcpu << " reg" << op.reg << " = " << op.value << " (seed " << seed << ")"; }
};

struct SystemReset : MainOpCommand {
    SystemReset() { op.kind = harness::MainOpKind::SystemReset; }
    void show(std::ostream& os) const override { os << "system-reset (seed " << seed << ")"; }
};

struct Savevm : MainOpCommand {
    Savevm() {
        op.kind = harness::MainOpKind::Savevm;
        op.snapshot = "s";
    }
    void apply(Model& m) const override { ++m.snapshots; }
    void show(std::ostream& os) const override { os << "savevm (seed " << seed << ")"; }
};

struct Loadvm : MainOpCommand {
    Loadvm() {
        op.kind = harness::MainOpKind::Loadvm;
        op.snapshot = "s";
    }
    void checkPreconditions(const Model& m) const override { RC_PRE(m.snapshots > 0); }
    void show(std::ostream& os) const override { os << "loadvm (seed " << seed << ")"; }
};

// Sequences of monitor reads and writes of RUNTIME registers, resets,
// savevm and loadvm over generated guest code: policies that keep to the
// level rules lose nothing.
RC_GTEST_PROP(Properties, MainLoopOperationSequencesLoseNothing, ()) {
    const auto policy = *rc::gen::element<std::string>("qemu-levels", "accessors", "qemu-today");
    const auto bsp = *rc::gen::container<std::vector<GuestStep>>(*rc::gen::inRange(1, 6), guest_step());
    const auto ap = *rc::gen::container<std::vector<GuestStep>>(*rc::gen::inRange(1, 6), guest_step());
    Sut sut{machine(bsp, ap), policy, {}};
    rc::state::check(Model{}, sut,
                     rc::state::gen::execOneOfWithArgs<MonitorRead, MonitorWrite, SystemReset, Savevm, Loadvm>());
}

// ------------------------------------- generated INIT/SIPI/timer scenarios

// A generated scenario is TOML text, so that a failure leaves a scenario file
// and a trace that `regsync replay` accepts.
std::string init_sipi_scenario(const std::vector<std::string>& bsp, const std::vector<std::string>& ap, int ticks,
                               const std::vector<std::string>& main_ops) {
    std::ostringstream os;
    const auto list = [&](const std::vector<std::string>& code) {
        std::string out;
        for (const auto& c : code) out += (out.empty() ? "\"" : ", \"") + c + "\"";
        return out;
    };
    os << "name = \"generated-init-sipi\"\ndescription = \"generated by property_test\"\narch = \"x86\"\n";
    if (ticks > 0) os << "[clock]\nticks = " << ticks << "\n";
    os << "[[vcpu]]\nbsp = true\ncode = [" << list(bsp) << "]\n";
    os << "[[vcpu]]\ncode = [" << list(ap) << "]\n  [[vcpu.program]]\n  entry = 0x10000\n  code = [\"io 0x80 0x99\"]\n";
    for (const auto& m : main_ops) os << "[[main]]\n" << m << "\n";
    return os.str();
}

rc::Gen<std::string> plain_step() {
    return rc::gen::oneOf(rc::gen::just<std::string>("nop"), rc::gen::just<std::string>("rdtsc"),
                          rc::gen::map(rc::gen::inRange(1, 50), [](int v) { return "write rax " + std::to_string(v); }),
                          rc::gen::map(rc::gen::inRange(1, 9), [](int v) { return "io 0x80 " + std::to_string(v); }),
                          rc::gen::map(rc::gen::inRange(1, 6000), [](int v) { return "arm_tsc_deadline " + std::to_string(v); }));
}

rc::Gen<std::string> main_op() {
    return rc::gen::oneOf(rc::gen::map(rc::gen::inRange(0, 2), [](int v) { return "op = \"monitor-read\"\nvcpu = " + std::to_string(v) + "\nreg = \"rip\""; }),
                          rc::gen::map(rc::gen::pair(rc::gen::inRange(0, 2), rc::gen::inRange(100, 200)), [](std::pair<int, int> p) {
                              return "op = \"monitor-write\"\nvcpu = " + std::to_string(p.first) + "\nreg = \"rbx\"\nvalue = " + std::to_string(p.second);
                          }));
}

// Writes the failing execution where `regsync replay` can take it.
std::string write_failure(const std::string& toml, const std::string& policy, const std::string& kernel, const harness::ExecutionResult& r) {
    const std::string dir = "traces/generated/property";
    std::filesystem::create_directories(dir);
    const std::string base = dir + "/generated-init-sipi-" + policy;
    std::ofstream(base + ".toml") << toml;
    const auto s = harness::load_scenario(base + ".toml", ".");
    harness::write_trace(base + ".json", harness::make_trace(s, policy, kernel, "rapidcheck", 0, 0, r));
    return base + ".json";
}

// The BSP sends INIT and SIPI (vector 0x10) to an AP that may be halted,
// among generated steps, LAPIC TSC-deadline timers and monitor operations,
// under a generated schedule (a list of actor choices: RapidCheck shrinks
// it to fewer forced switches). Today's QEMU and the accessor design lose
// nothing on the pending-events kernel.
void init_sipi_property(const std::vector<std::string>& policies, const std::string& kernel) {
    auto bsp = *rc::gen::container<std::vector<std::string>>(*rc::gen::inRange(0, 5), plain_step());
    const auto init_at = *rc::gen::inRange<std::size_t>(0, bsp.size() + 1);
    bsp.insert(bsp.begin() + static_cast<std::ptrdiff_t>(init_at), "send_init 1");
    const auto sipi_at = *rc::gen::inRange<std::size_t>(init_at + 1, bsp.size() + 1);
    bsp.insert(bsp.begin() + static_cast<std::ptrdiff_t>(sipi_at), "send_sipi 1 0x10");
    auto ap = *rc::gen::container<std::vector<std::string>>(*rc::gen::inRange(0, 4), plain_step());
    if (*rc::gen::arbitrary<bool>()) ap.push_back("hlt");
    const auto ticks = *rc::gen::inRange(0, 4);
    const auto ops = *rc::gen::container<std::vector<std::string>>(*rc::gen::inRange(0, 3), main_op());
    const auto schedule = *rc::gen::container<std::vector<sim::ActorId>>(rc::gen::inRange<sim::ActorId>(0, 4));
    const auto policy = *rc::gen::elementOf(policies);
    const auto toml = init_sipi_scenario(bsp, ap, ticks, ops);
    const auto s = harness::parse_scenario(toml, "generated-init-sipi.toml");
    harness::Engine engine;
    sched::LenientReplayDecisions d(schedule);
    const auto r = engine.run(s, policy, harness::resolve_kernel(kernel).config, d);
    if (!holds(r)) RC_FAIL("violated; trace: " + write_failure(toml, policy, kernel, r) + "\n" + toml);
}

// The BSP sends INIT and SIPI (vector 0x10) to an AP that may be halted,
// among generated steps, LAPIC TSC-deadline timers and monitor operations,
// under a generated schedule (a list of actor choices: RapidCheck shrinks
// it to fewer forced switches). Today's QEMU and the accessor design lose
// nothing on the pending-events kernel.
RC_GTEST_PROP(Properties, GeneratedInitSipiScenariosLoseNothingUnderTodaysQemu, ()) {
    init_sipi_property({"qemu-today", "accessors"}, "init-apic-events");
}

// The same generator on the pre-3.10 kernel must fail (the INIT lost to
// HLT), shrink, and leave a trace that replays.
TEST(Properties, TheGeneratorFindsTheLostInitOnThePre310KernelAndWritesATrace) {
    const std::string trace = "traces/generated/property/generated-init-sipi-qemu-today.json";
    std::filesystem::remove(trace);
    EXPECT_FALSE(rc::check("lost INIT on init-mp-state", [] { init_sipi_property({"qemu-today"}, "init-mp-state"); }));
    const auto t = harness::read_trace(trace);
    ASSERT_FALSE(t.violations.empty());
    harness::Engine engine;
    const auto rep = explore::replay_trace(t, ".", engine);
    EXPECT_FALSE(rep.diverged) << rep.divergence;
}

}  // namespace
}  // namespace regsync::testing

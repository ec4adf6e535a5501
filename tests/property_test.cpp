// Property-based tests (RapidCheck): generated guest programs and generated
// main-loop operation sequences (rc::state commands with preconditions), each
// run under random schedules. A failure is shrunk to the smallest program,
// operation sequence and schedule seed; RapidCheck prints how to reproduce it.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <linux/kvm.h>

#include "explore/explore.h"
#include "harness/execution.h"
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

}  // namespace
}  // namespace regsync::testing

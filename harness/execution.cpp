#include "harness/execution.h"

#include <algorithm>
#include <optional>

#include "fakekvm/fake_vm.h"
#include "fakekvm/kernel_actors.h"
#include "harness/input_error.h"
#include "model/kvm_all.h"
#include "model/machine.h"
#include "model/policy_registry.h"
#include "properties/oracle.h"
#include "sim/flight_recorder.h"
#include "sim/rng.h"
#include "sim/world.h"

namespace regsync::harness {

namespace {
#ifdef REGSYNC_SANITIZE
constexpr std::size_t kStackSize = 256 * 1024;
#else
constexpr std::size_t kStackSize = 64 * 1024;
#endif

// Forwards every choice and copies it into this thread's flight-recorder
// slot, so that a supervisor can write the trace of an execution whose sync
// layer crashed (sim/flight_recorder.h).
class RecordedDecisions final : public sched::DecisionSource {
public:
    explicit RecordedDecisions(sched::DecisionSource& in) : in_(in) {}
    sim::ActorId choose(const std::vector<sim::ActorId>& enabled, sim::ActorId current) override {
        const sim::ActorId a = in_.choose(enabled, current);
        if (enabled.size() > 1 && a != sim::kNoActor) sim::flight::record_decision(a);  // what the trail keeps
        return a;
    }
    void attach(const sim::World& w) override { in_.attach(w); }
    void attach_state(std::function<std::uint64_t()> f) override { in_.attach_state(std::move(f)); }
    bool observes_every_point() const override { return in_.observes_every_point(); }

private:
    sched::DecisionSource& in_;
};

// Ends the flight-recorder record of an execution, however it ends.
struct FlightScope {
    ~FlightScope() { sim::flight::end_execution(); }
};

void run_main_op(const MainOp& op, model::Machine& m) {
    switch (op.kind) {
        case MainOpKind::MonitorRead: m.monitor_read(op.vcpu, op.reg); break;
        case MainOpKind::MonitorWrite: m.monitor_write(op.vcpu, op.reg, op.value); break;
        case MainOpKind::SystemReset: m.system_reset(); break;
        case MainOpKind::Savevm: m.savevm(op.snapshot); break;
        case MainOpKind::Loadvm: m.loadvm(op.snapshot); break;
        case MainOpKind::GuestReset: m.system_reset(); break;
    }
}
}  // namespace

Engine::Engine() : stacks_(kStackSize) {}

ExecutionResult Engine::run(const Scenario& s, std::string_view policy_name, const fakekvm::KernelConfig& kernel_in,
                            sched::DecisionSource& decisions, const ExecutionOptions& opt) {
    const auto* info = model::find_policy(policy_name);
    if (!info) throw InputError("unknown policy '" + std::string(policy_name) + "' (see 'regsync list')");
    if (!model::policy_supports(policy_name, s.arch))  // a plugin layer syncs one architecture, a built-in those it models
        throw InputError("policy '" + std::string(policy_name) + "'" + (info->plugin.empty() ? "" : " (plugin " + info->plugin + ")") +
                         " does not sync " + std::string(model::to_string(s.arch)) + " vCPUs (scenario '" + s.name + "'; see 'regsync list')");
    fakekvm::KernelConfig kernel = kernel_in;
    kernel.tsc_per_tick = s.tsc_per_tick;

    // Only a supervised run (plugins) records each execution for the supervisor.
    std::optional<RecordedDecisions> recorded;
    FlightScope flight_scope;
    if (sim::flight::installed()) {
        recorded.emplace(decisions);
        sim::flight::begin_execution(s.name, s.source.empty() ? s.file : s.source, s.content_hash, policy_name, info->plugin, kernel.name);
    }
    sched::DecisionSource& source = recorded ? static_cast<sched::DecisionSource&>(*recorded) : decisions;
    auto policy = info->make(s.arch);

    sched::FiberScheduler sched(source, s.max_steps, stacks_);
    sim::World world(sched);
    if (opt.record_footprints) world.reuse_steps(std::move(spare_steps_));
    spare_steps_.clear();
    world.set_record_footprints(opt.record_footprints);
    sched.attach(world);

    const auto initial = s.initial_registers();
    std::vector<fakekvm::VcpuSetup> setup;
    for (std::size_t i = 0; i < s.vcpus.size(); ++i) setup.push_back({s.vcpus[i].bsp, s.vcpus[i].image, initial[i]});
    fakekvm::FakeVm vm(world, s.arch, kernel, std::move(setup));
    model::KvmVm& backend = opt.backend ? opt.backend(vm) : vm;
    model::MutationProbe probe{opt.mutation, false};
    std::unique_ptr<model::SyncPolicy> mutant_policy;
    std::unique_ptr<model::KvmVm> mutant_backend;
    if (opt.mutation) {
        mutant_policy = model::mutate_policy(*policy, probe);
        mutant_backend = model::mutate_backend(backend, probe);
    }
    model::Vmm vmm(world, opt.mutation ? *mutant_backend : backend, opt.mutation ? *mutant_policy : *policy, initial);
    if (opt.mutation) vmm.set_mutation(&probe);
    model::Machine machine(vmm);

    // Actor ids are fixed by this order: vCPU threads, main loop, clock, timers.
    for (int i = 0; i < vm.vcpu_count(); ++i)
        sched.spawn("vcpu" + std::to_string(i) + "-thread", [&vmm, i] { vmm.qemu_kvm_cpu_thread_fn(i); });
    std::size_t ops_done = 0;  // the main loop's progress, for the state hash
    int guest_resets_done = 0;
    const sim::ActorId main_actor = sched.spawn("main-loop", [&] {
        // Between its operations the main loop keeps nothing but ops_done and
        // guest_resets_done (rest points, sim::Scheduler::rest_next).
        const auto rest = [&](std::uint64_t what) {
            world.sched().rest_next(sim::hash_combine(sim::hash_combine(sim::rest::kMainLoop + what, ops_done), static_cast<std::uint64_t>(guest_resets_done)));
        };
        rest(0);
        machine.machine_init_done();
        for (const auto& op : s.main) {
            world.read(sim::Obj::kClock);
            rest(1);
            if (world.now() < op.after_tick) world.sched().wait_until([&] { return world.now() >= op.after_tick; });
            if (op.after_io) {
                const auto seen = [&] {
                    return std::any_of(vmm.io_log().begin(), vmm.io_log().end(), [&](const model::IoRecord& r) { return r.value == *op.after_io; });
                };
                for (int v = 0; v < vm.vcpu_count(); ++v) world.read(sim::Obj::vcpu(v, sim::Obj::kIoLog));
                rest(2);
                if (!seen()) world.sched().wait_until(seen);
            }
            if (op.kind == MainOpKind::GuestReset) {
                const int answered = guest_resets_done;
                const auto requested = [&] { return vmm.guest_reset_requests() > answered; };
                world.read(sim::Obj::kMainLoop);
                rest(3);
                if (!requested()) world.sched().wait_until(requested);
                ++guest_resets_done;
            }
            rest(4);
            run_main_op(op, machine);
            ++ops_done;
        }
    });
    if (s.clock_ticks > 0) sched.spawn("clock", [&] { fakekvm::run_clock(vm, s.clock_ticks); });
    for (std::size_t i = 0; i < s.vcpus.size(); ++i)
        if (!s.vcpus[i].timer.empty())
            sched.spawn("booke-timer" + std::to_string(i), [&vm, &s, i] { fakekvm::run_booke_timer(vm, static_cast<int>(i), s.vcpus[i].timer); });

    // The state at a scheduling point: the kernel's, the VMM's, where each
    // actor is, and what the oracle keeps of the history (fed as it grows).
    std::optional<properties::Monitor> monitor;
    std::size_t fed = 0;
    if (opt.state_hash) {
        monitor.emplace(properties::OracleInput{&model::catalogue(s.arch), initial, s.bsp_flags(), s.properties});
        source.attach_state([&] {
            // With state_at_rest, only where every actor rests: then how each
            // got there (its steps, its call sites) is not state.
            const std::uint64_t where = opt.state_at_rest ? sched.rest_hash() : sched.actors_hash();
            if (opt.state_at_rest && where == 0) return std::uint64_t{0};
            for (const auto& ev = world.events(); fed < ev.size(); ++fed) monitor->feed(ev[fed]);
            std::uint64_t h = sim::hash_combine(vm.state_hash(), vmm.state_hash());
            h = sim::hash_combine(h, machine.state_hash());
            h = sim::hash_combine(h, where);
            h = sim::hash_combine(h, sim::hash_combine(world.now(), ops_done));
            h = sim::hash_combine(h, monitor->state_hash());
            return h == 0 ? std::uint64_t{1} : h;  // 0: no state here
        });
    }
    auto run = sched.run();
    if (opt.state_hash) source.attach_state({});

    ExecutionResult r;
    r.end = run.end;
    r.decisions = std::move(run.decisions);
    r.preemptions = run.preemptions;
    r.blocked = std::move(run.blocked);
    r.error = std::move(run.error);
    r.main_loop_finished = std::find(r.blocked.begin(), r.blocked.end(), sched.actor_name(main_actor)) == r.blocked.end() &&
                           run.end == sched::RunEnd::Quiescent;
    for (std::size_t i = 0; i < sched.actor_count(); ++i) r.actors.push_back(sched.actor_name(static_cast<sim::ActorId>(i)));
    r.step_count = world.step();
    std::uint64_t h = 0;
    for (int v = 0; v < vm.vcpu_count(); ++v) {
        for (auto x : vm.vcpu(v).raw_regs()) h = sim::hash_combine(h, x);
        auto& c = vmm.cpu(v);
        // A plugin keeps its registers in its own CPU struct: ask it.
        if (!info->plugin.empty() && !policy->reads_on_vcpu_thread())
            for (std::size_t i = 0; i < vmm.arch().cat().size(); ++i) h = sim::hash_combine(h, policy->read_reg(c, vmm.arch(), static_cast<model::RegIndex>(i)));
        else
            for (auto x : c.env) h = sim::hash_combine(h, x);
        h = sim::hash_combine(h, c.kvm_vcpu_dirty);
        for (const auto& io : vmm.io_log())
            if (io.cpu == v) h = sim::hash_combine(sim::hash_combine(h, io.port), io.value);
    }
    r.final_state = h;
    r.mutation_fired = probe.fired;
    r.events = world.take_events();  // the world ends with this execution
    if (opt.record_footprints) {
        r.steps = world.take_steps();
        r.hooks = world.take_hooks();
    }
    if (r.end == sched::RunEnd::Pruned) return r;  // redundant and unfinished: nothing to judge
    properties::OracleInput in{&model::catalogue(s.arch), initial, s.bsp_flags(), s.properties};
    r.verdict = properties::check(in, r.events);
    return r;
}

}  // namespace regsync::harness

#include "model/kvm_all.h"

#include <cerrno>
#include <cstring>

#include "sim/footprint.h"
#include "sim/rng.h"

namespace regsync::model {

using sim::Obj;

namespace {
constexpr int EXCP_INTERRUPT = 0x10000;
constexpr int EXCP_HLT = 0x10001;
}  // namespace

Vmm::Vmm(sim::World& world, KvmVm& vm, SyncPolicy& policy, const std::vector<RegisterValues>& initial_env)
    : world_(world), policy_(&policy), arch_(catalogue(vm.arch())),
      cpus_(static_cast<std::size_t>(vm.vcpu_count())), thread_actor_(cpus_.size(), sim::kNoActor) {
    for (int i = 0; i < vm.vcpu_count(); ++i) {
        auto& c = cpus_[static_cast<std::size_t>(i)];
        c.cpu_index = i;
        c.kvm = &vm.vcpu(i);
        c.env = initial_env[static_cast<std::size_t>(i)];
        c.kvm_vcpu_dirty = 1;  // kvm_init_vcpu: the cache starts authoritative
        c.cached = arch_.all();
        c.kernel_view = c.env;
    }
    policy_->attach(world_, cpus_);
}

std::uint64_t Vmm::state_hash() const {
    std::uint64_t h = bql_held_;
    for (const auto& c : cpus_) {
        for (auto x : c.env) h = sim::hash_combine(h, x);
        for (auto x : c.kernel_view) h = sim::hash_combine(h, x);
        h = sim::hash_combine(sim::hash_combine(h, c.kvm_vcpu_dirty), sim::hash_combine(c.cached, c.dirty_regs));
        const unsigned flags = c.latched_init | c.tsc_valid << 1 | c.vm_running << 2 | c.stop << 3 | c.stopped << 4 | c.thread_kicked << 5 |
                               c.stopped_copy_dirty << 6;
        if (c.stopped_copy_dirty)
            for (auto x : c.stopped_copy) h = sim::hash_combine(h, x);
        h = sim::hash_combine(sim::hash_combine(sim::hash_combine(h, flags), c.work_list.size()), c.sipi_vector);
    }
    // Each vCPU's own log: the order between two vCPUs' port writes is not
    // state (Obj::kIoLog).
    for (const auto& c : cpus_)
        for (const auto& io : io_log_)
            if (io.cpu == c.cpu_index) h = sim::hash_combine(h, (static_cast<std::uint64_t>(io.port) << 32) ^ io.value);
    h = sim::hash_combine(h, static_cast<std::uint64_t>(guest_reset_requests_));
    return h;
}

void Vmm::bql_lock() {
    const std::uint64_t rest = world_.sched().pending_rest();  // the caller's, for the wait too
    world_.sched().point();  // taking a contended mutex is a scheduling point
    world_.lock_attempt(Obj::kBql);
    if (bql_held_) {
        world_.sched().rest_next(rest);
        world_.sched().wait_until([this] { return !bql_held_; });
    }
    bql_held_ = true;
    world_.acquired(Obj::kBql);
}

void Vmm::bql_unlock() {
    world_.released(Obj::kBql);
    bql_held_ = false;
}

// Every hook may read and write the CPUState of its vCPU: recorded as one
// object (here for its first step, by the HookNote for the later ones), so
// that the lock-aware reduction (sched/dpor.h) sees the data the BQL
// protects and does not rely on the BQL's order alone.
sim::HookNote Vmm::enter_hook(const char* hook, CPUState& cpu) {
    world_.write(Obj::vcpu(cpu.cpu_index, Obj::kVmmCpu));
    return sim::HookNote(world_, hook, cpu.cpu_index);
}

Vmm::RestingWaits::RestingWaits(Vmm& vmm, std::uint64_t op, std::uint64_t where) : vmm_(vmm) {
    if (op != 0) vmm_.resting_ = {vmm_.world_.actor(), sim::hash_combine(op, where), 0};
}

Vmm::RestingWaits::~RestingWaits() { vmm_.resting_ = {}; }

template <typename Pred>
bool Vmm::cond_wait(Pred pred) {
    if (resting_.base != 0 && resting_.actor == world_.actor())
        world_.sched().rest_next(sim::hash_combine(resting_.base, resting_.n++));
    bql_unlock();
    if (!world_.sched().wait_or_stop([&] { return pred() && !bql_held_; })) return false;  // the execution is over
    bql_held_ = true;
    world_.reacquired(Obj::kBql);
    return true;
}

// ------------------------------------------------------------ cpus.c

void Vmm::qemu_kvm_cpu_thread_fn(int index) {
    CPUState& cpu = this->cpu(index);
    thread_actor_[static_cast<std::size_t>(index)] = world_.actor();
    world_.sched().rest_next(sim::rest::kThreadStart);
    bql_lock();
    for (;;) {
        world_.read(Obj::vcpu(cpu.cpu_index, Obj::kVmmCpu));  // cpu->stop, cpu->stopped
        if (!cpu.stop && !cpu.stopped && kvm_cpu_exec(cpu) == kExecutionOver) return;
        if (!qemu_wait_io_event(cpu)) return;
    }
}

bool Vmm::cpu_thread_is_idle(const CPUState& cpu) const {
    if (cpu.stop || !cpu.work_list.empty()) return false;
    // With the in-kernel irqchip, HLT blocks inside KVM_RUN, so a running
    // vCPU thread is never idle here.
    return cpu.stopped;
}

bool Vmm::qemu_wait_io_event(CPUState& cpu) {
    world_.read(Obj::vcpu(cpu.cpu_index, Obj::kVmmCpu));  // cpu_thread_is_idle(): whether it waits is a read
    if (cpu_thread_is_idle(cpu)) {
        world_.sched().rest_next(sim::rest::kWaitIoEvent);  // idle, the thread keeps nothing but its CPUState
        if (!cond_wait([&] { return !cpu_thread_is_idle(cpu); })) return false;
    }
    world_.write(Obj::vcpu(cpu.cpu_index, Obj::kVmmCpu));
    if (cpu.stop) {
        cpu.stop = false;
        cpu.stopped = true;  // qemu_cond_broadcast(&qemu_pause_cond)
    }
    process_queued_cpu_work(cpu);
    cpu.thread_kicked = false;
    return true;
}

void Vmm::process_queued_cpu_work(CPUState& cpu) {
    while (!cpu.work_list.empty()) {
        WorkItem* wi = cpu.work_list.front();
        cpu.work_list.pop_front();
        wi->fn(cpu);
        wi->done = true;  // qemu_cond_broadcast(&qemu_work_cond)
    }
}

void Vmm::run_on_cpu(CPUState& cpu, sim::FunctionRef<void(CPUState&)> fn) {
    if (thread_actor_[static_cast<std::size_t>(cpu.cpu_index)] == world_.actor()) {
        fn(cpu);
        return;
    }
    WorkItem wi{fn, false};
    world_.write(Obj::vcpu(cpu.cpu_index, Obj::kVmmCpu));
    cpu.work_list.push_back(&wi);
    qemu_cpu_kick(cpu);  // the step's write of the CPUState covers cond_wait's read of wi.done
    if (!cond_wait([&] { return wi.done; })) throw sim::Shutdown{};  // rare: wound up the slow way
}

void Vmm::qemu_cpu_kick(CPUState& cpu) {
    world_.write(Obj::vcpu(cpu.cpu_index, Obj::kVmmCpu));  // cpu->thread_kicked
    if (!cpu.thread_kicked) {
        cpu.kvm->kick();  // pthread_kill(SIG_IPI)
        cpu.thread_kicked = true;
    }
}

bool Vmm::all_vcpus_paused() const {
    for (const auto& c : cpus_)
        if (!c.stopped) return false;
    return true;
}

void Vmm::pause_all_vcpus() {
    world_.write(Obj::kMainLoop);
    for (auto& c : cpus_) {
        world_.write(Obj::vcpu(c.cpu_index, Obj::kVmmCpu));
        c.stop = true;
        qemu_cpu_kick(c);
    }
    // The writes above cover cond_wait's read of every cpu->stopped.
    if (!cond_wait([this] { return all_vcpus_paused(); })) throw sim::Shutdown{};
    world_.emit({.kind = sim::EventKind::VmStopped});
}

void Vmm::resume_all_vcpus() {
    world_.write(Obj::kMainLoop);
    for (auto& c : cpus_) {
        world_.write(Obj::vcpu(c.cpu_index, Obj::kVmmCpu));
        c.stop = false;
        c.stopped = false;
        qemu_cpu_kick(c);
    }
    world_.emit({.kind = sim::EventKind::VmResumed});
}

// ---------------------------------------------------------- kvm-all.c

void Vmm::cpu_synchronize_state(CPUState& cpu) {
    world_.read(Obj::vcpu(cpu.cpu_index, Obj::kVmmCpu));  // kvm_vcpu_dirty, from the caller's thread
    if (policy_->needs_synchronize(cpu))
        run_on_cpu(cpu, [this](CPUState& c) {
            auto note = enter_hook("synchronize_state", c);
            policy_->synchronize_state(c, arch_);
            read_runstate();
        });
}

// Recorded in the scheduler step where a policy's get reads
// runstate_is_running(): after its last ioctl (tsc_valid is set then), or
// before its only one (kvm_get_tsc).
void Vmm::read_runstate() {
    if (policy_->reads_runstate()) world_.read(Obj::kRunState);
}

void Vmm::cpu_synchronize_all_states() {
    for (auto& c : cpus_) cpu_synchronize_state(c);
}

void Vmm::cpu_synchronize_all_post_reset() {
    for (auto& c : cpus_) {
        auto note = enter_hook("post_reset", c);
        policy_->post_reset(c, arch_);
    }
}

void Vmm::cpu_synchronize_all_post_init() {
    for (auto& c : cpus_) {
        auto note = enter_hook("post_init", c);
        policy_->post_init(c, arch_);
    }
}

void Vmm::cpu_synchronize_all_pre_loadvm() {
    for (auto& c : cpus_) {
        auto note = enter_hook("pre_loadvm", c);
        policy_->pre_loadvm(c, arch_);
    }
}

void Vmm::vm_start() {
    set_runstate(true);  // vm_prepare_start(): runstate_set, then vm_state_notify(1), then resume
    for (auto& c : cpus_) {
        auto note = enter_hook("vm_state_change", c);
        policy_->vm_state_change(c, arch_, true);
    }
    resume_all_vcpus();
}

void Vmm::set_runstate(bool running) {
    world_.write(Obj::kRunState);
    for (auto& c : cpus_) c.vm_running = running;
}

// do_vm_stop() (system/cpus.c): today runstate_set() before
// pause_all_vcpus(), so a vCPU that synchronizes before it is paused
// already sees the VM stopped; then vm_state_notify(0), whose kvmclock
// handler reads every TSC (kvm_synchronize_all_tsc, run_on_cpu).
void Vmm::vm_stop() {
    if (policy_->runstate_before_pause()) set_runstate(false);
    pause_all_vcpus();
    set_runstate(false);
    for (auto& c : cpus_) {
        auto note = enter_hook("vm_state_change", c);
        policy_->vm_state_change(c, arch_, false);
    }
    if (arch_.cat().arch == Arch::X86 && policy_->kvmclock_reads_tsc())
        for (auto& c : cpus_) run_on_cpu(c, [this](CPUState& cc) {
            auto note = enter_hook("kvm_get_tsc", cc);
            read_runstate();
            policy_->kvm_get_tsc(cc, arch_);
        });
}

// A paravirtual call answered in the first argument/return register (x86
// rax, ppc r3): the device model reads the GPRs through the hot path and
// writes the result through the register cache, as s390's DIAG handlers do.
void Vmm::handle_hypercall(CPUState& cpu, std::uint64_t nr) {
    auto note = enter_hook("handle_hypercall", cpu);
    policy_->synchronize_partial(cpu, arch_);
    read_runstate();
    const auto& cat = arch_.cat();
    const RegIndex ret = cat.ret;
    const std::uint64_t result = nr + 1;
    world_.emit({.kind = sim::EventKind::Intent, .vcpu = static_cast<std::int16_t>(cpu.cpu_index), .reg = ret,
                 .aux = static_cast<std::uint32_t>(sim::IntentCause::Device), .value = result, .mask = cat[ret].mask()});
    policy_->write_reg(cpu, arch_, ret, result);
}

int Vmm::kvm_cpu_exec(CPUState& cpu) {
    if (auto note = enter_hook("process_async_events", cpu); policy_->process_async_events(cpu, arch_)) {  // it synchronized, then ran do_cpu_init
        read_runstate();
        world_.emit({.kind = sim::EventKind::VmmCpuInit, .vcpu = static_cast<std::int16_t>(cpu.cpu_index)});
    }
    const bool outside = policy_->puts_outside_bql();
    for (;;) {
        if (!outside) {
            auto note = enter_hook("pre_run", cpu);
            policy_->pre_run(cpu, arch_);
        }
        bql_unlock();
        // Today's kvm_cpu_exec(): bql_unlock(), then "if (cpu->vcpu_dirty)
        // { kvm_arch_put_registers(RUNTIME); vcpu_dirty = false; }". A BQL
        // holder may see vcpu_dirty still set in the middle of the put.
        if (outside) {
            auto note = enter_hook("pre_run", cpu);
            policy_->pre_run(cpu, arch_);
        }
        // Rest points: here the thread keeps nothing but `outside`, a property
        // of the policy, and after KVM_RUN its result.
        world_.sched().rest_next(sim::rest::kKvmRunEntry);
        const int run_ret = cpu.kvm->ioctl(KVM_RUN, nullptr);
        if (run_ret == kExecutionOver) return run_ret;
        world_.sched().rest_next(sim::hash_combine(sim::rest::kAfterRun, static_cast<std::uint64_t>(static_cast<std::int64_t>(run_ret))));
        bql_lock();
        {
            auto note = enter_hook("post_run", cpu);
            policy_->post_run(cpu, arch_);
        }
        if (run_ret == -EINTR || run_ret == -EAGAIN) return EXCP_INTERRUPT;
        if (run_ret < 0) return run_ret;
        const struct kvm_run& run = cpu.kvm->run();
        if (run.exit_reason == KVM_EXIT_HYPERCALL) {
            handle_hypercall(cpu, run.hypercall.nr);
            return EXCP_HLT;  // the handler asks the vCPU loop to look at its events
        }
        // kvm_cpu_exec(): KVM_SYSTEM_EVENT_RESET -> qemu_system_reset_request(
        // SHUTDOWN_CAUSE_GUEST_RESET); the main loop resets the machine.
        if (run.exit_reason == KVM_EXIT_SYSTEM_EVENT) {
            if (run.system_event.type == KVM_SYSTEM_EVENT_RESET) {
                world_.write(Obj::kMainLoop);
                ++guest_reset_requests_;
            }
            return EXCP_INTERRUPT;
        }
        if (run.exit_reason != KVM_EXIT_IO) return EXCP_HLT;
        // kvm_handle_io(): the port write is where a guest reports to us.
        std::uint32_t v;
        std::memcpy(&v, reinterpret_cast<const unsigned char*>(&run) + run.io.data_offset, sizeof v);
        world_.write(Obj::vcpu(cpu.cpu_index, Obj::kIoLog));
        io_log_.push_back({cpu.cpu_index, run.io.port, v});
    }
}

}  // namespace regsync::model

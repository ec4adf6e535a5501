// The VMM's vCPU machinery, shaped like QEMU's cpus.c and kvm-all.c so a
// QEMU engineer can map it line by line: the BQL, vCPU threads, run_on_cpu,
// pause/resume, kvm_cpu_exec and the cpu_synchronize_* hooks. Register
// movement is delegated to the SyncPolicy.
#pragma once
#include <cstdint>
#include <vector>

#include "model/arch_sync.h"
#include "model/cpu_state.h"
#include "model/kvm_backend.h"
#include "model/mutation.h"
#include "model/sync_policy.h"
#include "sim/world.h"

namespace regsync::model {

struct IoRecord {
    int cpu;
    std::uint16_t port;
    std::uint32_t value;
};

class Vmm {
public:
    Vmm(sim::World& world, KvmVm& vm, SyncPolicy& policy, const std::vector<RegisterValues>& initial_env);

    int cpu_count() const { return static_cast<int>(cpus_.size()); }
    CPUState& cpu(int i) { return cpus_[static_cast<std::size_t>(i)]; }
    const ArchSync& arch() const { return arch_; }
    // regsync mutants: the get/put faults ArchSync plants.
    void set_mutation(MutationProbe* p) { arch_.set_mutation(p); }
    SyncPolicy& policy() { return *policy_; }
    sim::World& world() { return world_; }
    const std::vector<IoRecord>& io_log() const { return io_log_; }
    // qemu_system_reset_request() calls by guests (KVM_EXIT_SYSTEM_EVENT
    // with KVM_SYSTEM_EVENT_RESET: PSCI SYSTEM_RESET, SBI SRST), so far.
    int guest_reset_requests() const { return guest_reset_requests_; }
    // The VMM's state: every CPUState, the BQL and the I/O log (dfs --state-cache).
    std::uint64_t state_hash() const;

    // qemu_mutex_lock_iothread / unlock.
    void bql_lock();
    void bql_unlock();
    bool bql_locked() const { return bql_held_; }

    // cpus.c
    void qemu_kvm_cpu_thread_fn(int index);  // the vCPU thread body; ends only by sim::Shutdown
    void run_on_cpu(CPUState& cpu, sim::FunctionRef<void(CPUState&)> fn);
    void qemu_cpu_kick(CPUState& cpu);
    void pause_all_vcpus();
    void resume_all_vcpus();

    // While this guard lives, the calling actor's cond_waits (qemu_cond_wait)
    // are rest points (sim::Scheduler::rest_next), the n-th one named by
    // `op`, `where` and n. For a caller whose locals are all named by its
    // operation's rest id `op` and by `where` in it, and whose waits come in
    // an order that operation fixes, so that the n-th is at one place in the
    // code. Not for a wait whose work writes the caller's locals (run_on_cpu
    // filling a variable): once the work is done, those are state the hash
    // cannot see. op 0 (no rest id): no rest points.
    class RestingWaits {
    public:
        RestingWaits(Vmm& vmm, std::uint64_t op, std::uint64_t where);
        ~RestingWaits();
        RestingWaits(const RestingWaits&) = delete;
        RestingWaits& operator=(const RestingWaits&) = delete;

    private:
        Vmm& vmm_;
    };

    // kvm-all.c
    void cpu_synchronize_state(CPUState& cpu);
    void cpu_synchronize_all_states();
    void cpu_synchronize_all_post_reset();
    void cpu_synchronize_all_post_init();
    void cpu_synchronize_all_pre_loadvm();
    // vm_start() / vm_stop(): runstate change notifiers, then resume/pause.
    void vm_start();
    void vm_stop();
    int kvm_cpu_exec(CPUState& cpu);

private:
    template <typename Pred>
    bool cond_wait(Pred pred);  // qemu_cond_wait on the BQL; false: the execution is over
    bool cpu_thread_is_idle(const CPUState& cpu) const;
    bool qemu_wait_io_event(CPUState& cpu);  // false: the execution is over
    void process_queued_cpu_work(CPUState& cpu);
    bool all_vcpus_paused() const;
    void handle_hypercall(CPUState& cpu, std::uint64_t nr);
    sim::HookNote enter_hook(const char* hook, CPUState& cpu);
    void set_runstate(bool running);  // runstate_set(): every CPUState's vm_running
    void read_runstate();             // a policy's get may read runstate_is_running()

    sim::World& world_;
    SyncPolicy* policy_;
    ArchSync arch_;
    std::vector<CPUState> cpus_;
    std::vector<sim::ActorId> thread_actor_;
    bool bql_held_ = false;
    struct {
        sim::ActorId actor = sim::kNoActor;
        std::uint64_t base = 0;
        std::uint64_t n = 0;
    } resting_;  // RestingWaits
    std::vector<IoRecord> io_log_;
    int guest_reset_requests_ = 0;
};

}  // namespace regsync::model

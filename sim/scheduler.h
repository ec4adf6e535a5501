// What code under test (the fake kernel and the VMM model) sees of the
// scheduler: scheduling points and blocking waits. The deterministic fiber
// scheduler in sched/ implements it; unit tests use InlineScheduler.
#pragma once
#include <cstdint>
#include <stdexcept>

#include "sim/function_ref.h"

namespace regsync::sim {

using ActorId = std::uint16_t;
inline constexpr ActorId kNoActor = 0xffff;

// Thrown out of wait_until() when the execution ends while an actor is
// blocked (e.g. a vCPU halted forever); the actor's body lets it unwind.
struct Shutdown {};

// Rest points (Scheduler::rest_next) of the fake kernel and the VMM model.
namespace rest {
inline constexpr std::uint64_t kKvmRunStep = 0x52554e0000000001ULL;   // KVM_RUN, between two guest steps
inline constexpr std::uint64_t kKvmRunBlock = 0x52554e0000000002ULL;  // KVM_RUN, in kvm_vcpu_block()
inline constexpr std::uint64_t kHalt = 0x52554e0000000003ULL;        // KVM_RUN, HLT before kvm_emulate_halt() (x86)
inline constexpr std::uint64_t kKvmRunEntry = 0x51454d0000000003ULL;  // kvm_cpu_exec(), at ioctl(KVM_RUN)
inline constexpr std::uint64_t kAfterRun = 0x51454d0000000004ULL;     // kvm_cpu_exec(), bql_lock() after KVM_RUN (+ its result)
inline constexpr std::uint64_t kThreadStart = 0x51454d0000000001ULL;  // qemu_kvm_cpu_thread_fn(), its first bql_lock()
inline constexpr std::uint64_t kWaitIoEvent = 0x51454d0000000002ULL;  // qemu_wait_io_event(), idle
inline constexpr std::uint64_t kMainLoop = 0x4d41494e00000000ULL;     // the main loop, between its operations
inline constexpr std::uint64_t kClock = 0x434c4b0000000001ULL;        // the clock actor, between ticks
inline constexpr std::uint64_t kTimer = 0x544d520000000000ULL;        // a Book-E timer actor, between expiries
}  // namespace rest

class Scheduler {
public:
    virtual ~Scheduler() = default;
    // A point where the scheduler may switch to another actor.
    virtual void point() = 0;
    // Block the calling actor until pred() holds; pred is re-evaluated by
    // the scheduler, never polled by the actor.
    virtual void wait_until(FunctionRef<bool()> pred) = 0;
    // The same, but when the execution ends while the actor waits it
    // returns false instead of unwinding the actor's stack (an exception
    // through a dozen frames costs more than the rest of an execution):
    // the caller then returns at once, changing nothing.
    virtual bool wait_or_stop(FunctionRef<bool()> pred) {
        wait_until(pred);
        return true;
    }
    // Declares the calling actor's next scheduling point (point, wait_until or
    // wait_or_stop, which consumes it whether or not it switches) a rest
    // point: from there on, what the actor does depends only on the shared
    // state (what the state hash covers) and on `id`, never on its locals.
    // The state cache of dfs (sched/dpor.h) compares states only where every
    // actor rests, and leaves out how it got there (its steps and call
    // sites). `id` must tell apart every rest point of one actor's code
    // whose continuations differ; 0 is not a rest point.
    virtual void rest_next(std::uint64_t id) { (void)id; }
    // The id given to rest_next() and not yet consumed (0 if none): a helper
    // that takes a mutex passes it on from its point to its wait.
    virtual std::uint64_t pending_rest() const { return 0; }
    // The execution is over and its actors are being wound up.
    virtual bool stopping() const { return false; }
    virtual ActorId current() const = 0;
};

// Runs everything on the caller's stack: points are no-ops and a wait whose
// predicate is false is a test bug (nothing else could make it true).
class InlineScheduler final : public Scheduler {
public:
    void point() override {}
    void wait_until(FunctionRef<bool()> pred) override {
        if (!pred()) throw std::logic_error("InlineScheduler: wait would block forever");
    }
    ActorId current() const override { return actor; }
    ActorId actor = 0;
};

}  // namespace regsync::sim

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

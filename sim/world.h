// The per-execution simulation state that every component receives
// explicitly: the scheduler, the event log, the virtual clock and the
// footprint of the current step. No globals: two executions never share one.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "sim/event.h"
#include "sim/footprint.h"
#include "sim/scheduler.h"

namespace regsync::sim {

// A sync-policy hook as it ran: which actor, for which vCPU, from the step
// it began in to the step it ended in (it may span scheduling points).
// Recorded with footprints only, for `regsync explain`; not an event: the
// oracle never sees it.
struct HookSpan {
    ActorId actor = kNoActor;
    int vcpu = -1;
    const char* hook = "";  // a SyncPolicy member name, static storage
    std::uint32_t first = 0, last = 0;              // steps
    std::uint32_t first_event = 0, end_event = 0;  // the events emitted while it ran: [first_event, end_event)
};

class World {
public:
    explicit World(Scheduler& s) : sched_(&s) { events_.reserve(256); }

    Scheduler& sched() { return *sched_; }
    ActorId actor() const { return sched_->current(); }

    // Virtual time, advanced only by the clock actor: never the wall clock.
    std::uint64_t now() const { return now_; }
    void tick() { ++now_; }

    void emit(Event e) {
        if (ended_) return;
        e.step = step_;
        e.actor = sched_->current();
        events_.push_back(e);
    }
    const std::vector<Event>& events() const { return events_; }
    std::vector<Event> take_events() { return std::move(events_); }

    // The execution is over: actors being wound up leave no trace.
    void end() { ended_ = true; }
    bool ended() const { return ended_; }

    void read(std::uint32_t obj) { touch(obj, false); }
    void write(std::uint32_t obj) { touch(obj, true); }
    // A mutex's protocol: the read that tries it (before waiting for it),
    // and the writes that take and release it.
    void lock_attempt(std::uint32_t obj) { lock_op(obj, LockOp::Attempt); }
    void acquired(std::uint32_t obj) { lock_op(obj, LockOp::Acquire); }
    // Taken back after waiting for a condition (qemu_cond_wait): the
    // waiter's data, not only the mutex, decided when.
    void reacquired(std::uint32_t obj) { lock_op(obj, LockOp::Reacquire); }
    void released(std::uint32_t obj) { lock_op(obj, LockOp::Release); }

    // Called by the scheduler when it hands control to an actor.
    void begin_step(ActorId a) {
        ++step_;
        if (!record_footprints_) return;
        if (spare_.empty()) {
            steps_.push_back(StepRecord{a, {}, {}});
            hook_writes(a);
            return;
        }
        // A record of an earlier execution, its buffers kept.
        StepRecord& r = steps_.emplace_back(std::move(spare_.back()));
        spare_.pop_back();
        r.actor = a;
        r.accesses.clear();
        r.locks.clear();
        hook_writes(a);
    }
    // The step records of an earlier execution, for this one to reuse
    // (recording footprints otherwise allocates at every step).
    void reuse_steps(std::vector<StepRecord> old) {
        spare_ = std::move(old);
        steps_.reserve(spare_.size());
    }
    std::uint32_t step() const { return step_; }
    const std::vector<StepRecord>& steps() const { return steps_; }
    std::vector<StepRecord> take_steps() { return std::move(steps_); }
    void set_record_footprints(bool on) { record_footprints_ = on; }

    // A sync hook may read and write its vCPU's CPUState in any step it
    // spans (kvm_vcpu_dirty is cleared after the put's ioctls, steps after
    // the hook began): every later step of it writes Obj::kVmmCpu. (A sync
    // hook's first step writes it through Vmm::enter_hook; the monitor's
    // register hooks only read there.)
    std::size_t hook_begin(const char* hook, int vcpu) {
        if (!record_footprints_ || ended_) return SIZE_MAX;
        const auto n = static_cast<std::uint32_t>(events_.size());
        hooks_.push_back({sched_->current(), vcpu, hook, step_, step_, n, n});
        open_hooks_.push_back(hooks_.size() - 1);
        return hooks_.size() - 1;
    }
    void hook_end(std::size_t i) {
        if (i >= hooks_.size()) return;
        hooks_[i].last = step_;
        hooks_[i].end_event = static_cast<std::uint32_t>(events_.size());
        if (const auto it = std::find(open_hooks_.begin(), open_hooks_.end(), i); it != open_hooks_.end()) open_hooks_.erase(it);
    }
    std::vector<HookSpan> take_hooks() { return std::move(hooks_); }

private:
    void hook_writes(ActorId a) {
        for (const std::size_t i : open_hooks_)
            if (hooks_[i].actor == a) steps_.back().accesses.push_back({Obj::vcpu(hooks_[i].vcpu, Obj::kVmmCpu), true});
    }
    void touch(std::uint32_t obj, bool w) {
        if (record_footprints_ && !ended_ && !steps_.empty()) steps_.back().accesses.push_back({obj, w});
    }
    // The mutex's access (only an attempt merely reads it), and which part
    // of its protocol that access was.
    void lock_op(std::uint32_t obj, LockOp::Kind k) {
        touch(obj, k != LockOp::Attempt);
        if (record_footprints_ && !ended_ && !steps_.empty()) steps_.back().locks.push_back({obj, k});
    }
    Scheduler* sched_;
    std::uint64_t now_ = 0;
    std::uint32_t step_ = 0;
    bool record_footprints_ = true;
    bool ended_ = false;
    std::vector<Event> events_;
    std::vector<StepRecord> steps_;
    std::vector<StepRecord> spare_;
    std::vector<HookSpan> hooks_;
    std::vector<std::size_t> open_hooks_;  // the hooks running now (indices into hooks_)
};

// Marks a hook's span for as long as it runs (also when it unwinds).
class HookNote {
public:
    HookNote(World& w, const char* hook, int vcpu) : w_(w), i_(w.hook_begin(hook, vcpu)) {}
    ~HookNote() { w_.hook_end(i_); }
    HookNote(const HookNote&) = delete;
    HookNote& operator=(const HookNote&) = delete;

private:
    World& w_;
    std::size_t i_;
};

}  // namespace regsync::sim

// The per-execution simulation state that every component receives
// explicitly: the scheduler, the event log, the virtual clock and the
// footprint of the current step. No globals: two executions never share one.
#pragma once
#include <cstdint>
#include <vector>

#include "sim/event.h"
#include "sim/footprint.h"
#include "sim/scheduler.h"

namespace regsync::sim {

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

    // Called by the scheduler when it hands control to an actor.
    void begin_step(ActorId a) {
        ++step_;
        if (record_footprints_) steps_.push_back(StepRecord{a, {}});
    }
    std::uint32_t step() const { return step_; }
    const std::vector<StepRecord>& steps() const { return steps_; }
    std::vector<StepRecord> take_steps() { return std::move(steps_); }
    void set_record_footprints(bool on) { record_footprints_ = on; }

private:
    void touch(std::uint32_t obj, bool w) {
        if (record_footprints_ && !ended_ && !steps_.empty()) steps_.back().accesses.push_back({obj, w});
    }
    Scheduler* sched_;
    std::uint64_t now_ = 0;
    std::uint32_t step_ = 0;
    bool record_footprints_ = true;
    bool ended_ = false;
    std::vector<Event> events_;
    std::vector<StepRecord> steps_;
};

}  // namespace regsync::sim

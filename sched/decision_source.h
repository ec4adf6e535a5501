// Where the scheduler's choices come from: the only source of
// nondeterminism in an execution.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "sim/rng.h"
#include "sim/scheduler.h"

namespace regsync::sim {
class World;
}

namespace regsync::sched {

using sim::ActorId;

class DecisionSource {
public:
    virtual ~DecisionSource() = default;
    // Pick one of `enabled` (sorted, at least two entries). `current` is the
    // actor that reached this scheduling point, when it may go on running
    // (kNoActor when it blocked or finished).
    // May return kNoActor to end the execution here (RunEnd::Pruned): an
    // exhaustive search does so when every continuation is redundant.
    virtual ActorId choose(const std::vector<ActorId>& enabled, ActorId current) = 0;
    // Sources that need the footprints of the steps so far (partial-order
    // reduction) see the world, and are asked at every scheduling point,
    // also where only one actor is enabled.
    virtual void attach(const sim::World&) {}
    // dfs --state-cache: a hash of the whole state of the running execution
    // (set by the engine before the run, cleared after it).
    virtual void attach_state(std::function<std::uint64_t()>) {}
    virtual bool observes_every_point() const { return false; }
};

class RandomDecisions final : public DecisionSource {
public:
    explicit RandomDecisions(std::uint64_t seed) : rng_(seed) {}
    ActorId choose(const std::vector<ActorId>& enabled, ActorId) override {
        return enabled[rng_.below(static_cast<std::uint32_t>(enabled.size()))];
    }

private:
    sim::Rng rng_;
};

// Follows a recorded list of choices. A recorded actor that is not enabled,
// or running out of choices, marks the replay as diverged.
class ReplayDecisions final : public DecisionSource {
public:
    explicit ReplayDecisions(std::vector<ActorId> choices) : choices_(std::move(choices)) {}
    ActorId choose(const std::vector<ActorId>& enabled, ActorId current) override;
    bool diverged() const { return diverged_; }
    std::size_t position() const { return pos_; }
    bool exhausted() const { return pos_ >= choices_.size(); }

private:
    std::vector<ActorId> choices_;
    std::size_t pos_ = 0;
    bool diverged_ = false;
};

// Follows a list of choices where it can and otherwise makes the
// non-preemptive default (keep the current actor running, else the lowest
// enabled id). Used to shrink: any edited list still yields an execution.
class LenientReplayDecisions final : public DecisionSource {
public:
    explicit LenientReplayDecisions(std::vector<ActorId> choices) : choices_(std::move(choices)) {}
    ActorId choose(const std::vector<ActorId>& enabled, ActorId current) override;

private:
    std::vector<ActorId> choices_;
    std::size_t pos_ = 0;
};

}  // namespace regsync::sched

// PCT, probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi,
// Nagarakatte, ASPLOS 2010): every actor gets a random distinct priority,
// the highest-priority enabled actor always runs, and at d-1 random change
// points the running actor drops below all others. A bug of depth d is found
// with probability at least 1/(n * k^(d-1)) per execution, for n actors and k
// steps. Steps here are the scheduling decisions with two or more choices.
#pragma once
#include <cstdint>
#include <vector>

#include "sched/decision_source.h"

namespace regsync::sched {

class PctDecisions final : public DecisionSource {
public:
    PctDecisions(std::uint64_t seed, std::size_t actors, std::uint64_t steps, int depth);
    ActorId choose(const std::vector<ActorId>& enabled, ActorId current) override;

    // Lower bound on the probability of hitting a depth-d bug per execution.
    static double guarantee(std::size_t actors, std::uint64_t steps, int depth);

private:
    ActorId highest(const std::vector<ActorId>& enabled) const;
    std::vector<std::uint64_t> priority_;     // by actor id
    std::vector<std::uint64_t> change_points_;  // decision indices, one per lowered priority
    std::uint64_t step_ = 0;
};

}  // namespace regsync::sched

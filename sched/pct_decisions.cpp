#include "sched/pct_decisions.h"

#include <cmath>

namespace regsync::sched {

PctDecisions::PctDecisions(std::uint64_t seed, std::size_t actors, std::uint64_t steps, int depth) {
    sim::Rng rng(seed);
    const auto d = static_cast<std::uint64_t>(depth < 1 ? 1 : depth);
    // Initial priorities d .. d+n-1 in random order; change points get 0 .. d-2.
    priority_.resize(actors);
    for (std::size_t i = 0; i < actors; ++i) priority_[i] = d + i;
    for (std::size_t i = actors; i > 1; --i) std::swap(priority_[i - 1], priority_[rng.below(static_cast<std::uint32_t>(i))]);
    for (std::uint64_t i = 0; i + 1 < d; ++i) change_points_.push_back(1 + rng.below(static_cast<std::uint32_t>(steps < 1 ? 1 : steps)));
}

ActorId PctDecisions::highest(const std::vector<ActorId>& enabled) const {
    ActorId best = enabled.front();
    for (ActorId a : enabled)
        if (a < priority_.size() && priority_[a] > priority_[best]) best = a;
    return best;
}

ActorId PctDecisions::choose(const std::vector<ActorId>& enabled, ActorId) {
    ++step_;
    ActorId pick = highest(enabled);
    for (std::size_t i = 0; i < change_points_.size(); ++i)
        if (change_points_[i] == step_ && pick < priority_.size()) {
            priority_[pick] = i;  // below every initial priority
            pick = highest(enabled);
        }
    return pick;
}

double PctDecisions::guarantee(std::size_t actors, std::uint64_t steps, int depth) {
    return 1.0 / (static_cast<double>(actors) * std::pow(static_cast<double>(steps < 1 ? 1 : steps), depth - 1));
}

}  // namespace regsync::sched

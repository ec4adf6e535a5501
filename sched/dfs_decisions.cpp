#include "sched/dfs_decisions.h"

#include <algorithm>

namespace regsync::sched {

ActorId DfsDecisions::choose(const std::vector<ActorId>& enabled, ActorId current) {
    // Rank 0 is the current actor when it may go on, else the lowest id;
    // the rest follow in ascending id order.
    const bool cur = current != sim::kNoActor && std::find(enabled.begin(), enabled.end(), current) != enabled.end();
    const std::size_t k = trail_.size();
    std::uint16_t rank = k < prefix_.size() ? prefix_[k] : 0;
    if (rank >= enabled.size()) rank = 0;
    ActorId pick;
    if (cur) {
        if (rank == 0) {
            pick = current;
        } else {
            std::size_t seen = 0;
            pick = enabled.front();
            for (ActorId a : enabled)
                if (a != current && ++seen == rank) {
                    pick = a;
                    break;
                }
        }
    } else {
        pick = enabled[rank];
    }
    trail_.push_back({static_cast<std::uint16_t>(enabled.size()), rank, cur, preemptions_});
    if (cur && rank != 0) ++preemptions_;
    return pick;
}

std::optional<std::vector<std::uint16_t>> DfsDecisions::next(const std::vector<Point>& trail, std::uint32_t bound) {
    for (std::size_t i = trail.size(); i-- > 0;) {
        const auto& p = trail[i];
        for (std::uint16_t r = static_cast<std::uint16_t>(p.rank + 1); r < p.options; ++r) {
            const std::uint32_t pre = p.preemptions_before + ((p.current_enabled && r != 0) ? 1 : 0);
            if (pre > bound) continue;
            std::vector<std::uint16_t> prefix;
            prefix.reserve(i + 1);
            for (std::size_t j = 0; j < i; ++j) prefix.push_back(trail[j].rank);
            prefix.push_back(r);
            return prefix;
        }
    }
    return std::nullopt;
}

}  // namespace regsync::sched

// Systematic enumeration of schedules (stateless depth-first search, as
// CHESS does) with iterative preemption bounding: at every decision point the
// alternatives are ranked, the non-preemptive one (the current actor, when it
// can go on) first; an execution follows a prefix of ranks and takes rank 0
// beyond it. After each execution the next prefix is the deepest point with
// an untried rank whose preemptions stay within the bound.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "sched/decision_source.h"

namespace regsync::sched {

class DfsDecisions final : public DecisionSource {
public:
    struct Point {
        std::uint16_t options = 0;       // enabled actors at this point
        std::uint16_t rank = 0;          // which one was taken (0 = non-preemptive)
        bool current_enabled = false;    // rank > 0 is then a preemption
        std::uint32_t preemptions_before = 0;
    };

    explicit DfsDecisions(std::vector<std::uint16_t> prefix) : prefix_(std::move(prefix)) {}
    ActorId choose(const std::vector<ActorId>& enabled, ActorId current) override;
    const std::vector<Point>& trail() const { return trail_; }

    // The prefix of the next schedule, or nothing when all are explored.
    static std::optional<std::vector<std::uint16_t>> next(const std::vector<Point>& trail, std::uint32_t preemption_bound);

private:
    std::vector<std::uint16_t> prefix_;
    std::vector<Point> trail_;
    std::uint32_t preemptions_ = 0;
};

}  // namespace regsync::sched

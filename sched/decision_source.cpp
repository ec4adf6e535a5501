#include "sched/decision_source.h"

#include <algorithm>

namespace regsync::sched {

ActorId ReplayDecisions::choose(const std::vector<ActorId>& enabled, ActorId) {
    if (pos_ >= choices_.size()) {
        diverged_ = true;
        return enabled.front();
    }
    const ActorId want = choices_[pos_++];
    if (std::find(enabled.begin(), enabled.end(), want) == enabled.end()) {
        diverged_ = true;
        return enabled.front();
    }
    return want;
}

ActorId LenientReplayDecisions::choose(const std::vector<ActorId>& enabled, ActorId current) {
    if (pos_ < choices_.size()) {
        const ActorId want = choices_[pos_++];
        if (std::find(enabled.begin(), enabled.end(), want) != enabled.end()) return want;
    }
    return current != sim::kNoActor ? current : enabled.front();
}

}  // namespace regsync::sched

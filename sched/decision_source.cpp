#include "sched/decision_source.h"

#include <algorithm>

namespace regsync::sched {

ActorId ReplayDecisions::choose(const std::vector<ActorId>& enabled) {
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

}  // namespace regsync::sched

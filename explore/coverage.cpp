#include "explore/coverage.h"

#include <algorithm>

#include "sim/rng.h"

namespace regsync::explore {

std::uint64_t interleaving_fingerprint(const std::vector<sim::StepRecord>& steps) {
    struct Access {
        std::uint32_t obj;
        std::uint64_t who;  // actor << 32 | the actor's step number
        bool write;
    };
    // Per object, in step order: a flat list sorted stably by object (the
    // buffers are the thread's, reused from one execution to the next).
    thread_local std::vector<Access> all;
    thread_local std::vector<std::uint32_t> local;
    thread_local std::vector<std::uint64_t> reads;
    all.clear();
    local.clear();
    for (const auto& s : steps) {
        // A step that only found its actor must wait changes nothing: an
        // execution where the actor came later and did not wait is the same.
        const bool only_blocked = std::all_of(s.accesses.begin(), s.accesses.end(),
                                              [&](const sim::Access& a) { return !a.write && a.obj == sim::Obj::wake(s.actor); });
        if (only_blocked) continue;
        if (local.size() <= s.actor) local.resize(s.actor + 1u, 0);
        const std::uint64_t who = (std::uint64_t{s.actor} << 32) | local[s.actor]++;
        for (const auto& a : s.accesses)
            if (!sim::Obj::is_wake(a.obj)) all.push_back({a.obj, who, a.write});  // wake: scheduler bookkeeping
    }
    std::stable_sort(all.begin(), all.end(), [](const Access& x, const Access& y) { return x.obj < y.obj; });
    // One entry per (object, step): write if any access of the step wrote it.
    std::size_t w = 0;
    for (std::size_t r = 0; r < all.size(); ++r) {
        if (w > 0 && all[w - 1].obj == all[r].obj && all[w - 1].who == all[r].who) all[w - 1].write = all[w - 1].write || all[r].write;
        else all[w++] = all[r];
    }
    all.resize(w);
    std::uint64_t h = 0;
    for (std::size_t i = 0; i < all.size();) {
        const std::uint32_t obj = all[i].obj;
        h = sim::hash_combine(h, obj);
        while (i < all.size() && all[i].obj == obj) {
            if (all[i].write) {
                h = sim::hash_combine(sim::hash_combine(h, 1), all[i].who);
                ++i;
                continue;
            }
            reads.clear();
            for (; i < all.size() && all[i].obj == obj && !all[i].write; ++i) reads.push_back(all[i].who);
            std::sort(reads.begin(), reads.end());
            for (auto r : reads) h = sim::hash_combine(sim::hash_combine(h, 0), r);
        }
    }
    return h;
}

}  // namespace regsync::explore

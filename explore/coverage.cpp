#include "explore/coverage.h"

#include <algorithm>

#include "sim/object_slots.h"
#include "sim/rng.h"

namespace regsync::explore {

std::uint64_t interleaving_fingerprint(const std::vector<sim::StepRecord>& steps) {
    struct Access {
        std::uint64_t who;  // actor << 32 | the actor's step number
        bool write;
    };
    // Per object, its accesses in step order, one per step (write if any
    // access of the step wrote it). The buffers are the thread's, reused
    // from one execution to the next.
    thread_local sim::ObjectSlots slots;
    thread_local std::vector<std::vector<Access>> per;  // by slot
    thread_local std::vector<std::uint32_t> local;
    thread_local std::vector<std::uint64_t> reads;
    slots.clear();
    local.clear();
    const auto list = [&](std::uint32_t id) -> std::vector<Access>& {
        const auto [k, fresh] = slots.slot(id);
        if (per.size() <= k) per.emplace_back();
        if (fresh) per[k].clear();
        return per[k];
    };
    for (const auto& s : steps) {
        // A step that only found its actor must wait changes nothing: an
        // execution where the actor came later and did not wait is the same.
        const bool only_blocked = std::all_of(s.accesses.begin(), s.accesses.end(),
                                              [&](const sim::Access& a) { return !a.write && a.obj == sim::Obj::wake(s.actor); });
        if (only_blocked) continue;
        if (local.size() <= s.actor) local.resize(s.actor + 1u, 0);
        const std::uint64_t who = (std::uint64_t{s.actor} << 32) | local[s.actor]++;
        for (const auto& a : s.accesses) {
            if (sim::Obj::is_wake(a.obj)) continue;  // scheduler bookkeeping
            auto& l = list(a.obj);
            if (!l.empty() && l.back().who == who) l.back().write = l.back().write || a.write;
            else l.push_back({who, a.write});
        }
    }
    // Objects in id order; per object, each write in order and the set of
    // reads between two writes (their order among themselves is no choice).
    thread_local std::vector<std::pair<std::uint32_t, std::uint32_t>> order;  // (id, slot)
    order.clear();
    for (std::uint32_t x = 0; x < slots.size(); ++x) order.emplace_back(slots.id(x), x);
    std::sort(order.begin(), order.end());
    std::uint64_t h = 0;
    for (const auto& [obj, k] : order) {
        const auto& l = per[k];
        h = sim::hash_combine(h, obj);
        for (std::size_t i = 0; i < l.size();) {
            if (l[i].write) {
                h = sim::hash_combine(sim::hash_combine(h, 1), l[i].who);
                ++i;
                continue;
            }
            reads.clear();
            for (; i < l.size() && !l[i].write; ++i) reads.push_back(l[i].who);
            std::sort(reads.begin(), reads.end());
            for (auto r : reads) h = sim::hash_combine(sim::hash_combine(h, 0), r);
        }
    }
    return h;
}

}  // namespace regsync::explore

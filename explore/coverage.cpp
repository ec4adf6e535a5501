#include "explore/coverage.h"

#include <algorithm>
#include <map>

#include "sim/rng.h"

namespace regsync::explore {

std::uint64_t interleaving_fingerprint(const std::vector<sim::StepRecord>& steps) {
    struct Access {
        std::uint64_t who;  // actor << 32 | the actor's step number
        bool write;
    };
    std::map<std::uint32_t, std::vector<Access>> per_obj;
    std::map<sim::ActorId, std::uint32_t> local;
    for (const auto& s : steps) {
        // A step that only found its actor must wait changes nothing: an
        // execution where the actor came later and did not wait is the same.
        const bool only_blocked = std::all_of(s.accesses.begin(), s.accesses.end(),
                                              [&](const sim::Access& a) { return !a.write && a.obj == sim::Obj::wake(s.actor); });
        if (only_blocked) continue;
        const std::uint64_t who = (std::uint64_t{s.actor} << 32) | local[s.actor]++;
        for (const auto& a : s.accesses) {
            if (sim::Obj::is_wake(a.obj)) continue;  // scheduler bookkeeping
            auto& v = per_obj[a.obj];
            if (!v.empty() && v.back().who == who) {
                v.back().write = v.back().write || a.write;
                continue;
            }
            v.push_back({who, a.write});
        }
    }
    std::uint64_t h = 0;
    std::vector<std::uint64_t> reads;
    for (auto& [obj, v] : per_obj) {
        h = sim::hash_combine(h, obj);
        for (std::size_t i = 0; i < v.size();) {
            if (v[i].write) {
                h = sim::hash_combine(sim::hash_combine(h, 1), v[i].who);
                ++i;
                continue;
            }
            reads.clear();
            for (; i < v.size() && !v[i].write; ++i) reads.push_back(v[i].who);
            std::sort(reads.begin(), reads.end());
            for (auto r : reads) h = sim::hash_combine(sim::hash_combine(h, 0), r);
        }
    }
    return h;
}

}  // namespace regsync::explore

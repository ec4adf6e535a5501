// Numbers the objects of one execution 0, 1, 2, ... in the order they are
// first seen, for passes that keep state per object (the race analysis,
// the interleaving fingerprint). Object ids are small (sim/footprint.h), so
// a table finds them; an id beyond it is searched for. clear() costs the
// objects seen, not the table: the same instance serves execution after
// execution.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "sim/footprint.h"

namespace regsync::sim {

class ObjectSlots {
public:
    // The slot of `obj`, and whether this is its first time.
    std::pair<std::size_t, bool> slot(std::uint32_t obj) {
        if (table_.empty()) table_.assign(kDense, -1);
        const std::size_t d = dense(obj);
        std::int32_t k = d < kDense ? table_[d] : -1;
        if (k < 0 && d >= kDense)
            for (std::size_t x = 0; x < ids_.size(); ++x)
                if (ids_[x] == obj) k = static_cast<std::int32_t>(x);
        if (k >= 0) return {static_cast<std::size_t>(k), false};
        ids_.push_back(obj);
        if (d < kDense) table_[d] = static_cast<std::int32_t>(ids_.size() - 1);
        return {ids_.size() - 1, true};
    }
    // The slot of `obj` if it was seen, else -1.
    std::int64_t find(std::uint32_t obj) const {
        const std::size_t d = dense(obj);
        if (d < kDense) return table_.empty() ? -1 : table_[d];
        for (std::size_t x = 0; x < ids_.size(); ++x)
            if (ids_[x] == obj) return static_cast<std::int64_t>(x);
        return -1;
    }
    void clear() {
        for (std::uint32_t obj : ids_)
            if (const std::size_t d = dense(obj); d < kDense) table_[d] = -1;
        ids_.clear();
    }
    std::size_t size() const { return ids_.size(); }
    std::uint32_t id(std::size_t slot) const { return ids_[slot]; }

private:
    // Wake objects (one per actor) after the others.
    static constexpr std::size_t kDense = 0x10000 + 0x400;
    static std::size_t dense(std::uint32_t obj) { return Obj::is_wake(obj) ? 0x10000 + (obj & 0xffff) : obj; }
    std::vector<std::int32_t> table_;
    std::vector<std::uint32_t> ids_;
};

}  // namespace regsync::sim

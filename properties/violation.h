#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "properties/property.h"

namespace regsync::properties {

struct Violation {
    Property property{};
    int vcpu = -1;
    int reg = -1;              // catalogue index, -1 when not about a register
    std::uint64_t bits = 0;    // which bits were lost (bitfield registers)
    std::uint32_t origin = 0;  // step of the write/event that was lost
    std::uint32_t step = 0;    // step that lost it (or where the loss became certain)
    std::string message;       // one line naming all of the above
};

struct Verdict {
    std::vector<Violation> violations;
    bool ok() const { return violations.empty(); }
    const Violation* first() const { return violations.empty() ? nullptr : &violations.front(); }
};

}  // namespace regsync::properties

// Coverage fingerprints of one execution.
#pragma once
#include <cstdint>
#include <vector>

#include "sim/footprint.h"

namespace regsync::explore {

// Identifies the execution's Mazurkiewicz trace: for every object, the
// order of the conflicting accesses to it (each named by actor and that
// actor's own step count; reads between two writes as an unordered set).
// Two schedules that only reorder independent steps get the same value;
// steps that only blocked, and the waiters' Obj::wake, are left out.
std::uint64_t interleaving_fingerprint(const std::vector<sim::StepRecord>& steps);

}  // namespace regsync::explore

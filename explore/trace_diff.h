// `regsync diff A.json B.json`: where two traces of one scenario diverge (a
// bug and its fix replayed on the same decisions, say) and what differs
// from there on: events only one side has, and the verdicts.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "harness/trace_file.h"

namespace regsync::explore {

struct TraceDiff {
    bool same = true;
    std::size_t common = 0;           // events equal from the start
    std::string first_a, first_b;     // the first differing event lines ("" = the trace ended)
    std::uint32_t first_step = 0;     // the step of the first difference (the earlier side's)
    std::size_t first_decision = 0;   // the first differing decision (== size when one is a prefix)
    std::vector<std::string> only_a, only_b;  // from there on, without step numbers
    std::vector<std::string> violated_a, violated_b;  // properties
};

// Throws InputError unless both traces are of the same scenario (name and content hash).
TraceDiff diff_traces(const harness::Trace& a, const harness::Trace& b);
std::string diff_text(const TraceDiff& d, const harness::Trace& a, const harness::Trace& b);

}  // namespace regsync::explore

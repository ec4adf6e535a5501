// Scenario files: the TOML parser, the scenario's semantic checks, and one
// execution of what they accept (so a scenario the checks let through
// cannot crash the fake kernel, the VMM or the oracle either).
#include <algorithm>

#include "fuzz/fuzz_util.h"
#include "harness/execution.h"
#include "harness/kernel_profile.h"
#include "harness/scenario.h"
#include "sched/decision_source.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace regsync;
    fuzz::result_or_input_error([&] {
        auto s = harness::parse_scenario(fuzz::text_of(data, size), "fuzz.toml");
        s.max_steps = std::min<std::uint32_t>(s.max_steps, 3000);  // a bounded run per input
        static const auto kernel = harness::resolve_kernel("debian-6.1").config;
        static harness::Engine engine;
        sched::RandomDecisions random(size);
        engine.run(s, "qemu-today", kernel, random);
    });
    return 0;
}

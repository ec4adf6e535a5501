// Traces: the JSON loader and its checks, then the replay of the decisions
// it holds against the bundled scenario it names (mutated seeds keep the
// scenario's content hash, so the replay is reached).
#include "explore/replay.h"
#include "fuzz/fuzz_util.h"
#include "harness/data_dirs.h"
#include "harness/trace_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace regsync;
    fuzz::result_or_input_error([&] {
        const auto t = harness::trace_from_json(fuzz::text_of(data, size), "fuzz.json");
        harness::check_trace_policy(t, "fuzz.json");
        static harness::Engine engine;
        explore::replay_trace(t, harness::data_scenario_dir(), engine);
    });
    return 0;
}

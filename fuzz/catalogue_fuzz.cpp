// The bug catalogue: its entries' references (scenarios, policies, kernels,
// axes), then what the matrix asks of it for every entry.
#include "explore/catalogue.h"
#include "fuzz/fuzz_util.h"
#include "harness/data_dirs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace regsync;
    fuzz::result_or_input_error([&] {
        const auto cat = explore::parse_catalogue(fuzz::text_of(data, size), "fuzz.toml", harness::data_scenario_dir());
        for (const auto& b : cat.bugs) cat.expected(b.scenario, b.representative_policy(), b.representative_kernel());
    });
    return 0;
}

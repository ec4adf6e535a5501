// Kernel profiles: every key an axis, every value one of its alternatives.
#include "fuzz/fuzz_util.h"
#include "harness/kernel_profile.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace regsync;
    fuzz::result_or_input_error([&] { harness::parse_kernel_profile(fuzz::text_of(data, size), "fuzz.toml"); });
    return 0;
}

// What every fuzz target checks: an input gives a result, or one InputError
// whose text is one line. Anything else (a crash, a sanitizer report, a hang
// past libFuzzer's -timeout, another exception escaping) is a finding.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "harness/input_error.h"

namespace regsync::fuzz {

inline std::string text_of(const std::uint8_t* data, std::size_t size) { return std::string(reinterpret_cast<const char*>(data), size); }

// Runs f; an InputError must be a single non-empty line naming where.
template <typename F>
void result_or_input_error(F&& f) {
    try {
        f();
    } catch (const harness::InputError& e) {
        const std::string what = e.what();
        if (what.empty() || what.find('\n') != std::string::npos || what.find(": ") == std::string::npos) {
            std::fprintf(stderr, "input error is not one line naming the input: [%s]\n", what.c_str());
            std::abort();
        }
    }
}

}  // namespace regsync::fuzz

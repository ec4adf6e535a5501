// Bad input (scenario, trace, options): reported as one line naming the
// file, line and what is wrong, with exit code 2.
#pragma once
#include <stdexcept>
#include <string>

namespace regsync::harness {

class InputError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
    static InputError at(const std::string& file, long line, const std::string& what) {
        return InputError(file + ":" + std::to_string(line) + ": " + what);
    }
};

}  // namespace regsync::harness

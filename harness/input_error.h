// Bad input (scenario, trace, options): reported as one line naming the
// file, line and what is wrong, with exit code 2.
#pragma once
#include <cstdio>
#include <stdexcept>
#include <string>

namespace regsync::harness {

class InputError : public std::runtime_error {
public:
    // The text may quote the input (a name, a parser's excerpt), which may
    // hold any byte: control bytes are escaped so the error stays one line.
    explicit InputError(const std::string& what) : std::runtime_error(one_line(what)) {}
    static InputError at(const std::string& file, long line, const std::string& what) {
        return InputError(file + ":" + std::to_string(line) + ": " + what);
    }

private:
    static std::string one_line(const std::string& s) {
        std::string out;
        out.reserve(s.size());
        for (const unsigned char c : s) {
            if (c == '\n') out += "\\n";
            else if (c == '\t') out += ' ';
            else if (c < 0x20 || c == 0x7f) {
                char b[5];
                std::snprintf(b, sizeof b, "\\x%02x", c);
                out += b;
            } else out += static_cast<char>(c);
        }
        return out;
    }
};

}  // namespace regsync::harness

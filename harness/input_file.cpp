#include "harness/input_file.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>

#include "harness/input_error.h"

namespace regsync::harness {

std::optional<std::string> read_input_file(const std::string& path, std::size_t limit, const std::string& what) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    if (!S_ISREG(st.st_mode)) throw InputError(path + ": not a regular file (a " + what + " must be one)");
    if (static_cast<std::uint64_t>(st.st_size) > limit)
        throw InputError(path + ": " + std::to_string(st.st_size) + " bytes, more than the " + std::to_string(limit) + " a " + what + " may have");
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::string text(static_cast<std::size_t>(st.st_size), '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    return text;
}

long line_at(const std::string& text, std::size_t offset) {
    const auto end = text.begin() + static_cast<std::ptrdiff_t>(std::min(offset, text.size()));
    return 1 + static_cast<long>(std::count(text.begin(), end, '\n'));
}

}  // namespace regsync::harness

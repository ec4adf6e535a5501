// Reading an input file whole, within a size limit (harness/limits.h): a
// path that names a directory, a FIFO or /dev/zero is refused instead of read
// for ever.
#pragma once
#include <cstddef>
#include <optional>
#include <string>

namespace regsync::harness {

// nullopt when the file cannot be opened (the caller words that error);
// throws InputError "PATH: ..." when it is not a regular file or is larger
// than `limit` bytes. `what` names the kind of input ("scenario").
std::optional<std::string> read_input_file(const std::string& path, std::size_t limit, const std::string& what);

// 1 + the number of newlines before byte `offset` of `text`.
long line_at(const std::string& text, std::size_t offset);

}  // namespace regsync::harness

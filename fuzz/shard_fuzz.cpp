// Shard reports, and merging them: the input holds one or more reports
// separated by kSeparator lines, merged as `regsync merge` would.
#include <vector>

#include "explore/shard.h"
#include "fuzz/fuzz_util.h"

namespace {
constexpr std::string_view kSeparator = "\n--- next shard ---\n";
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace regsync;
    fuzz::result_or_input_error([&] {
        const std::string text = fuzz::text_of(data, size);
        std::vector<explore::ShardFile> shards;
        std::vector<std::string> paths;
        for (std::size_t at = 0; at <= text.size();) {
            const auto end = std::min(text.find(kSeparator, at), text.size());
            paths.push_back("shard" + std::to_string(paths.size()) + ".json");
            shards.push_back(explore::shard_from_json(text.substr(at, end - at), paths.back()));
            at = end + kSeparator.size();
        }
        explore::merge_shards(shards, paths);
    });
    return 0;
}

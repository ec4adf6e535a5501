// Shard reports, and merging them: the input holds one or more reports
// separated by kSeparator lines, merged as `regsync merge` would: explore's,
// the matrix's or the mutants' shards, told apart by the first's format.
#include <vector>

#include "explore/catalogue.h"
#include "explore/matrix.h"
#include "explore/mutants.h"
#include "explore/shard.h"
#include "fuzz/fuzz_util.h"
#include "harness/data_dirs.h"

namespace {
constexpr std::string_view kSeparator = "\n--- next shard ---\n";
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace regsync;
    fuzz::result_or_input_error([&] {
        const std::string text = fuzz::text_of(data, size);
        std::vector<std::string> texts, paths;
        for (std::size_t at = 0; at <= text.size();) {
            const auto end = std::min(text.find(kSeparator, at), text.size());
            paths.push_back("shard" + std::to_string(paths.size()) + ".json");
            texts.push_back(text.substr(at, end - at));
            at = end + kSeparator.size();
        }
        if (texts.front().find("\"regsync-matrix-shard\"") != std::string::npos) {
            static const auto cat = explore::load_catalogue(harness::data_catalogue_file(), harness::data_scenario_dir());
            static harness::Engine engine;
            explore::MatrixConfig base;
            base.scenario_dir = harness::data_scenario_dir();
            const auto merged = explore::merge_matrix_shards(texts, paths, base, cat, engine);
            explore::matrix_json(merged.first, merged.second);
            return;
        }
        if (texts.front().find("\"regsync-mutants-shard\"") != std::string::npos) {
            explore::mutants_text(explore::merge_mutants_shards(texts, paths));
            return;
        }
        std::vector<explore::ShardFile> shards;
        for (std::size_t k = 0; k < texts.size(); ++k) shards.push_back(explore::shard_from_json(texts[k], paths[k]));
        explore::merge_shards(shards, paths);
    });
    return 0;
}

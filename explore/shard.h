// Sharded random/pct runs: each process runs the execution indices of its
// shard (`explore --shard I/N --report-out F`) and writes the per-execution
// stats; `regsync merge` combines the files into the report one process
// would have printed (same executions, coverage and first violation).
#pragma once
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "explore/explore.h"
#include "harness/trace_file.h"

namespace regsync::explore {

inline constexpr int kShardFormatVersion = 1;

struct ShardFile {
    ExploreConfig cfg;  // policy, kernel, strategy, seed, executions, depth, shard
    std::string scenario_name;
    std::uint64_t scenario_hash = 0;
    ExploreReport report;                   // runs, violating_execution, pct figures
    std::optional<harness::Trace> violation;  // this shard's first violation
};

std::string shard_to_json(const ShardFile& f);
// Throws InputError naming the file and what is wrong.
ShardFile read_shard(const std::string& path);
// The same from the report's text; `path` names it in errors.
ShardFile shard_from_json(const std::string& text, const std::string& path);

struct MergedRun {
    ExploreConfig cfg;
    std::string scenario_name;
    ExploreReport report;
    std::optional<harness::Trace> violation;
};

// Throws InputError when the files are not the shards of one run or leave
// out executions the merged report needs.
MergedRun merge_shards(const std::vector<ShardFile>& shards, const std::vector<std::string>& paths);

// The matrix's and mutants' shard reports: the JSON of each text, which must
// be a report of kind `format` (version 1, by this regsync) agreeing with
// the first on every key of `same`. Throws InputError naming the file.
std::vector<nlohmann::ordered_json> parse_shard_reports(const std::vector<std::string>& texts, const std::vector<std::string>& paths,
                                                        const std::string& format, std::initializer_list<const char*> same);

}  // namespace regsync::explore

// `--shard I/N`, or `--shard auto` (or `auto/N`): the shard index and count
// read from the job engine running this process. Sources, in this order:
// Slurm job arrays, Open MPI, MPICH/PMI, Kubernetes Indexed Jobs, GitLab,
// Buildkite and CircleCI parallel jobs, GoogleTest sharding. Every source
// present must agree; one without a count takes N from `auto/N`.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace regsync::cli {

struct ShardSpec {
    std::uint64_t index = 0, count = 1;
    std::string source;  // "--shard" or the engine, e.g. "Slurm job array"
};

using Getenv = std::function<const char*(const char*)>;

// Throws InputError: a malformed value, no source, sources that disagree,
// a count missing, or an index out of range.
ShardSpec resolve_shard(const std::string& arg, const Getenv& getenv);
// The same from this process's environment.
ShardSpec resolve_shard(const std::string& arg);

// --report-out with "%i" (the shard index) and "%n" (the count); "%%" is %.
std::string shard_path(const std::string& pattern, const ShardSpec& s);

// Writes a shard's report, making its folder; InputError if it cannot.
void write_report(const std::string& path, const std::string& text);

}  // namespace regsync::cli

#include "cli/shard_spec.h"

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "harness/input_error.h"

namespace regsync::cli {

namespace {

using harness::InputError;

// A non-negative decimal, or nullopt for anything else.
std::optional<std::uint64_t> number(const char* s) {
    if (!s || !*s) return std::nullopt;
    std::uint64_t v = 0;
    const char* end = s + std::char_traits<char>::length(s);
    auto [p, ec] = std::from_chars(s, end, v);
    if (ec != std::errc() || p != end) return std::nullopt;
    return v;
}

struct Found {
    std::string source;
    std::uint64_t index;
    std::optional<std::uint64_t> count;
};

// One engine's variables: none set, or index (and count) read.
std::optional<Found> read(const Getenv& env, const std::string& source, const char* index_var, const char* count_var, bool one_based = false) {
    const char* i = env(index_var);
    const char* n = count_var ? env(count_var) : nullptr;
    if (!i && !n) return std::nullopt;
    if (!i) throw InputError("--shard auto: " + std::string(count_var) + " is set but " + index_var + " is not");
    const auto iv = number(i);
    if (!iv || (one_based && *iv == 0)) throw InputError("--shard auto: " + std::string(index_var) + "='" + i + "' is not a shard index");
    Found f{source + " (" + index_var + (count_var ? std::string(", ") + count_var : "") + ")", one_based ? *iv - 1 : *iv, std::nullopt};
    if (n) {
        const auto nv = number(n);
        if (!nv || *nv == 0) throw InputError("--shard auto: " + std::string(count_var) + "='" + n + "' is not a shard count");
        f.count = nv;
    }
    return f;
}

// Slurm numbers array tasks by their --array ids: MIN, MIN+STEP, ...
std::optional<Found> slurm(const Getenv& env) {
    const char* id = env("SLURM_ARRAY_TASK_ID");
    if (!id) return std::nullopt;
    const auto tid = number(id), count = number(env("SLURM_ARRAY_TASK_COUNT"));
    const auto min = number(env("SLURM_ARRAY_TASK_MIN") ? env("SLURM_ARRAY_TASK_MIN") : "0");
    const auto step = number(env("SLURM_ARRAY_TASK_STEP") ? env("SLURM_ARRAY_TASK_STEP") : "1");
    if (!tid || !count || !min || !step || *step == 0 || *count == 0)
        throw InputError("--shard auto: the Slurm array variables (SLURM_ARRAY_TASK_ID, _COUNT, _MIN, _STEP) are not numbers");
    if (*tid < *min || (*tid - *min) % *step != 0)
        throw InputError("--shard auto: SLURM_ARRAY_TASK_ID=" + std::string(id) + " is not MIN + k*STEP of the array");
    return Found{"Slurm job array (SLURM_ARRAY_TASK_*)", (*tid - *min) / *step, *count};
}

}  // namespace

ShardSpec resolve_shard(const std::string& arg, const Getenv& env) {
    if (arg.rfind("auto", 0) != 0) {
        const auto slash = arg.find('/');
        const auto i = slash == std::string::npos ? std::nullopt : number(arg.substr(0, slash).c_str());
        const auto n = slash == std::string::npos ? std::nullopt : number(arg.substr(slash + 1).c_str());
        if (!i || !n || *n == 0 || *i >= *n) throw InputError("--shard: '" + arg + "' is not I/N with 0 <= I < N, nor auto or auto/N");
        return {*i, *n, "--shard"};
    }
    std::optional<std::uint64_t> given;
    if (arg != "auto") {
        given = arg.size() > 5 && arg[4] == '/' ? number(arg.substr(5).c_str()) : std::nullopt;
        if (!given || *given == 0) throw InputError("--shard: '" + arg + "' is not auto or auto/N with N >= 1");
    }
    std::vector<Found> found;
    for (auto f : {slurm(env), read(env, "Open MPI", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"), read(env, "MPICH/PMI", "PMI_RANK", "PMI_SIZE"),
                   read(env, "Kubernetes Indexed Job", "JOB_COMPLETION_INDEX", nullptr),
                   read(env, "GitLab parallel job", "CI_NODE_INDEX", "CI_NODE_TOTAL", true),
                   read(env, "Buildkite parallel job", "BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT"),
                   read(env, "CircleCI parallelism", "CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL"),
                   read(env, "GoogleTest sharding", "GTEST_SHARD_INDEX", "GTEST_TOTAL_SHARDS")})
        if (f) found.push_back(*f);
    if (found.empty())
        throw InputError("--shard auto: no job engine's variables are set (Slurm array, Open MPI, PMI, Kubernetes, GitLab, Buildkite, "
                         "CircleCI, GoogleTest); give --shard I/N");
    ShardSpec s{found.front().index, found.front().count.value_or(given.value_or(0)), found.front().source};
    if (s.count == 0) throw InputError("--shard auto: " + s.source + " gives no shard count: give it as --shard auto/N");
    if (given && *given != s.count)
        throw InputError("--shard auto/" + std::to_string(*given) + ": " + s.source + " says " + std::to_string(s.count) + " shards");
    for (const auto& f : found)
        if (f.index != s.index || f.count.value_or(s.count) != s.count)
            throw InputError("--shard auto: " + found.front().source + " says shard " + std::to_string(s.index) + " of " + std::to_string(s.count) +
                             ", " + f.source + " says " + std::to_string(f.index) + (f.count ? " of " + std::to_string(*f.count) : ""));
    if (s.index >= s.count)
        throw InputError("--shard auto: " + s.source + " gives shard index " + std::to_string(s.index) + " of " + std::to_string(s.count));
    return s;
}

ShardSpec resolve_shard(const std::string& arg) {
    return resolve_shard(arg, [](const char* v) { return static_cast<const char*>(std::getenv(v)); });
}

std::string shard_path(const std::string& pattern, const ShardSpec& s) {
    std::string out;
    for (std::size_t k = 0; k < pattern.size(); ++k) {
        if (pattern[k] != '%' || k + 1 == pattern.size()) {
            out += pattern[k];
            continue;
        }
        const char c = pattern[++k];
        if (c == 'i') out += std::to_string(s.index);
        else if (c == 'n') out += std::to_string(s.count);
        else if (c == '%') out += '%';
        else throw InputError("--report-out: '" + pattern + "': %" + std::string(1, c) + " is not %i, %n or %%");
    }
    return out;
}

void write_report(const std::string& path, const std::string& text) {
    if (const auto parent = std::filesystem::path(path).parent_path(); !parent.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(parent, ec);  // a failure shows as the write's error below
    }
    std::ofstream out(path, std::ios::binary);
    out << text;
    if (!out) throw InputError(path + ": cannot write the shard report");
}

}  // namespace regsync::cli

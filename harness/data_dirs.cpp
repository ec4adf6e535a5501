#include "harness/data_dirs.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace regsync::harness {

namespace {

struct Dirs {
    std::string scenarios, kernels, catalogue;
};

Dirs find() {
    namespace fs = std::filesystem;
    auto from = [](const fs::path& root) {
        return Dirs{(root / "scenarios").string(), (root / "kernels").string(), (root / "catalogue" / "verdicts.toml").string()};
    };
    if (const char* env = std::getenv("REGSYNC_DATA_DIR"); env && *env) return from(env);
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const fs::path share = exe.parent_path().parent_path() / "share" / "regsync";
        if (fs::is_directory(share / "scenarios", ec)) return from(share);
    }
    return Dirs{REGSYNC_SCENARIO_DIR, REGSYNC_KERNEL_DIR, REGSYNC_CATALOGUE};
}

const Dirs& dirs() {
    static const Dirs d = find();
    return d;
}

}  // namespace

const std::string& data_scenario_dir() { return dirs().scenarios; }
const std::string& data_kernel_dir() { return dirs().kernels; }
const std::string& data_catalogue_file() { return dirs().catalogue; }

}  // namespace regsync::harness

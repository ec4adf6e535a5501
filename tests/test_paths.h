#pragma once
#include <cstdio>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

namespace regsync::testing {

inline std::string scenario_dir() { return REGSYNC_SCENARIO_DIR; }
inline std::string traces_dir() { return REGSYNC_TRACES_DIR; }

struct CommandResult {
    int exit_code;
    std::string output;  // stdout and stderr
};

// Runs the regsync CLI with `args` (a shell-quoted string), with `env`
// (VAR=value ...) in its environment.
inline CommandResult run_cli(const std::string& args, const std::string& env = "") {
    const std::string cmd = (env.empty() ? "" : "env " + env + " ") + std::string(REGSYNC_BIN) + " " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    while (p && std::fgets(buf, sizeof buf, p)) {
        // ASan's note about stack switching on fiber stacks (see README,
        // "Sanitizers") carries a pid and addresses: not the CLI's output.
        const std::string line = buf;
        if (line.find("ASan is ignoring requested __asan_handle_no_return") != std::string::npos ||
            line.rfind("False positive error reports may follow", 0) == 0 ||
            line.rfind("For details see https://github.com/google/sanitizers/issues/189", 0) == 0)
            continue;
        out += line;
    }
    const int status = p ? pclose(p) : -1;
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// Unique per test and process: ctest -j runs tests side by side.
inline std::string temp_path(const std::string& name) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return ::testing::TempDir() + "regsync-" + std::to_string(getpid()) + "-" + (info ? info->name() : "global") + "-" + name;
}

inline void write_file(const std::string& path, const std::string& text) {
    FILE* f = std::fopen(path.c_str(), "wb");
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
}

inline std::string read_file(const std::string& path) {
    std::string s;
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return s;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) s.append(buf, n);
    std::fclose(f);
    return s;
}

}  // namespace regsync::testing

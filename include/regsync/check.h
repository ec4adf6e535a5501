// regsync as a library, for a VMM's own test suite: load or link a sync
// layer written against <regsync/regsync.h> and check it on bundled (or
// your own) scenarios and kernel profiles with regsync's explorers, in
// process. <regsync/gtest.h> turns a check into one GoogleTest assertion.
//
// In process means without the CLI's supervisor: a layer that crashes takes
// the test down with it (run `regsync --policy-plugin` for a report and a
// trace of the crash); a hook's unhandled error ends that execution and is
// reported in the result.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "regsync/regsync.h"

namespace regsync {

struct CheckOptions {
    // Bundled scenario names or .toml files; empty: every bundled scenario
    // of the layer's architecture.
    std::vector<std::string> scenarios;
    // Kernel profile or variant names, or profile files; empty: every
    // bundled profile.
    std::vector<std::string> kernels;
    // The matrix's search per cell: bounded dfs (bpor) within `budget`
    // schedules with `bound` preemptions, then `executions` random ones if
    // it did not finish. strategy "random": random executions only.
    std::string strategy = "dfs";
    std::uint32_t bound = 2;
    std::uint64_t budget = 5000;
    std::uint64_t executions = 2000;
    std::uint64_t seed = 1;
    // Where the shortest violating trace of each cell goes ("" = nowhere).
    std::string trace_dir;
    // regsync's data (scenarios/, kernels/, catalogue/); "" = the installed
    // package's, as regsyncConfig.cmake tells the compiler.
#ifdef REGSYNC_INSTALLED_DATA_DIR
    std::string data_dir = REGSYNC_INSTALLED_DATA_DIR;
#else
    std::string data_dir;
#endif
};

struct CellVerdict {
    std::string scenario, kernel;
    std::vector<std::string> violated;  // properties, step-limit, deadlock; empty = held
    std::string error;                  // an execution ended in the layer's error (a fault)
    std::string trace;                  // the shortest violating trace, when written
};

struct CheckResult {
    bool held = true;  // no cell violated anything and no execution faulted
    std::vector<CellVerdict> cells;
    std::string report;  // one line per cell that did not hold
};

// Loads a plugin built with regsync_add_sync_layer(); returns the names of
// the policies it registered. Throws std::runtime_error with one line naming
// the file (wrong ABI version, no entry point, malformed layer).
std::vector<std::string> load_sync_layer(const std::string& plugin_path);
// Registers a layer linked into the test program itself.
void register_sync_layer(const regsync_sync_layer& layer);

// Checks `policy` (a layer's name, or a built-in) in every (scenario, kernel)
// cell. Throws std::runtime_error for unknown names or unreadable files.
CheckResult check_sync_layer(const std::string& policy, const CheckOptions& options = {});

}  // namespace regsync

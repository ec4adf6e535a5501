// Runs a command whose policies include users' sync layers (plugins) in a
// supervised child process, so that a fault in the code under test cannot
// take regsync down silently. The child records each execution in flight
// (sim/flight_recorder.h) in memory the parent reads: the execution's
// identity, its decisions and the hook it is in. When the child dies of a
// signal, exits from inside a hook, reports a hook's unhandled error, or
// stays in one hook past the timeout (a blocking OS call, named from
// /proc/PID/task/TID/syscall), the parent writes the execution so far as a
// trace, prints what happened and the command that replays it, and exits 4.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace regsync::cli {

inline constexpr int kExitPluginFault = 4;

struct SupervisorOptions {
    std::vector<std::string> plugins;  // for the replay command line
    std::string fault_dir = "traces/generated";
    int hook_timeout_ms = 10000;       // REGSYNC_HOOK_TIMEOUT_MS
};

// `body` runs in the child; its return value is the exit code. Without a
// supervisor (REGSYNC_SUPERVISE=0) it runs here.
int run_supervised(const SupervisorOptions& opt, const std::function<int()>& body);

}  // namespace regsync::cli

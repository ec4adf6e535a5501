// What each execution in flight has done so far, kept where a supervising
// process can read it after the code under test (a sync-layer plugin)
// crashed, hung or failed: the execution's identity, its decisions and the
// hook it is in. One slot per OS thread that runs executions; the memory is a
// MAP_SHARED mapping made before the supervisor forks (cli/supervisor.cpp).
// Without a recorder installed every call here is a no-op.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace regsync::sim::flight {

inline constexpr std::size_t kSlots = 32;
// How a supervised process ends after a plugin hook returned an error it did
// not handle; the supervisor turns it into exit code 4 with a report.
inline constexpr int kFaultExit = 4;
inline constexpr std::size_t kMaxDecisions = std::size_t{1} << 18;

enum class SlotState : std::uint32_t { Idle, Running, Faulted };

struct Slot {
    std::atomic<std::uint32_t> owned;      // held by a live thread (released when it exits)
    std::atomic<std::uint32_t> state;      // SlotState
    std::atomic<std::uint64_t> heartbeat;  // bumped at every decision and hook entry
    std::atomic<std::uint32_t> in_hook;    // a plugin hook is running
    std::atomic<std::uint32_t> crashed;    // a fatal signal arrived on this thread
    std::int32_t tid;                      // the OS thread, for /proc/<pid>/task/<tid>/syscall
    char hook[64];                         // the hook's name, e.g. "pre_run"
    std::int32_t hook_vcpu;                // and the vCPU it ran for (the supervisor writes "pre_run (vcpu1)")
    char fault[512];                       // a hook's own error, when it returned one
    char scenario_name[256];
    char scenario_source[2048];
    char policy[128];
    char plugin[1024];                     // the policy's shared object, "" for a built-in
    char kernel[2048];
    std::uint64_t scenario_hash;
    std::uint32_t n_decisions;
    std::uint32_t truncated;
    std::uint16_t decisions[kMaxDecisions];
};

struct Region {
    std::atomic<std::uint32_t> claimed;  // slots ever handed out (the highest in use + 1)
    Slot slots[kSlots];
};

// Installs the process's region (nullptr: none). Before any thread runs executions.
void install(Region* r);
bool installed();
Region* installed_region();
// This thread's slot, claimed on first use and given back when the thread
// exits (explorers start threads per run); nullptr without a region or when
// kSlots threads hold one.
Slot* slot();

// Engine::run: a new execution starts on this thread.
void begin_execution(std::string_view scenario_name, std::string_view scenario_source, std::uint64_t scenario_hash,
                     std::string_view policy, std::string_view plugin, std::string_view kernel);
void end_execution();
void record_decision(std::uint16_t actor);
// Progress inside a hook (an ioctl returned), for the supervisor's watchdog.
void heartbeat();
// Around a plugin hook.
void enter_hook(std::string_view hook, int vcpu);
void leave_hook();
// A hook reported an error it did not handle: recorded for the supervisor.
void record_fault(std::string_view message);

// From a fatal-signal handler (async-signal-safe): marks this thread's slot.
void mark_crashed();

// Copies a string into a fixed buffer, NUL-terminated, cut if it must be.
void copy_str(char* dst, std::size_t cap, std::string_view s);

}  // namespace regsync::sim::flight

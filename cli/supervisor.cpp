#include "cli/supervisor.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "harness/input_error.h"
#include "harness/plugin_loader.h"
#include "harness/trace_file.h"
#include "sim/flight_recorder.h"

#ifdef REGSYNC_SANITIZE
// ASan's own SIGSEGV handler would print and exit(1) without letting the
// worker mark its flight-recorder slot: let ours run (it ends the worker by
// the same signal).
extern "C" const char* __asan_default_options() { return "allow_user_segv_handler=1"; }
#endif

namespace regsync::cli {

namespace {

using sim::flight::Region;
using sim::flight::Slot;
using sim::flight::SlotState;

// The signals of a crash in the code under test: the worker marks its slot
// on them, and the supervisor reports them even between hooks.
constexpr int kFatalSignals[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGTRAP};

void on_fatal_signal(int sig) {
    sim::flight::mark_crashed();
    ::signal(sig, SIG_DFL);
    ::raise(sig);
}

const char* signal_name(int sig) {
    switch (sig) {
        case SIGSEGV: return "SIGSEGV";
        case SIGABRT: return "SIGABRT";
        case SIGBUS: return "SIGBUS";
        case SIGFPE: return "SIGFPE";
        case SIGILL: return "SIGILL";
        case SIGKILL: return "SIGKILL";
        case SIGTERM: return "SIGTERM";
        case SIGTRAP: return "SIGTRAP";
        default: return "a signal";
    }
}

// x86-64 numbers of the calls a hook blocks in.
const char* syscall_name(long nr) {
    switch (nr) {
        case 0: return "read";
        case 1: return "write";
        case 7: return "poll";
        case 23: return "select";
        case 24: return "sched_yield";
        case 34: return "pause";
        case 35: return "nanosleep";
        case 43: return "accept";
        case 45: return "recvfrom";
        case 47: return "recvmsg";
        case 61: return "wait4";
        case 202: return "futex (a pthread mutex, condition variable or join)";
        case 230: return "clock_nanosleep (sleep, usleep, nanosleep)";
        case 232: return "epoll_wait";
        case 270: return "pselect6";
        case 271: return "ppoll";
        case 281: return "epoll_pwait";
        case 288: return "accept4";
        default: return nullptr;
    }
}

// What a thread of `pid` is doing, from /proc.
std::string thread_activity(pid_t pid, int tid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/syscall");
    std::string first;
    if (!(in >> first)) return "in an unknown state (/proc gave nothing)";
    if (first == "running") return "running in user code, not in a system call (a loop that never returns?)";
    char* end = nullptr;
    const long nr = std::strtol(first.c_str(), &end, 10);
    if (!end || *end) return "in an unknown state (" + first + ")";
    const char* n = syscall_name(nr);
    return std::string("blocked in the OS: system call ") + (n ? n : "") + (n ? " " : "") + "(" + std::to_string(nr) + ")";
}

// The slot of the execution the fault belongs to.
Slot* faulting_slot(Region& r, bool by_signal) {
    const std::uint32_t n = std::min<std::uint32_t>(r.claimed.load(), sim::flight::kSlots);
    for (std::uint32_t i = 0; i < n; ++i)
        if (r.slots[i].state.load() == static_cast<std::uint32_t>(SlotState::Faulted)) return &r.slots[i];
    if (by_signal)
        for (std::uint32_t i = 0; i < n; ++i)
            if (r.slots[i].crashed.load()) return &r.slots[i];
    for (std::uint32_t i = 0; i < n; ++i)
        if (r.slots[i].state.load() == static_cast<std::uint32_t>(SlotState::Running) && r.slots[i].in_hook.load()) return &r.slots[i];
    return nullptr;
}

std::string sanitize(std::string s) {
    for (auto& c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) c = '_';
    return s;
}

int report(const SupervisorOptions& opt, Slot* s, const std::string& what) {
    if (!s || !*s->policy) {
        std::fprintf(stderr, "regsync: the code under test %s outside any execution (while loading a plugin?); no trace to write\n", what.c_str());
        return kExitPluginFault;
    }
    harness::Trace t;
    t.tool_version = REGSYNC_VERSION;
    t.scenario_name = s->scenario_name;
    t.scenario_source = s->scenario_source;
    t.scenario_hash = s->scenario_hash;
    t.policy = s->policy;
    t.plugin = s->plugin;
    if (!t.plugin.empty()) {
        try {
            t.plugin_hash = harness::file_hash(t.plugin);
        } catch (const harness::InputError&) {
        }
    }
    t.kernel = s->kernel;
    t.strategy = "supervisor";
    t.decisions.assign(s->decisions, s->decisions + s->n_decisions);
    t.outcome = "plugin-fault";
    t.fault = what;
    if (*s->hook) t.fault_hook = std::string(s->hook) + " (vcpu" + std::to_string(s->hook_vcpu) + ")";
    const std::string path = opt.fault_dir + "/fault-" + sanitize(t.scenario_name) + "-" + sanitize(t.policy) + "-" + sanitize(t.kernel) + ".json";
    std::string written = path;
    try {
        harness::write_trace(path, t);
    } catch (const harness::InputError& e) {
        written = std::string("(not written: ") + e.what() + ")";
    }
    std::string replay = "regsync replay " + path;
    for (const auto& p : opt.plugins) replay += " --policy-plugin " + p;
    std::fprintf(stderr, "regsync: PLUGIN FAULT: policy '%s'%s%s %s in hook %s\n", t.policy.c_str(), t.plugin.empty() ? "" : " of ",
                 t.plugin.c_str(), what.c_str(), t.fault_hook.empty() ? "(none: between hooks)" : t.fault_hook.c_str());
    std::fprintf(stderr, "  execution: scenario %s, kernel %s, %zu decisions so far%s\n", t.scenario_name.c_str(), t.kernel.c_str(),
                 t.decisions.size(), s->truncated ? " (truncated: the trace will not replay)" : "");
    std::fprintf(stderr, "  trace: %s\n  replay with: %s\n", written.c_str(), replay.c_str());
    return kExitPluginFault;
}

}  // namespace

int run_supervised(const SupervisorOptions& opt, const std::function<int()>& body) {
    const char* env = std::getenv("REGSYNC_SUPERVISE");
    if (env && std::strcmp(env, "0") == 0) return body();
    void* mem = ::mmap(nullptr, sizeof(Region), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) {
        std::fprintf(stderr, "regsync: cannot map the supervisor's memory (%s); running unsupervised\n", std::strerror(errno));
        return body();
    }
    auto* region = static_cast<Region*>(mem);  // zero-filled: every slot Idle
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = ::fork();
    if (pid < 0) {
        std::fprintf(stderr, "regsync: cannot fork the supervised worker (%s)\n", std::strerror(errno));
        return kExitPluginFault;
    }
    if (pid == 0) {
        sim::flight::install(region);
        for (int sig : kFatalSignals) ::signal(sig, on_fatal_signal);
        const int code = body();
        std::fflush(stdout);
        std::fflush(stderr);
        ::_exit(code);
    }
    int timeout_ms = opt.hook_timeout_ms;
    if (const char* t = std::getenv("REGSYNC_HOOK_TIMEOUT_MS")) timeout_ms = std::max(1, std::atoi(t));
    std::vector<std::uint64_t> beat(sim::flight::kSlots, 0);
    std::vector<int> still(sim::flight::kSlots, 0);  // ms without progress inside a hook
    constexpr int kPollMs = 20;
    for (;;) {
        int status = 0;
        const pid_t w = ::waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            if (WIFSIGNALED(status)) {
                const int sig = WTERMSIG(status);
                Slot* s = faulting_slot(*region, true);
                // A signal from outside (SIGPIPE of a closed pipe, SIGINT, SIGTERM)
                // while no hook ran is not the layer's: end the same way.
                const bool fatal = std::find(std::begin(kFatalSignals), std::end(kFatalSignals), sig) != std::end(kFatalSignals);
                if (!fatal && !(s && s->in_hook.load())) {
                    std::fflush(stdout);
                    ::signal(sig, SIG_DFL);
                    ::raise(sig);
                    return 128 + sig;
                }
                return report(opt, s, std::string("crashed with ") + signal_name(sig));
            }
            const int code = WEXITSTATUS(status);
            Slot* s = faulting_slot(*region, false);
            if (s && s->state.load() == static_cast<std::uint32_t>(SlotState::Faulted)) return report(opt, s, std::string("failed: ") + s->fault);
            if (s) return report(opt, s, "exited with status " + std::to_string(code) + " inside the hook (exit(), or a sanitizer's report above)");
            return code;
        }
        if (w < 0) return kExitPluginFault;
        std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
        const std::uint32_t n = std::min<std::uint32_t>(region->claimed.load(), sim::flight::kSlots);
        for (std::uint32_t i = 0; i < n; ++i) {
            Slot& s = region->slots[i];
            const std::uint64_t b = s.heartbeat.load();
            const bool in = s.state.load() == static_cast<std::uint32_t>(SlotState::Running) && s.in_hook.load();
            still[i] = in && b == beat[i] ? still[i] + kPollMs : 0;
            beat[i] = b;
            if (still[i] < timeout_ms) continue;
            const std::string activity = thread_activity(pid, s.tid);
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return report(opt, &s, "did not return within " + std::to_string(timeout_ms) + " ms, " + activity);
        }
    }
}

}  // namespace regsync::cli

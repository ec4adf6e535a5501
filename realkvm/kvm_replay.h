// regsync kvm-replay: a recorded x86 trace replayed on the fake (exactly,
// by its decisions) with every vCPU ioctl mirrored to real vCPUs in the
// same order (lockstep_vm.h). The report shows, per step that observed
// state, the fake's answer and the real kernel's, then the oracle's verdict
// on what the real kernel showed.
#pragma once
#include <chrono>
#include <string>
#include <vector>

#include "harness/trace_file.h"

namespace regsync::realkvm {

struct KvmReplayReport {
    std::string text;
    bool violated = false;    // the real observations violate a property
    std::string unavailable;  // no real VM could be made: why (nothing ran)
    std::vector<std::string> simulated;  // properties violated in the simulation, in order
    std::vector<std::string> real;       // ... and on the real kernel's observations
    std::size_t unexplained = 0;         // register differences the model does not explain
    std::size_t exits_differ = 0;        // KVM_RUN exits where fake and real differ
    std::vector<std::string> notes;      // divergences of the real run
    // Each step that observed state, fake | real, for the side-by-side page.
    struct Row {
        std::uint32_t step = 0;
        std::string actor, what;  // the ioctl, or "KVM_RUN exit"
        std::string detail;       // "fake X | real Y" per differing register, or the exits
        bool differs = false;     // a difference the model does not explain
    };
    std::vector<Row> rows;
    std::vector<std::string> real_verdict;  // the lines of the verdict on the real kernel's observations
};

// kvm-replay --html: the fake's drawing (`fake_fragment`, from
// explore::view_fragment) beside the real run's observations, in the same style.
std::string kvm_replay_html(const KvmReplayReport& r, const std::string& title, const std::string& css, const std::string& fake_fragment);

// Throws harness::InputError for a trace that cannot be replayed (scenario
// missing or changed, unknown kernel variant, not x86, sync-regs policy).
// `tick`: real time per tick of the virtual clock (LockstepVm::set_tick).
KvmReplayReport kvm_replay(const harness::Trace& t, const std::string& trace_file, const std::string& scenario_dir,
                           std::chrono::microseconds tick = std::chrono::microseconds(0));

}  // namespace regsync::realkvm

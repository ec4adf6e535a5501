// Main-loop operations of the VMM (vl.c, monitor, savevm.c): what a user or
// management layer does to a running VM. Each emits the Intent events that
// say what it means to change, so the oracle can check that it happened.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "model/kvm_all.h"

namespace regsync::model {

class Machine {
public:
    explicit Machine(Vmm& vmm) : vmm_(vmm) {}

    // main(): cpu_synchronize_all_post_init() after machine init, then vm_start().
    void machine_init_done();
    // "info registers": synchronize, then print one register.
    std::uint64_t monitor_read(int cpu, RegIndex r);
    // gdbstub-style register write: stop, synchronize, write, restart.
    void monitor_write(int cpu, RegIndex r, std::uint64_t v);
    // main_loop_should_exit() on a reset request (2013 vl.c).
    void system_reset();
    void savevm(const std::string& name);
    bool loadvm(const std::string& name);  // false: no such snapshot
    std::uint64_t state_hash() const;      // running flag and the snapshots (dfs --state-cache)

private:
    void cpu_reset(CPUState& cpu);
    void qemu_system_reset();
    void emit_intent(int cpu, RegIndex r, std::uint64_t v, sim::IntentCause why);

    Vmm& vmm_;
    bool running_ = false;
    std::vector<std::pair<std::string, std::vector<RegisterValues>>> snapshots_;
};

}  // namespace regsync::model

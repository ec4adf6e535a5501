// Which objects one scheduler step read and wrote. Recorded by the fake
// kernel and the VMM model at every access; used later for partial-order
// reduction (two steps commute when their footprints do not conflict).
#pragma once
#include <cstdint>
#include <vector>

#include "sim/scheduler.h"

namespace regsync::sim {

// Object ids: per-vCPU slots (register index or a named kernel object) and
// a few VM-wide objects.
struct Obj {
    static constexpr std::uint32_t kApicEvents = 64;  // KVM_APIC_INIT/SIPI pending bits
    static constexpr std::uint32_t kSignal = 65;      // pending kick of the vCPU thread
    static constexpr std::uint32_t kVcpuMutex = 66;   // vcpu->mutex
    static constexpr std::uint32_t kVmmCpu = 67;      // the VMM's CPUState for this vCPU
    static constexpr std::uint32_t kTimer = 68;       // Book-E timer state
    static constexpr std::uint32_t kMpState = 69;     // mp_state outside the catalogue view
    static constexpr std::uint32_t kResetRequest = 70;  // a pending KVM_REQ_VCPU_RESET and its payload
    // The port writes this vCPU reported (kvm_handle_io()): the I/O log is a
    // log per vCPU, since nothing reads the order of two vCPUs' writes.
    static constexpr std::uint32_t kIoLog = 71;
    static constexpr std::uint32_t vcpu(int v, std::uint32_t slot) { return (static_cast<std::uint32_t>(v + 1) << 8) | slot; }
    static constexpr std::uint32_t kClock = 1;
    static constexpr std::uint32_t kBql = 2;          // qemu_global_mutex
    static constexpr std::uint32_t kMainLoop = 3;     // pause/resume/run_on_cpu queues
    static constexpr std::uint32_t kRunState = 4;     // runstate_is_running()
    static constexpr std::uint32_t kVmCounter = 5;    // the VM-wide counter offsets (arm64 voffset/poffset, riscv time_delta)
    // regsync_lock() of a plugin sync layer (include/regsync/regsync.h), ids 0..15.
    static constexpr std::uint32_t plugin_lock(unsigned id) { return 16 + id; }
    // The wait predicate of a blocked actor: written by the step that made
    // it true (or false again), read by the actor's blocking and waking
    // steps, so that enabling an actor is a dependency like any other.
    static constexpr std::uint32_t wake(std::uint16_t actor) { return 0xf0000000u | actor; }
    static constexpr bool is_wake(std::uint32_t obj) { return (obj & 0xf0000000u) == 0xf0000000u; }
};

struct Access {
    std::uint32_t obj;
    bool write;
    bool operator==(const Access&) const = default;
};

// A mutex taken or released in a step (the BQL, vcpu->mutex, a plugin
// lock). Its read and write are in `accesses` too; this says which of them
// were the lock's own protocol, for the lock-aware reduction (sched/dpor.h).
struct LockOp {
    // Attempt: the read that finds it free or waits; Reacquire: taken back
    // after a condition wait.
    enum Kind : std::uint8_t { Attempt, Acquire, Reacquire, Release };
    std::uint32_t obj;
    Kind kind;
    bool operator==(const LockOp&) const = default;
};

struct StepRecord {
    ActorId actor = kNoActor;
    std::vector<Access> accesses;
    std::vector<LockOp> locks;
};

}  // namespace regsync::sim

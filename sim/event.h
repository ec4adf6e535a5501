// One thing that actually happened in an execution. The oracle in
// properties/ judges an execution from these alone, never from a sync
// policy's bookkeeping (kvm_vcpu_dirty, caches).
#pragma once
#include <cstdint>

#include "sim/scheduler.h"

namespace regsync::sim {

enum class EventKind : std::uint8_t {
    KernelWrite,     // a kernel register changed: vcpu, reg, old, value, mask of changed bits, writer
    Ioctl,           // userspace issued a vCPU ioctl; aux = request number
    Intent,          // VMM generic code means to set reg (monitor, reset value, snapshot)
    VcpuEnter,       // KVM_RUN entered (after its own pending-event processing)
    VcpuExit,        // KVM_RUN returned to userspace; aux = exit reason
    GuestTscRead,    // guest RDTSC result: value
    GuestIo,         // guest port I/O exit: aux = port, value
    GuestEntry,      // guest starts executing a program at its entry, pc = value
    InitSent,        // vcpu = sender, aux = target
    SipiSent,        // vcpu = sender, aux = target, value = vector
    SnapshotSaved,   // savevm captured reg of vcpu with value into snapshot aux
    SnapshotLoaded,  // loadvm started restoring snapshot aux
    MonitorRead,     // monitor printed reg of vcpu as value
    VmStopped,       // all vCPUs paused by the main loop
    VmResumed,
    TimerInterrupt,  // the LAPIC timer fired for vcpu at deadline value
    // What the kernel did with INIT and SIPI (the lost-init oracle judges
    // each INIT by its fate, not by guessing from the guest's progress):
    InitAccepted,    // vcpu took every INIT pending on it (kvm_apic_accept_events; pre-3.10: the sender's store)
    InitCleared,     // a pending INIT of vcpu was cleared by userspace (KVM_SET_VCPU_EVENTS smi.latched_init = 0)
    InitLatched,     // userspace made an INIT pending on vcpu (KVM_SET_VCPU_EVENTS smi.latched_init = 1)
    SipiAccepted,    // vcpu, waiting for SIPI, started at vector value
    SipiDropped,     // a SIPI to vcpu was dropped: it was not waiting for one (mp_state value), or aux 1: a later INIT replaced it
    VmmCpuInit,      // the VMM ran its own INIT on vcpu's register cache (QEMU's do_cpu_init)
    // A start request (arm64 PSCI CPU_ON, riscv SBI HSM HART_START) and the
    // reset that carries it out:
    StartRequested,  // vcpu = sender, aux = target, value = entry pc: the kernel left a reset pending on a STOPPED target
    StartServiced,   // vcpu ran its pending reset with the request's payload (KVM_REQ_VCPU_RESET), pc = value
};

enum class Writer : std::uint8_t {
    None,
    Guest,      // guest instruction inside KVM_RUN
    Timer,      // Book-E timer expiry
    Init,       // INIT/SIPI processing by the kernel (reset, mp_state)
    Halt,       // HLT emulation writing mp_state
    Userspace,  // a KVM_SET_* ioctl
    Irq,        // an interrupt the kernel made pending (riscv sip: SBI IPI)
};

enum class IntentCause : std::uint8_t { Monitor, Reset, Snapshot, MachineInit, Device };

struct Event {
    std::uint32_t step = 0;  // scheduler step during which it happened
    ActorId actor = kNoActor;
    EventKind kind{};
    Writer writer = Writer::None;
    std::int16_t vcpu = -1;
    std::int16_t reg = -1;   // index into the architecture's register catalogue
    std::uint32_t aux = 0;
    std::uint64_t old = 0;
    std::uint64_t value = 0;
    std::uint64_t mask = 0;
};

// What the kernel did with an INIT or SIPI (its fate), as opposed to its sending.
inline bool is_init_fate(EventKind k) {
    return k == EventKind::InitAccepted || k == EventKind::InitCleared || k == EventKind::InitLatched || k == EventKind::SipiAccepted ||
           k == EventKind::SipiDropped || k == EventKind::StartServiced;
}

const char* to_string(EventKind k);
const char* to_string(Writer w);
const char* to_string(IntentCause c);

}  // namespace regsync::sim

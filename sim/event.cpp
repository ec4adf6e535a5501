#include "sim/event.h"

namespace regsync::sim {

const char* to_string(EventKind k) {
    switch (k) {
        case EventKind::KernelWrite: return "kernel-write";
        case EventKind::Ioctl: return "ioctl";
        case EventKind::Intent: return "intent";
        case EventKind::VcpuEnter: return "vcpu-enter";
        case EventKind::VcpuExit: return "vcpu-exit";
        case EventKind::GuestTscRead: return "guest-rdtsc";
        case EventKind::GuestIo: return "guest-io";
        case EventKind::GuestEntry: return "guest-entry";
        case EventKind::InitSent: return "init-sent";
        case EventKind::SipiSent: return "sipi-sent";
        case EventKind::SnapshotSaved: return "snapshot-saved";
        case EventKind::SnapshotLoaded: return "snapshot-loaded";
        case EventKind::MonitorRead: return "monitor-read";
        case EventKind::VmStopped: return "vm-stopped";
        case EventKind::VmResumed: return "vm-resumed";
        case EventKind::TimerInterrupt: return "lapic-timer";
        case EventKind::InitAccepted: return "init-accepted";
        case EventKind::InitCleared: return "init-cleared";
        case EventKind::InitLatched: return "init-latched";
        case EventKind::SipiAccepted: return "sipi-accepted";
        case EventKind::SipiDropped: return "sipi-dropped";
        case EventKind::VmmCpuInit: return "vmm-do-cpu-init";
        case EventKind::StartRequested: return "start-requested";
        case EventKind::StartServiced: return "start-serviced";
    }
    return "?";
}

const char* to_string(Writer w) {
    switch (w) {
        case Writer::None: return "none";
        case Writer::Guest: return "guest";
        case Writer::Timer: return "timer";
        case Writer::Init: return "init";
        case Writer::Halt: return "hlt";
        case Writer::Userspace: return "userspace";
        case Writer::Irq: return "irq";
    }
    return "?";
}

const char* to_string(IntentCause c) {
    switch (c) {
        case IntentCause::Monitor: return "monitor";
        case IntentCause::Reset: return "reset";
        case IntentCause::Snapshot: return "snapshot";
        case IntentCause::MachineInit: return "machine-init";
        case IntentCause::Device: return "device";
    }
    return "?";
}

}  // namespace regsync::sim

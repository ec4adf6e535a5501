// A scenario's guest code on real vCPUs: each vCPU on its own OS thread in
// KVM_RUN (HLT blocks inside the kernel, the in-kernel irqchip delivers
// INIT/SIPI), every port write reported with where the vCPU was. Bounded:
// at the deadline every vCPU is kicked out of KVM_RUN.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "harness/scenario.h"
#include "realkvm/kvm_device.h"

namespace regsync::realkvm {

struct IoReport {
    int vcpu = -1;
    std::uint16_t port = 0;
    std::uint32_t value = 0;
    std::uint64_t cs_base = 0;  // where the vCPU was executing
};

struct GuestRun {
    std::vector<IoReport> reports;  // in the order they happened
    std::vector<std::uint64_t> rdtsc;  // the guest's RDTSC log, slot by slot
    bool timed_out = false;
    // Each vCPU at the end: "mp_state N cs.base X rip Y" (for reports).
    std::vector<std::string> final_state;
    std::string error;
};

// Where a program of the scenario goes in real guest memory: a vCPU's main
// program (the fake starts it at the reset vector) at 0x1000 * (vcpu + 1),
// below 1 MiB where real mode reaches it; other programs at their entry.
std::uint64_t code_address(const harness::Scenario& s, std::size_t vcpu, std::size_t program);

struct GuestLayout {
    int rdtsc_slots = 0;  // RDTSC log slots the programs use
    std::string error;
};

// Lays the scenario's programs out in guest memory (x86_real_mode.h; the
// reset vector jumps to the BSP's main program, where the fake starts it)
// and sets each vCPU's real-mode state, RUNNABLE.
GuestLayout load_guest_code(RealVm& vm, const harness::Scenario& s);

// Runs the vCPUs in `run_mask` (bit i: vCPU i gets a thread; the others keep
// their state and any pending APIC events for the caller's ioctls) from
// wherever they are until `expected_reports` port writes have been seen or
// `timeout` passes.
GuestRun run_vcpus(RealVm& vm, int vcpus, int rdtsc_slots, std::size_t expected_reports, std::chrono::milliseconds timeout,
                   std::uint64_t run_mask = ~0ULL);

// load_guest_code, then run_vcpus. Lays the scenario's programs out in guest memory (x86_real_mode.h), sets
// each vCPU's real-mode state, and runs until `expected_reports` port writes
// have been seen or `timeout` passes. The scenario's main-loop operations
// are not run here.
GuestRun run_guest_code(RealVm& vm, const harness::Scenario& s, std::size_t expected_reports,
                        std::chrono::milliseconds timeout, std::uint64_t run_mask = ~0ULL);

}  // namespace regsync::realkvm

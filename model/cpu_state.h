// The VMM's view of one vCPU, shaped like QEMU's CPUState: the register
// cache (env), kvm_vcpu_dirty, and the vCPU thread's stop/work state.
#pragma once
#include <cstdint>
#include <deque>

#include "model/catalogue.h"
#include "model/kvm_backend.h"
#include "sim/function_ref.h"

namespace regsync::model {

struct CPUState;
using RegMask = std::uint64_t;  // one bit per catalogue index

// A run_on_cpu() request living on the requester's stack until done.
struct WorkItem {
    sim::FunctionRef<void(CPUState&)> fn;
    bool done = false;
};

struct CPUState {
    int cpu_index = 0;
    KvmVcpu* kvm = nullptr;
    RegisterValues env{};  // userspace copy of the registers

    // QEMU: bool kvm_vcpu_dirty. The bitmap policy (seed 002) uses it as a
    // bitmask of KVM_REGSYNC_* levels; QEMU-levels uses 0/1.
    std::uint32_t kvm_vcpu_dirty = 0;
    // Per-register accessor design (Tosatti, seed 002): which registers the
    // cache holds and which it has changed.
    RegMask cached = 0;
    RegMask dirty_regs = 0;
    // What the VMM last read from or wrote to the kernel (policies that
    // change a register by difference, e.g. TSR via OR_TSR/CLEAR_TSR).
    RegisterValues kernel_view{};
    // cs->interrupt_request & CPU_INTERRUPT_INIT, as refreshed from
    // KVM_GET_VCPU_EVENTS smi.latched_init.
    bool latched_init = false;
    // env->sipi_vector, as KVM_GET_VCPU_EVENTS last reported it.
    std::uint32_t sipi_vector = 0;
    // Today's QEMU reads the TSC only while the VM is stopped (env->tsc_valid).
    bool tsc_valid = false;
    bool vm_running = false;  // runstate_is_running()
    // What a target's VM state change handler reads on stop and puts back
    // on resume, and whether it holds a value: arm64 kvm_vtime with
    // kvm_vtime_dirty (target/arm/kvm.c), riscv kvm_timer_* with
    // kvm_timer_dirty (target/riscv/kvm/kvm-cpu.c). By catalogue index.
    RegisterValues stopped_copy{};
    bool stopped_copy_dirty = false;

    // cpus.c
    bool stop = false;     // pause requested
    bool stopped = true;   // paused; vCPUs start stopped until vm_start
    bool thread_kicked = false;
    std::deque<WorkItem*> work_list;
};

}  // namespace regsync::model

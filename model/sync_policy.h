// The VMM-side sync policy: when register state moves between CPUState::env
// and the kernel. Generic code (kvm_all, machine) calls these hooks at the
// points QEMU's kvm-all.c does; a policy decides what to get and put.
// The interface is wide enough for a dirty bitmap (seed 002) and for
// per-register accessors (read_reg/write_reg with cached/dirty masks).
#pragma once
#include <cstdint>
#include <string_view>

#include "model/arch_sync.h"
#include "model/cpu_state.h"

namespace regsync::model {

class SyncPolicy {
public:
    virtual ~SyncPolicy() = default;
    virtual std::string_view name() const = 0;

    // kvm_cpu_synchronize_state(): false when the cache is already
    // authoritative, so no run_on_cpu round trip is needed.
    virtual bool needs_synchronize(const CPUState& cpu) const = 0;
    // do_kvm_cpu_synchronize_state(): runs on the vCPU's own thread.
    virtual void synchronize_state(CPUState& cpu, const ArchSync& arch) = 0;
    // A hot exit path that needs only the cheap registers (the kvm_regs
    // struct), on the vCPU's own thread (s390's
    // s390_sync_partial_runtime_registers, seed 002). QEMU-style policies
    // synchronize everything.
    virtual void synchronize_partial(CPUState& cpu, const ArchSync& arch) { synchronize_state(cpu, arch); }
    // kvm_cpu_synchronize_post_reset() / _post_init(): all vCPUs stopped.
    virtual void post_reset(CPUState& cpu, const ArchSync& arch) = 0;
    virtual void post_init(CPUState& cpu, const ArchSync& arch) = 0;
    // kvm_cpu_exec(): before each KVM_RUN, and after it returns.
    virtual void pre_run(CPUState& cpu, const ArchSync& arch) = 0;
    virtual void post_run(CPUState&, const ArchSync&) {}
    // cpu_synchronize_pre_loadvm() (QEMU >= 2.x), and the VM state change
    // notifier (vm_start / vm_stop).
    virtual void pre_loadvm(CPUState&, const ArchSync&) {}
    virtual void vm_state_change(CPUState&, bool /*running*/) {}

    // True when read_reg may issue ioctls, so that generic code must call it
    // on the vCPU's own thread while the VM runs (a KVM_RUN in progress
    // holds vcpu->mutex; with HLT in the kernel it may never return).
    virtual bool reads_on_vcpu_thread() const { return false; }

    // How generic code reads and writes a register after synchronizing.
    // QEMU-style policies use env directly; accessor designs override.
    virtual std::uint64_t read_reg(CPUState& cpu, const ArchSync&, RegIndex r) {
        return cpu.env[static_cast<std::size_t>(r)];
    }
    virtual void write_reg(CPUState& cpu, const ArchSync&, RegIndex r, std::uint64_t v) {
        cpu.env[static_cast<std::size_t>(r)] = v;
    }
};

}  // namespace regsync::model

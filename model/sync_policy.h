// The VMM-side sync policy: when register state moves between CPUState::env
// and the kernel. Generic code (kvm_all, machine) calls these hooks at the
// points QEMU's kvm-all.c does; a policy decides what to get and put.
// The interface is wide enough for a dirty bitmap (seed 002) and for
// per-register accessors (read_reg/write_reg with cached/dirty masks).
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "model/arch_sync.h"
#include "model/cpu_state.h"

namespace regsync::sim {
class World;
}

namespace regsync::model {

class SyncPolicy {
public:
    virtual ~SyncPolicy() = default;
    virtual std::string_view name() const = 0;
    // Once per execution, after the Vmm has built its CPUStates (their env
    // holds the machine's initial registers): kvm_init_vcpu() for policies
    // that keep their own per-vCPU state (plugins, model/plugin_policy.h).
    virtual void attach(sim::World&, std::vector<CPUState>&) {}
    // True when the policy keeps its registers and dirty state in its own
    // per-vCPU struct, not in CPUState (a plugin): regsync mutants cannot run
    // its hooks dry on a copy, nor see its dirty state.
    virtual bool keeps_own_state() const { return false; }

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
    // Whether kvm_cpu_exec() puts (pre_run) after bql_unlock(): QEMU since
    // 2.4 ("kvm: First step to push iothread lock out of inner run loop");
    // the 2013 code put under the BQL.
    virtual bool puts_outside_bql() const { return false; }
    // kvm_arch_process_async_events(): once per kvm_cpu_exec(), under the
    // BQL, before the loop. On the vCPU's own thread. True when it ran the
    // VMM's own INIT (do_cpu_init).
    virtual bool process_async_events(CPUState&, const ArchSync&) { return false; }
    // cpu_synchronize_pre_loadvm() (QEMU >= 2.x), and the VM state change
    // notifier (vm_start / vm_stop).
    virtual void pre_loadvm(CPUState&, const ArchSync&) {}
    virtual void vm_state_change(CPUState&, const ArchSync&, bool /*running*/) {}
    // Reset handlers of devices that write the kernel themselves during
    // qemu_system_reset(), after the CPU reset and before the RESET put
    // (today's Book-E timer: ppc_booke_timer_reset_handle).
    virtual void reset_handlers(CPUState&, const ArchSync&) {}
    // do_vm_stop(): whether runstate_set() comes before pause_all_vcpus()
    // (today's system/cpus.c) or after it (2013). A policy that reads the
    // run state in its get (today's tsc_valid) says so, for the footprint.
    virtual bool runstate_before_pause() const { return false; }
    virtual bool reads_runstate() const { return false; }
    // hw/i386/kvm/clock.c kvmclock_vm_state_change() on stop:
    // kvm_synchronize_all_tsc(), kvm_get_tsc() on every vCPU by run_on_cpu.
    virtual bool kvmclock_reads_tsc() const { return false; }
    virtual void kvm_get_tsc(CPUState&, const ArchSync&) {}

    // The TSC x86_cpu_reset_hold() leaves in env (`reset` is the
    // catalogue's reset value): since 2022 (5286c36622, "target/i386: properly
    // reset TSC on reset") a non-zero TSC becomes 1 under KVM, because KVM takes
    // a host write of 0 as a hot-plugged vCPU and keeps the TSC in sync.
    virtual std::uint64_t tsc_after_reset(std::uint64_t /*current*/, std::uint64_t reset) const { return reset; }

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

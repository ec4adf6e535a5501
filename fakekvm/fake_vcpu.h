// The kernel side of one vCPU: its authoritative registers, local APIC
// pending events, vcpu->mutex, and the guest it runs inside KVM_RUN.
#pragma once
#include <linux/kvm.h>

#include <cstdint>
#include <memory>

#include "fakekvm/guest_program.h"
#include "model/catalogue.h"
#include "model/kvm_backend.h"
#include "sim/event.h"

namespace regsync::fakekvm {

class FakeVm;
class GuestStepObserver;

class FakeVcpu final : public model::KvmVcpu {
public:
    FakeVcpu(FakeVm& vm, int index, bool bsp, GuestImage image);

    int ioctl(unsigned long request, void* arg) override;
    struct kvm_run& run() override { return *run_; }
    void kick() override;
    int index() const override { return index_; }

    bool bsp() const { return bsp_; }
    // Kernel-internal accessors (used by the APIC, timers and tests; they
    // record footprints and emit events like every kernel access).
    std::uint64_t get(model::RegIndex r);
    void set(model::RegIndex r, std::uint64_t v, sim::Writer who);
    std::uint64_t tsc() const;
    std::uint64_t guest_pc() const;
    // The LAPIC timer's hrtimer callback, run by the clock actor.
    void lapic_timer_check();
    void inject_pending_timer();

    // Local APIC state (arch/x86/kvm/lapic.c: apic->pending_events, sipi_vector).
    bool apic_init_pending = false;
    bool apic_sipi_pending = false;
    std::uint32_t apic_sipi_vector = 0;
    // The guest has entered at least once (it is what arms its timers).
    bool has_run = false;

    // Scenario set-up before the execution starts: no events, no footprint.
    void init_state(const model::RegisterValues& v) { regs_ = v; }
    // Someone who follows the guest step by step (none by default).
    void set_observer(GuestStepObserver* o) { observer_ = o; }
    const model::RegisterValues& raw_regs() const { return regs_; }
    // Everything of this vCPU the kernel keeps (dfs --state-cache).
    std::uint64_t state_hash() const;

private:
    // The register's new value and its KernelWrite event, when it changes.
    void write_reg_value(model::RegIndex r, std::uint64_t v, sim::Writer who);
    void set_tsc(model::RegIndex r, std::uint64_t v, sim::Writer who);
    friend class Lapic;
    int kvm_run_ioctl();
    int kvm_run_inner();
    int sync_regs();
    void store_regs();
    int guest_step();
    void halt();
    void lock();
    void unlock();
    bool runnable() const;
    bool wake_condition() const;
    int exit_to_user(__u32 reason, int ret);

    int get_regs(void* arg);
    int set_regs(void* arg);
    int get_sregs(void* arg);
    int set_sregs(void* arg);
    int get_msrs(void* arg);
    int set_msrs(void* arg);
    int get_one_reg(void* arg);
    int set_one_reg(void* arg);
    int get_mp_state(void* arg);
    int set_mp_state(void* arg);
    int get_vcpu_events(void* arg);
    int set_vcpu_events(void* arg);
    int queue_nmi();
    int get_lapic(void* arg);
    int set_lapic(void* arg);

    const model::Catalogue& cat() const;
    std::uint32_t obj(model::RegIndex r) const;

    FakeVm& vm_;
    int index_;
    bool bsp_;
    GuestImage image_;
    GuestStepObserver* observer_ = nullptr;
    model::RegisterValues regs_{};
    std::int64_t tsc_offset_ = 0;  // IA32_TSC = now * tsc_per_tick + offset
    bool mutex_held_ = false;       // vcpu->mutex
    bool signal_pending_ = false;   // SIG_IPI delivered to the vCPU thread
    bool timer_pending_ = false;    // apic->lapic_timer.pending
    // KernelConfig::self_init_at_next_exit: the guest sent itself an INIT
    // that waits for the vCPU's next exit.
    bool self_init_deferred_ = false;
    std::unique_ptr<unsigned char[]> run_page_;
    struct kvm_run* run_;
};

}  // namespace regsync::fakekvm

// The kernel side of one vCPU: its authoritative registers, local APIC
// pending events, vcpu->mutex, and the guest it runs inside KVM_RUN.
#pragma once
#include <linux/kvm.h>

#include <cstdint>
#include <memory>
#include <optional>

#include "fakekvm/guest_program.h"
#include "model/catalogue.h"
#include "model/kvm_backend.h"
#include "sim/event.h"

namespace regsync::fakekvm {

class FakeVm;
class GuestStepObserver;
class ArchVcpu;

class FakeVcpu final : public model::KvmVcpu {
public:
    FakeVcpu(FakeVm& vm, int index, bool bsp, GuestImage image);
    ~FakeVcpu() override;

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
    // Each tick of the virtual clock: the LAPIC timer, or the architecture's.
    void timer_tick();
    FakeVm& vm() { return vm_; }
    const FakeVm& vm() const { return vm_; }
    // A kick is pending (the next or current KVM_RUN returns -EINTR).
    bool signal_pending() const { return signal_pending_; }
    // A register as the kernel holds it, without footprint or event (for
    // wake conditions, which the scheduler evaluates outside any step).
    std::uint64_t peek(model::RegIndex r) const { return regs_[static_cast<std::size_t>(r)]; }
    // A register write with its KernelWrite event, bypassing the
    // architecture's special cases (its own code, after it decided).
    void store(model::RegIndex r, std::uint64_t v, sim::Writer who) { write_reg_value(r, v & cat()[r].mask(), who); }
    // The KernelWrite of a counter (a time-varying register) that now reads
    // `now` instead of `old`: every bit counts as changed, since it moves on.
    void report_counter_write(model::RegIndex r, std::uint64_t old, std::uint64_t now, sim::Writer who);
    ArchVcpu* arch() { return arch_.get(); }
    bool mutex_held() const { return mutex_held_; }  // vcpu->mutex (a vCPU ioctl is running)
    // The catalogue register a ONE_REG id names.
    std::optional<model::RegIndex> one_reg_index(std::uint64_t id) const;
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
    std::unique_ptr<ArchVcpu> arch_;  // arm64, riscv64: the architecture's own kernel code
    std::unique_ptr<unsigned char[]> run_page_;
    struct kvm_run* run_;
};

}  // namespace regsync::fakekvm

// `qemu-today`: current QEMU, from accel/kvm/kvm-all.c and
// target/i386/kvm/kvm.c (read November 2026):
//  - kvm_arch_get_registers: vcpu events, then mp_state ("KVM_GET_MPSTATE
//    can modify CS and RIP, call it before KVM_GET_REGS and KVM_GET_SREGS"),
//    regs, sregs, msrs. IA32_TSC is read only while !env->tsc_valid, and
//    tsc_valid = !runstate_is_running(); cpu_update_state() clears it when
//    the VM starts running.
//  - kvm_arch_put_registers: sregs, regs, msrs (TSC and kvmclock MSRs at
//    level >= RESET), vcpu events, mp_state (>= RESET).
//  - kvm_put_vcpu_events: VALID_NMI_PENDING at >= RESET, VALID_SMM whenever
//    the host has SMM (has_msr_smbase) with smi.latched_init taken from
//    cs->interrupt_request & CPU_INTERRUPT_INIT, which kvm_get_vcpu_events
//    set from the kernel's latched_init and the put clears.
//  - cpu_synchronize_pre_loadvm marks the cache dirty before loading.
//  - PowerPC (target/ppc/kvm.c, hw/ppc/ppc_booke.c): TSR, TCR and DEC are
//    read (Book-E KVM_GET_SREGS) and never put: kvm_arch_put_registers has
//    no Book-E SREGS put and they have no ONE_REG id in its SPR loop
//    (spr_register in cpu_init.c). TSR changes only through
//    store_booke_tsr() -> kvmppc_clear_tsr_bits(): the timer's reset
//    handler (with TCR := 0 through kvmppc_set_tcr) and, on every VM start,
//    cpu_state_change_handler() clearing ENW|WIS|WRS. Nothing calls
//    kvmppc_or_tsr_bits(). So a loadvm restores none of the three. (The
//    model reads TSR and TCR by KVM_GET_ONE_REG in the same get, where QEMU
//    takes them from the KVM_GET_SREGS it issues for DEC.)
//  - kvm_cpu_exec: kvm_arch_process_async_events() under the BQL, then
//    bql_unlock(), then the RUNTIME put (accel/kvm/kvm-all.c).
//  - kvm_arch_process_async_events: with CPU_INTERRUPT_INIT set (by a GET
//    that saw latched_init) and outside SMM, kvm_cpu_synchronize_state()
//    and do_cpu_init() (target/i386/helper.c): QEMU resets its own copy,
//    so the next put carries reset CS:RIP and latched_init = 0.
//  - kvm_put_tscdeadline_msr: IA32_TSCDEADLINE in its own KVM_SET_MSRS
//    after SET_VCPU_EVENTS and SET_MP_STATE, at every level.
#pragma once
#include "model/policies/qemu_levels.h"

namespace regsync::model {

// do_cpu_init() on x86 (target/i386/helper.c): cpu_reset(), keeping the
// start_init_save..end_init_save fields (here SYSENTER_CS, STAR,
// IA32_TSC_ADJUST, IA32_TSCDEADLINE: target/i386/cpu.h) and the APIC base (the APIC device's, which INIT leaves);
// x86_cpu_reset_hold() makes a non-zero TSC 1 under KVM ("KVM handles TSC =
// 0 specially"); interrupt_request keeps only SIPI (latched_init cleared);
// kvm_arch_reset_vcpu() makes an AP UNINITIALIZED and kvm_arch_do_init_vcpu()
// then INIT_RECEIVED, a BSP RUNNABLE.
void do_cpu_init(CPUState& cpu, const Catalogue& cat);
// x86_cpu_reset_hold() under KVM since 5286c36622 (2022): "KVM handles TSC
// = 0 specially ... use 1 instead", for a TSC that is not 0 already.
inline std::uint64_t kvm_tsc_after_reset(std::uint64_t current, std::uint64_t reset) { return current != 0 ? 1 : reset; }

class QemuToday : public QemuKvmAllToday {
public:
    std::string_view name() const override { return "qemu-today"; }
    void vm_state_change(CPUState& cpu, const ArchSync& arch, bool running) override;
    void reset_handlers(CPUState& cpu, const ArchSync& arch) override;
    bool reads_runstate() const override { return true; }
    bool kvmclock_reads_tsc() const override { return true; }
    void kvm_get_tsc(CPUState& cpu, const ArchSync& arch) override;
    std::uint64_t tsc_after_reset(std::uint64_t current, std::uint64_t reset) const override { return kvm_tsc_after_reset(current, reset); }
    bool process_async_events(CPUState& cpu, const ArchSync& arch) override;

protected:
    void get_registers(CPUState& cpu, const ArchSync& arch) override;
    void put_registers(CPUState& cpu, const ArchSync& arch, SyncLevel level) override;
    // The fix below: no latched INIT taken from or given to the kernel
    // outside SMM and below RESET.
    bool init_fix_ = false;
};

// `qemu-today-init-fix`: a candidate fix of today's QEMU (not upstream):
// kvm_get_vcpu_events() sets CPU_INTERRUPT_INIT from smi.latched_init only
// in SMM (outside SMM the in-kernel LAPIC owns a pending INIT, so
// do_cpu_init() never runs for it), and kvm_put_vcpu_events() sets
// VALID_SMM only at level >= KVM_PUT_RESET_STATE, as in Fei Li's "KVM: x86:
// Restrict writeback of SMI VCPU state" (2025-09-09, not merged).
class QemuTodayInitFix final : public QemuToday {
public:
    QemuTodayInitFix() { init_fix_ = true; }
    std::string_view name() const override { return "qemu-today-init-fix"; }
};

}  // namespace regsync::model

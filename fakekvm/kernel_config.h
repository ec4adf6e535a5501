// Kernel variants the fake can model, selected by name.
#pragma once
#include <cstdint>
#include <string>
#include <optional>
#include <string_view>
#include <vector>

namespace regsync::fakekvm {

enum class InitSipi {
    // Before Linux 3.10: the sender writes the target's mp_state =
    // INIT_RECEIVED directly, racing with the target's HLT emulation.
    MpState,
    // Since 3.10 ("KVM: x86: Rework INIT and SIPI handling", seed 003):
    // pending KVM_APIC_INIT/KVM_APIC_SIPI consumed by the target itself in
    // kvm_apic_accept_events().
    ApicEvents,
};

struct KernelConfig {
    // What the user named it by (a variant or profile name, or a file), as a
    // trace records it; not a behaviour.
    std::string name;
    InitSipi init_sipi = InitSipi::ApicEvents;
    std::uint64_t tsc_per_tick = 1000;  // guest TSC cycles per virtual-clock tick
    // Book-E KVM_REG_PPC_OR_TSR / KVM_REG_PPC_CLEAR_TSR exist (Linux >= 3.9).
    bool ppc_tsr_or_clear = true;
    // KVM_SET_VCPU_EVENTS with KVM_VCPUEVENT_VALID_SMM sets or clears a
    // pending KVM_APIC_INIT from smi.latched_init even outside SMM: commit
    // ff90afa75573 (2019) until its 2025 fix, which only does so while INIT
    // is blocked (SMM, VMX root, GIF=0).
    bool latched_init_outside_smm = false;
    // The vendor module offsets the guest TSC (VMX/SVM TSC offsetting), so a
    // host KVM_SET_MSRS(IA32_TSC) moves what the guest's RDTSC returns. PVM
    // (kvm_pvm: KVM on a host without VMX/SVM, as on this project's own
    // machines) cannot: the write succeeds and changes nothing, the guest
    // reads the host TSC (found by `regsync kvm-probe` on 6.18.44 + kvm_pvm).
    bool tsc_offsetting = true;
    // kvm_synchronize_tsc(): a host IA32_TSC write within this many cycles
    // of the value the kernel expects (the last host write plus the cycles
    // since), or of 0, is taken as a request to keep the vCPUs in sync: the
    // vCPU gets the VM's current offset and the written value is dropped.
    // Linux matches within one second of guest TSC (since 2.6.37, "KVM: x86:
    // Match TSC offset writes"); 0 leaves it out (every write is taken).
    std::uint64_t tsc_sync_window = 0;
    // An INIT the guest sends to its own vCPU takes effect only at the
    // vCPU's next exit (an I/O or HLT exit here), not before its next
    // instruction: kvm_pvm on 6.18.44 runs on through 30 instructions after
    // the ICR write (found by `regsync kvm-probe`). With VMX/SVM the ICR
    // write exits, and vcpu_enter_guest() accepts the INIT (KVM_REQ_EVENT)
    // before it enters the guest again.
    bool self_init_at_next_exit = false;
    // kvm_set_msr_common(MSR_IA32_TSC_ADJUST): a host write stores the value
    // when the guest's CPUID has TSC_ADJUST. On 6.18.44 + kvm_pvm the write
    // succeeds and stores nothing although KVM_GET_SUPPORTED_CPUID lists the
    // bit and the probe's vCPUs get it (found by `regsync kvm-probe`).
    bool host_tsc_adjust_stored = true;

    // arm64 (fakekvm/arm64.cpp). A userspace GET of CNTV_CTL ORs in
    // ISTATUS when the timer condition holds (read_timer_ctl(), up to
    // 6.17); since 6.18 (09424d5d7d4e) it returns the stored CTL, into which
    // the hardware's ISTATUS was saved at vcpu_put. Every kernel strips
    // ISTATUS from a SET.
    bool arm64_istatus_on_read = true;
    // A reset that PSCI CPU_ON left pending (KVM_REQ_VCPU_RESET) is also
    // serviced at the target's next KVM_{GET,SET}_ONE_REG, not only at its
    // next KVM_RUN: 6826c6849b46 ("Handle PSCI resets before userspace
    // touches vCPU state", 5.15, backported to 5.10.y).
    bool arm64_reset_at_one_reg = true;
    // KVM_ARM_SET_COUNTER_OFFSET exists (30ec7997d175, 6.4): it sets the
    // VM's counter offsets, and later TIMER_CNT writes are dropped.
    bool arm64_counter_offset_ioctl = false;
    // riscv64 (fakekvm/riscv64.cpp): a reset that SBI HSM HART_START left
    // pending is serviced at the target's next ONE_REG access too. No
    // Linux does this (kvm_riscv_check_vcpu_requests() runs in KVM_RUN
    // only); it is the arm64 fix carried over, a candidate.
    bool riscv_reset_at_one_reg = false;
};

struct KernelVariant {
    std::string_view name;
    std::string_view description;
    KernelConfig config;
};

const std::vector<KernelVariant>& kernel_variants();
std::optional<KernelConfig> kernel_variant(std::string_view name);

}  // namespace regsync::fakekvm

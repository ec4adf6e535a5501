#include "fakekvm/kernel_axes.h"

namespace regsync::fakekvm {

namespace {
bool same(const KernelConfig& a, const KernelConfig& b) {
    return a.init_sipi == b.init_sipi && a.ppc_tsr_or_clear == b.ppc_tsr_or_clear && a.latched_init_outside_smm == b.latched_init_outside_smm &&
           a.tsc_offsetting == b.tsc_offsetting && a.tsc_sync_window == b.tsc_sync_window &&
           a.self_init_at_next_exit == b.self_init_at_next_exit && a.host_tsc_adjust_stored == b.host_tsc_adjust_stored &&
           a.arm64_istatus_on_read == b.arm64_istatus_on_read && a.arm64_reset_at_one_reg == b.arm64_reset_at_one_reg &&
           a.arm64_counter_offset_ioctl == b.arm64_counter_offset_ioctl && a.riscv_reset_at_one_reg == b.riscv_reset_at_one_reg;
}
}  // namespace

const std::vector<KernelAxis>& kernel_axes() {
    static const std::vector<KernelAxis> axes = {
        {"init_delivery", "how a guest's INIT and SIPI reach the target vCPU",
         {{"mp-state", "Linux < 3.10: APIC_DM_INIT stores the target's mp_state (races with HLT's store, seed 003)",
           [](KernelConfig& k) { k.init_sipi = InitSipi::MpState; }},
          {"apic-events", "Linux 3.10, 'KVM: x86: Rework INIT and SIPI handling': pending KVM_APIC_INIT/SIPI taken by kvm_apic_accept_events()",
           [](KernelConfig& k) { k.init_sipi = InitSipi::ApicEvents; }}}},
        {"latched_init", "what KVM_SET_VCPU_EVENTS with KVM_VCPUEVENT_VALID_SMM does with smi.latched_init",
         {{"ignored", "before the SMM API (Linux 4.2): there is no KVM_VCPUEVENT_VALID_SMM to honour", [](KernelConfig& k) { k.latched_init_outside_smm = false; }},
          // f077825a8758 ("KVM: x86: API changes for SMM support", 4.2) set
          // or cleared KVM_APIC_INIT from smi.latched_init on every VALID_SMM
          // call; a later change moved that under "if (events->smi.smm)";
          // ff90afa75573 ("Evaluate latched_init in KVM_SET_VCPU_EVENTS when
          // vCPU not in SMM", 5.5) moved it out again, where it still is.
          {"outside-smm", "f077825a8758 (4.2) and again ff90afa75573 (5.5): sets or clears the pending INIT even outside SMM, and posts a new one for latched_init = 1 (probed: Debian 6.1, 6.18 + kvm_pvm)",
           [](KernelConfig& k) { k.latched_init_outside_smm = true; }},
          // QEMU puts smi.smm = 0 outside SMM, so here this acts as "ignored".
          {"smm-only", "between 4.x and ff90afa75573 (5.5): honoured only when userspace puts smi.smm = 1 (the commit that moved it is not identified)",
           [](KernelConfig& k) { k.latched_init_outside_smm = false; }},
          // No SMM, VMX root or GIF=0 is modelled, so INIT is never blocked
          // and the patched kernel ignores latched_init here, as "ignored" does.
          {"blocked-only", "the proposed 2025 fix ('Latch INITs only in specific CPU states in KVM_SET_VCPU_EVENTS', Fei Li, 2025-08-27): only while INIT is blocked; the KVM maintainers called the race a QEMU bug and it is not in Linux",
           [](KernelConfig& k) { k.latched_init_outside_smm = false; }}}},
        {"host_tsc_write", "what a host KVM_SET_MSRS(IA32_TSC) does to the guest's TSC",
         {{"offset", "every write moves the TSC offset (the fake's simplest kernel)",
           [](KernelConfig& k) {
               k.tsc_offsetting = true;
               k.tsc_sync_window = 0;
           }},
          {"sync-window", "kvm_synchronize_tsc() since 2.6.37 ('KVM: x86: Match TSC offset writes'): a write within a second of the expected value, or of 0, keeps the VM's offset (probed: Debian 6.1)",
           [](KernelConfig& k) {
               k.tsc_offsetting = true;
               k.tsc_sync_window = 1000000000;  // one second of the fake's 1 GHz TSC
           }},
          {"ignored", "KVM on PVM (kvm_pvm): the write succeeds and changes nothing (probed: 6.18 + kvm_pvm)",
           [](KernelConfig& k) {
               k.tsc_offsetting = false;
               k.tsc_sync_window = 0;
           }}}},
        {"booke_tsr", "Book-E KVM_REG_PPC_OR_TSR / KVM_REG_PPC_CLEAR_TSR",
         {{"or-clear", "Linux 3.9: the write-to-set and write-to-clear ONE_REG ids exist", [](KernelConfig& k) { k.ppc_tsr_or_clear = true; }},
          {"none", "Book-E Linux < 3.9", [](KernelConfig& k) { k.ppc_tsr_or_clear = false; }}},
         model::Arch::PpcBookE},
        {"self_init", "when an INIT a vCPU's guest sends to itself takes effect",
         {{"next-instruction", "VMX/SVM: the ICR write exits and vcpu_enter_guest() accepts the INIT (KVM_REQ_EVENT) before the next guest instruction",
           [](KernelConfig& k) { k.self_init_at_next_exit = false; }},
          {"next-exit", "kvm_pvm: the guest runs on to its next exit (I/O, HLT) first (probed: 6.18 + kvm_pvm)",
           [](KernelConfig& k) { k.self_init_at_next_exit = true; }}}},
        {"tsc_adjust", "what a host KVM_SET_MSRS(IA32_TSC_ADJUST) does (a guest WRMSR(IA32_TSC) adds its jump to TSC_ADJUST on every kernel since 3.8)",
         {{"stored", "kvm_set_msr_common() with the guest's CPUID bit (Linux 3.8, 'KVM: x86: Emulate IA32_TSC_ADJUST MSR'): the value is stored, the TSC does not move",
           [](KernelConfig& k) { k.host_tsc_adjust_stored = true; }},
          {"host-write-ignored", "kvm_pvm: the write succeeds and stores nothing (probed: 6.18 + kvm_pvm)",
           [](KernelConfig& k) { k.host_tsc_adjust_stored = false; }}}},
        {"arm64_ctl_read", "what a userspace KVM_GET_ONE_REG(KVM_REG_ARM_TIMER_CTL) returns; every kernel strips ISTATUS from a SET",
         {{"istatus-computed", "up to 6.17: kvm_arm_timer_get_reg() -> read_timer_ctl() ORs in ISTATUS when CVAL <= the counter",
           [](KernelConfig& k) { k.arm64_istatus_on_read = true; }},
          {"stored", "6.18 (09424d5d7d4e, arch_timer_get_user()): the stored CTL, as the hardware left it at vcpu_put",
           [](KernelConfig& k) { k.arm64_istatus_on_read = false; }}},
         model::Arch::Arm64},
        {"arm64_psci_reset", "where an arm64 vCPU services the reset PSCI CPU_ON left pending (KVM_REQ_VCPU_RESET)",
         {{"at-run", "before 5.15: only in check_vcpu_requests() at its next KVM_RUN", [](KernelConfig& k) { k.arm64_reset_at_one_reg = false; }},
          {"at-run-and-one-reg", "6826c6849b46 (5.15, and 5.10.y): also before a KVM_{GET,SET}_ONE_REG of it",
           [](KernelConfig& k) { k.arm64_reset_at_one_reg = true; }}},
         model::Arch::Arm64},
        {"arm64_counter_offset", "KVM_ARM_SET_COUNTER_OFFSET (a VM ioctl)",
         {{"absent", "before 6.4: the counter moves only by TIMER_CNT writes", [](KernelConfig& k) { k.arm64_counter_offset_ioctl = false; }},
          {"sticky", "30ec7997d175 (6.4): sets voffset and poffset for the VM; later TIMER_CNT and PTIMER_CNT writes are dropped",
           [](KernelConfig& k) { k.arm64_counter_offset_ioctl = true; }}},
         model::Arch::Arm64},
        {"riscv_hsm_reset", "where a riscv64 vCPU services the reset SBI HSM HART_START left pending",
         {{"at-run", "every Linux since 5.16: only in kvm_riscv_check_vcpu_requests() at its next KVM_RUN",
           [](KernelConfig& k) { k.riscv_reset_at_one_reg = false; }},
          {"at-run-and-one-reg", "a candidate (not in Linux): arm64's 6826c6849b46 carried over to riscv",
           [](KernelConfig& k) { k.riscv_reset_at_one_reg = true; }}},
         model::Arch::Riscv64},
    };
    return axes;
}

const KernelAxis* find_axis(std::string_view name) {
    for (const auto& a : kernel_axes())
        if (a.name == name) return &a;
    return nullptr;
}

const AxisAlternative* find_alternative(const KernelAxis& a, std::string_view name) {
    for (const auto& alt : a.alternatives)
        if (alt.name == name) return &alt;
    return nullptr;
}

std::string_view alternative_of(const KernelAxis& axis, const KernelConfig& k) {
    for (const auto& alt : axis.alternatives) {
        KernelConfig c = k;
        alt.apply(c);
        if (same(c, k)) return alt.name;
    }
    return "?";
}

}  // namespace regsync::fakekvm

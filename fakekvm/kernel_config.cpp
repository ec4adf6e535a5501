#include "fakekvm/kernel_config.h"

namespace regsync::fakekvm {

const std::vector<KernelVariant>& kernel_variants() {
    KernelConfig current;
    KernelConfig mp_state = current;
    mp_state.init_sipi = InitSipi::MpState;
    KernelConfig latched = current;
    latched.latched_init_outside_smm = true;
    KernelConfig no_or_tsr = current;
    no_or_tsr.ppc_tsr_or_clear = false;
    KernelConfig pvm = current;
    pvm.tsc_offsetting = false;
    KernelConfig arm_at_run = current;
    arm_at_run.arm64_reset_at_one_reg = false;
    KernelConfig riscv_one_reg = current;
    riscv_one_reg.riscv_reset_at_one_reg = true;
    KernelConfig sync = current;
    sync.tsc_sync_window = 1000000000;  // one second of a 1 GHz TSC: 10^6 ticks of the virtual clock
    static const std::vector<KernelVariant> v = {
        {"init-apic-events", "current Linux: INIT/SIPI as pending APIC events (the default)", current},
        {"init-mp-state", "Linux < 3.10: INIT writes the target's mp_state directly", mp_state},
        {"events-latched-init", "Linux with ff90afa75573, before its 2025 fix: VALID_SMM latched_init=0 clears a pending INIT", latched},
        {"pvm-no-tsc-offset", "KVM on PVM (kvm_pvm, Linux 6.18): a host KVM_SET_MSRS(IA32_TSC) succeeds and is ignored; the guest reads the host TSC", pvm},
        {"tsc-sync-window", "Linux's kvm_synchronize_tsc(): a host IA32_TSC write within a second of the expected value keeps the VM's offset (both real kernels checked)", sync},
        {"booke-no-or-tsr", "Book-E Linux < 3.9: no KVM_REG_PPC_OR_TSR / KVM_REG_PPC_CLEAR_TSR", no_or_tsr},
        {"arm64-psci-reset-at-run", "arm64 Linux < 5.15: a reset PSCI CPU_ON left pending is serviced only at the target's KVM_RUN (before 6826c6849b46)", arm_at_run},
        {"riscv-hsm-reset-at-one-reg", "riscv64 with a candidate fix (not in Linux): a reset HART_START left pending is serviced at ONE_REG access too", riscv_one_reg},
    };
    return v;
}

std::optional<KernelConfig> kernel_variant(std::string_view name) {
    for (const auto& k : kernel_variants())
        if (k.name == name) {
            KernelConfig c = k.config;
            c.name = std::string(name);
            return c;
        }
    return std::nullopt;
}

}  // namespace regsync::fakekvm

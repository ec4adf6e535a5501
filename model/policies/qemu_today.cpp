#include "model/policies/qemu_today.h"

#include "model/policies/tsr_by_difference.h"

namespace regsync::model {

namespace {
RegMask bit(RegIndex r) { return RegMask{1} << r; }
}  // namespace

void QemuToday::get_registers(CPUState& cpu, const ArchSync& arch) {
    const auto& cat = arch.cat();
    RegMask mask = arch.all();
    const bool read_tsc = cat.tsc >= 0 && !cpu.tsc_valid;
    if (cat.tsc >= 0 && !read_tsc) mask &= ~bit(cat.tsc);
    arch.get(cpu, mask, qemu_today_order());
    if (init_fix_) cpu.latched_init = false;  // never in SMM here
    if (read_tsc) cpu.tsc_valid = !cpu.vm_running;
    if (cat.tsr >= 0) cpu.kernel_view[static_cast<std::size_t>(cat.tsr)] = cpu.env[static_cast<std::size_t>(cat.tsr)];
}

void do_cpu_init(CPUState& cpu, const Catalogue& cat) {
    const bool bsp = cpu.cpu_index == 0;
    const auto reset = cat.reset_values(bsp);
    for (std::size_t i = 0; i < cat.size(); ++i) {
        const auto& d = cat.regs[i];
        if (d.name == "IA32_SYSENTER_CS" || d.name == "STAR" || d.name == "IA32_TSC_ADJUST" || d.name == "IA32_TSCDEADLINE" ||
            d.name == "apic_base")
            continue;
        cpu.env[i] = static_cast<RegIndex>(i) == cat.tsc ? kvm_tsc_after_reset(cpu.env[i], reset[i]) : reset[i];
    }
    cpu.env[static_cast<std::size_t>(cat.mp_state)] = bsp ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_INIT_RECEIVED;
    cpu.latched_init = false;
}

// target/i386/kvm/kvm.c kvm_get_tsc(): "if (env->tsc_valid) return 0;",
// tsc_valid = !runstate_is_running(), then KVM_GET_MSRS(IA32_TSC) into
// env->tsc; vcpu_dirty is neither tested nor set.
void QemuToday::kvm_get_tsc(CPUState& cpu, const ArchSync& arch) {
    const auto& cat = arch.cat();
    if (cat.tsc < 0 || cpu.tsc_valid) return;
    cpu.tsc_valid = !cpu.vm_running;
    arch.get(cpu, bit(cat.tsc), qemu_today_order());
}

void QemuToday::vm_state_change(CPUState& cpu, const ArchSync& arch, bool running) {
    if (!running) return;
    cpu.tsc_valid = false;  // cpu_update_state()
    // hw/ppc/ppc_booke.c cpu_state_change_handler(): "Clear watchdog
    // interrupt condition by clearing TSR" (TSR_ENW | TSR_WIS | TSR_WRS_MASK).
    if (arch.cat().arch == Arch::PpcBookE) store_booke_tsr(cpu, arch, static_cast<std::uint32_t>(tsr::ENW | tsr::WIS | tsr::WRS_MASK));
}

void QemuToday::reset_handlers(CPUState& cpu, const ArchSync& arch) {
    // ppc_booke_timer_reset_handle(): store_booke_tcr(env, 0); store_booke_tsr(env, -1).
    if (arch.cat().arch != Arch::PpcBookE) return;
    store_booke_tcr(cpu, arch, 0);
    store_booke_tsr(cpu, arch, 0xffffffffu);
}

bool QemuToday::process_async_events(CPUState& cpu, const ArchSync& arch) {
    // No SMM is modelled, so "!(env->hflags & HF_SMM_MASK)" always holds.
    if (arch.cat().arch != Arch::X86 || !cpu.latched_init) return false;
    synchronize_state(cpu, arch);  // kvm_cpu_synchronize_state(), on the vCPU's own thread
    do_cpu_init(cpu, arch.cat());
    return true;
}

void QemuToday::put_registers(CPUState& cpu, const ArchSync& arch, SyncLevel level) {
    const auto& cat = arch.cat();
    if (cat.arch == Arch::PpcBookE) {
        // KVM_SET_REGS and the ONE_REG SPR loop; no Book-E SREGS put, no TSR or TCR.
        arch.put(cpu, arch.level_mask(level) & ~bit(cat.tsr) & ~bit(cat.tcr) & ~arch.access_mask(Access::Sregs), PutOptions{level});
        return;
    }
    RegMask mask = arch.level_mask(level);
    if (level >= SyncLevel::Reset) mask |= bit(cat.tsc);  // kvm_put_msrs: TSC at RESET and FULL
    const RegMask deadline = bit(cat.tsc_deadline);
    const bool valid_smm = !init_fix_ || level >= SyncLevel::Reset;  // has_msr_smbase
    arch.put(cpu, mask & ~deadline, PutOptions{level, valid_smm, cpu.latched_init, SipiVectorRule::IfSipiReceived}, qemu_today_order());
    cpu.latched_init = false;  // cpu_reset_interrupt(cs, CPU_INTERRUPT_INIT | CPU_INTERRUPT_SMI)
    // kvm_put_tscdeadline_msr(): its own KVM_SET_MSRS, after the vcpu
    // events and mp_state, at every level.
    arch.put(cpu, deadline, PutOptions{level, false, false, SipiVectorRule::IfSipiReceived}, qemu_today_order());
}

}  // namespace regsync::model

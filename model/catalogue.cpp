#include "model/catalogue.h"

#include "model/kvm_abi.h"

namespace regsync::model {
namespace {

constexpr std::uint64_t kAll = ~0ULL;
using L = SyncLevel;
using A = Access;

// x86: struct kvm_regs fields in ABI order, then sregs, MSRs, mp_state and
// vCPU events. Levels follow the 2013 QEMU (target-i386/kvm.c): everything
// at RUNTIME except the TSC (FULL only, "KVM is yet unable to synchronize TSC
// values...") and the paravirtual MSRs, mp_state, NMI and SIPI state (RESET).
Catalogue make_x86() {
    Catalogue c{Arch::X86, {}, -1, -1, -1, -1, -1, -1};
    const char* gprs[] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp",
                          "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
    std::uint64_t field = 0;
    for (const char* g : gprs) c.regs.push_back({g, A::Regs, 64, L::Runtime, 0, field++, 0});
    c.regs.push_back({"rip", A::Regs, 64, L::Runtime, 0, field++, 0xfff0});
    c.regs.push_back({"rflags", A::Regs, 64, L::Runtime, 0, field++, 0x2});
    field = 0;
    c.regs.push_back({"cs.base", A::Sregs, 64, L::Runtime, 0, field++, 0xffff0000});
    c.regs.push_back({"cs.selector", A::Sregs, 16, L::Runtime, 0, field++, 0xf000});
    c.regs.push_back({"cr0", A::Sregs, 64, L::Runtime, 0, field++, 0x60000010});
    c.regs.push_back({"cr2", A::Sregs, 64, L::Runtime, 0, field++, 0});
    c.regs.push_back({"cr3", A::Sregs, 64, L::Runtime, 0, field++, 0});
    c.regs.push_back({"cr4", A::Sregs, 64, L::Runtime, 0, field++, 0});
    c.regs.push_back({"efer", A::Sregs, 64, L::Runtime, 0, field++, 0});
    c.regs.push_back({"apic_base", A::Sregs, 64, L::Runtime, 0, field++, 0xfee00800});
    c.regs.push_back({"IA32_TSC", A::Msrs, 64, L::Full, kAll, x86::MSR_IA32_TSC, 0, true});
    // The kernel adds to it what a guest WRMSR(IA32_TSC) moves the TSC by
    // (kvm_set_msr_common); QEMU puts it at every level since f28558d3d3
    // (2012, "Enabling IA32_TSC_ADJUST for QEMU KVM guest VMs").
    c.regs.push_back({"IA32_TSC_ADJUST", A::Msrs, 64, L::Runtime, kAll, x86::MSR_IA32_TSC_ADJUST, 0});
    c.regs.push_back({"IA32_SYSENTER_CS", A::Msrs, 64, L::Runtime, 0, x86::MSR_IA32_SYSENTER_CS, 0});
    c.regs.push_back({"STAR", A::Msrs, 64, L::Runtime, 0, x86::MSR_STAR, 0});
    c.regs.push_back({"MSR_KVM_SYSTEM_TIME_NEW", A::Msrs, 64, L::Reset, 0, x86::MSR_KVM_SYSTEM_TIME_NEW, 0});
    // The LAPIC timer in TSC-deadline mode: the kernel clears it when it fires.
    c.regs.push_back({"IA32_TSCDEADLINE", A::Msrs, 64, L::Runtime, kAll, x86::MSR_IA32_TSCDEADLINE, 0});
    c.regs.push_back({"mp_state", A::MpState, 32, L::Reset, kAll, 0, KVM_MP_STATE_UNINITIALIZED});
    c.regs.push_back({"exception.injected", A::VcpuEvents, 8, L::Runtime, 0, 0, 0});
    c.regs.push_back({"nmi.pending", A::VcpuEvents, 8, L::Reset, 0, 1, 0});
    c.pc = *c.find("rip");
    c.cs_base = *c.find("cs.base");
    c.mp_state = *c.find("mp_state");
    c.tsc = *c.find("IA32_TSC");
    c.tsc_deadline = *c.find("IA32_TSCDEADLINE");
    c.tsc_adjust = *c.find("IA32_TSC_ADJUST");
    c.ret = *c.find("rax");
    c.rdx = *c.find("rdx");
    c.exception_injected = *c.find("exception.injected");
    c.nmi_pending = *c.find("nmi.pending");
    return c;
}

// PowerPC Book-E: struct kvm_regs fields, the timer SPRs over ONE_REG (the
// seed-004 loop puts every ONE_REG SPR at every level, so TSR and TCR are
// RUNTIME), HIOR at RESET (seed 004), DEC through Book-E SREGS.
Catalogue make_ppc() {
    Catalogue c{Arch::PpcBookE, {}, -1, -1, -1, -1, -1, -1};
    const char* named[] = {"pc", "cr", "ctr", "lr", "xer", "msr", "srr0", "srr1", "pid",
                           "sprg0", "sprg1", "sprg2", "sprg3", "sprg4", "sprg5", "sprg6", "sprg7"};
    std::uint64_t field = 0;
    for (const char* n : named) c.regs.push_back({n, A::Regs, 64, L::Runtime, 0, field++, 0});
    static const char* gpr_names[32] = {"r0",  "r1",  "r2",  "r3",  "r4",  "r5",  "r6",  "r7",
                                        "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15",
                                        "r16", "r17", "r18", "r19", "r20", "r21", "r22", "r23",
                                        "r24", "r25", "r26", "r27", "r28", "r29", "r30", "r31"};
    for (const char* g : gpr_names) c.regs.push_back({g, A::Regs, 64, L::Runtime, 0, field++, 0});
    c.regs[0].reset_value = 0xfffffffc;  // Book-E reset vector
    const std::uint64_t tsr_async = tsr::ENW | tsr::WIS | tsr::DIS | tsr::FIS;
    c.regs.push_back({"TSR", A::OneReg, 32, L::Runtime, tsr_async, ppc::KVM_REG_PPC_TSR, 0});
    c.regs.push_back({"TCR", A::OneReg, 32, L::Runtime, 0, ppc::KVM_REG_PPC_TCR, 0});
    c.regs.push_back({"DAR", A::OneReg, 64, L::Runtime, 0, ppc::KVM_REG_PPC_DAR, 0});
    c.regs.push_back({"DSISR", A::OneReg, 32, L::Runtime, 0, ppc::KVM_REG_PPC_DSISR, 0});
    c.regs.push_back({"HIOR", A::OneReg, 64, L::Reset, 0, ppc::KVM_REG_PPC_HIOR, 0});
    c.regs.push_back({"DEC", A::Sregs, 32, L::Reset, 0, 0, 0});
    c.pc = 0;
    c.tsr = *c.find("TSR");
    c.ret = *c.find("r3");
    c.tcr = *c.find("TCR");
    c.dec = *c.find("DEC");
    return c;
}

}  // namespace

std::optional<RegIndex> Catalogue::find(std::string_view name) const {
    for (std::size_t i = 0; i < regs.size(); ++i)
        if (regs[i].name == name) return static_cast<RegIndex>(i);
    return std::nullopt;
}

RegisterValues Catalogue::reset_values(bool bsp) const {
    RegisterValues v{};
    for (std::size_t i = 0; i < regs.size(); ++i) v[i] = regs[i].reset_value;
    if (arch == Arch::X86) {
        // The BSP flag lives in IA32_APIC_BASE; only the BSP runs after RESET.
        v[static_cast<std::size_t>(*find("apic_base"))] |= bsp ? 0x100 : 0;
        v[static_cast<std::size_t>(mp_state)] = bsp ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_UNINITIALIZED;
    } else if (stopped_mp_state != 0 && mp_state >= 0) {
        // arm64 (QEMU's start_powered_off -> KVM_ARM_VCPU_POWER_OFF) and
        // riscv (kvm_arch_vcpu_postcreate powers off every vCPU but 0):
        // secondaries wait STOPPED for a start request.
        v[static_cast<std::size_t>(mp_state)] = bsp ? KVM_MP_STATE_RUNNABLE : stopped_mp_state;
    }
    return v;
}

std::uint64_t Catalogue::guest_pc(const RegisterValues& v) const {
    std::uint64_t p = v[static_cast<std::size_t>(pc)];
    if (cs_base >= 0) p += v[static_cast<std::size_t>(cs_base)];
    return p;
}

const Catalogue& catalogue(Arch a) {
    static const Catalogue x86 = make_x86();
    static const Catalogue ppc = make_ppc();
    static const Catalogue arm64 = make_arm64_catalogue();
    static const Catalogue riscv64 = make_riscv64_catalogue();
    switch (a) {
        case Arch::X86: return x86;
        case Arch::PpcBookE: return ppc;
        case Arch::Arm64: return arm64;
        case Arch::Riscv64: return riscv64;
    }
    return x86;
}

std::optional<std::uint64_t> tsr::bit_from_name(std::string_view n) {
    if (n == "ENW") return ENW;
    if (n == "WIS") return WIS;
    if (n == "DIS") return DIS;
    if (n == "FIS") return FIS;
    return std::nullopt;
}

}  // namespace regsync::model

// The kernel ABI both backends speak. x86 structs and request numbers come
// from the host's <linux/kvm.h>. PowerPC's uapi header cannot be included on
// an x86 host, so its structs and ONE_REG ids are mirrored here with the
// kernel's layouts and numeric values (arch/powerpc/include/uapi/asm/kvm.h);
// their request numbers use the host's _IOC encoding.
#pragma once
#include <linux/kvm.h>

#include <cstddef>
#include <cstdint>

namespace regsync::ppc {

struct kvm_regs {
    __u64 pc, cr, ctr, lr, xer, msr, srr0, srr1, pid;
    __u64 sprg0, sprg1, sprg2, sprg3, sprg4, sprg5, sprg6, sprg7;
    __u64 gpr[32];
};

inline constexpr __u32 KVM_SREGS_E_BASE = 1u << 0;
inline constexpr __u32 KVM_SREGS_E_UPDATE_MCSR = 1u << 0;
inline constexpr __u32 KVM_SREGS_E_UPDATE_TSR = 1u << 1;
inline constexpr __u32 KVM_SREGS_E_UPDATE_DEC = 1u << 2;

// Book-E view of struct kvm_sregs (the 'e' arm of the union).
struct kvm_sregs {
    __u32 pvr;
    union {
        struct {
            union {
                struct { __u32 features, svr; __u64 mcar; __u32 hid0, pid1, pid2; } fsl;
                __u8 pad[256];
            } impl;
            __u32 features, impl_id, update_special, pir;
            __u64 sprg8, sprg9, csrr0, dsrr0, mcsrr0;
            __u32 csrr1, dsrr1, mcsrr1, esr;
            __u64 dear, ivpr, mcivpr, mcsr;
            __u32 tsr, tcr, decar, dec;
            __u64 tb;
            __u32 dbsr, dbcr[3], iac[4], dac[2], dvc[2];
            __u8 num_iac, num_dac, num_dvc, pad;
            __u32 epr, vrsave, epcr;
            __u32 mas0, mas1;
            __u64 mas2, mas7_3;
            __u32 mas4, mas6;
            __u32 ivor_low[16], ivor_high[18];
            __u32 mmucfg, eptcfg, tlbcfg[4], tlbps[4];
            __u32 eplc, epsc;
        } e;
        __u8 pad[1020];
    } u;
};

inline constexpr __u64 KVM_REG_PPC_HIOR = KVM_REG_PPC | KVM_REG_SIZE_U64 | 0x1;
inline constexpr __u64 KVM_REG_PPC_DAR = KVM_REG_PPC | KVM_REG_SIZE_U64 | 0xc;
inline constexpr __u64 KVM_REG_PPC_DSISR = KVM_REG_PPC | KVM_REG_SIZE_U32 | 0xd;
inline constexpr __u64 KVM_REG_PPC_OR_TSR = KVM_REG_PPC | KVM_REG_SIZE_U32 | 0x87;
inline constexpr __u64 KVM_REG_PPC_CLEAR_TSR = KVM_REG_PPC | KVM_REG_SIZE_U32 | 0x88;
inline constexpr __u64 KVM_REG_PPC_TCR = KVM_REG_PPC | KVM_REG_SIZE_U32 | 0x89;
inline constexpr __u64 KVM_REG_PPC_TSR = KVM_REG_PPC | KVM_REG_SIZE_U32 | 0x8a;

inline constexpr unsigned long KVM_PPC_GET_REGS = _IOR(KVMIO, 0x81, kvm_regs);
inline constexpr unsigned long KVM_PPC_SET_REGS = _IOW(KVMIO, 0x82, kvm_regs);
inline constexpr unsigned long KVM_PPC_GET_SREGS = _IOR(KVMIO, 0x83, kvm_sregs);
inline constexpr unsigned long KVM_PPC_SET_SREGS = _IOW(KVMIO, 0x84, kvm_sregs);

}  // namespace regsync::ppc

namespace regsync::x86 {
inline constexpr __u32 MSR_IA32_TSC = 0x10;
inline constexpr __u32 MSR_IA32_TSC_ADJUST = 0x3b;
inline constexpr __u32 MSR_IA32_SYSENTER_CS = 0x174;
inline constexpr __u32 MSR_STAR = 0xc0000081;
inline constexpr __u32 MSR_KVM_SYSTEM_TIME_NEW = 0x4b564d01;  // paravirtual kvmclock
inline constexpr __u32 MSR_IA32_TSCDEADLINE = 0x6e0;

// The struct kvm_sregs fields the x86 catalogue names, by their catalogue
// field index (model/catalogue.cpp): 0 cs.base, 1 cs.selector, 2 cr0, 3 cr2,
// 4 cr3, 5 cr4, 6 efer, 7 apic_base. Shared by both sides of the ABI.
inline __u64* sregs_u64(struct kvm_sregs& s, std::uint64_t id) {
    switch (id) {
        case 0: return &s.cs.base;
        case 2: return &s.cr0;
        case 3: return &s.cr2;
        case 4: return &s.cr3;
        case 5: return &s.cr4;
        case 6: return &s.efer;
        case 7: return &s.apic_base;
        default: return nullptr;
    }
}
inline std::uint64_t sregs_get(struct kvm_sregs s, std::uint64_t id) {
    return id == 1 ? s.cs.selector : *sregs_u64(s, id);
}
inline void sregs_set(struct kvm_sregs& s, std::uint64_t id, std::uint64_t v) {
    if (id == 1) s.cs.selector = static_cast<__u16>(v);
    else *sregs_u64(s, id) = v;
}

// struct kvm_msrs as the kernel (C) lays it out: entries at offset 8.
// Compiled as C++, the header's __DECLARE_FLEX_ARRAY puts an empty struct of
// size 1 before `entries` and shifts it to offset 16, so C++ code must not
// use kvm_msrs::entries. Both backends take this struct for KVM_{GET,SET}_MSRS.
struct kvm_msrs_buf {
    __u32 nmsrs = 0;
    __u32 pad = 0;
    static constexpr __u32 kMax = 8;
    kvm_msr_entry entries[kMax]{};
    void* arg() { return this; }
};
static_assert(offsetof(kvm_msrs_buf, entries) == 8);
// The request numbers encode sizeof(struct kvm_msrs): 8 in C, but 16 in C++
// (see above), so <linux/kvm.h>'s KVM_GET_MSRS/KVM_SET_MSRS compiled as C++
// are numbers the kernel does not know (it answers -EINVAL; found by
// `regsync kvm-probe` on a real kernel). These are the kernel's.
inline constexpr unsigned long kvm_get_msrs = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x88, 8);
inline constexpr unsigned long kvm_set_msrs = _IOC(_IOC_WRITE, KVMIO, 0x89, 8);
static_assert(kvm_get_msrs == 0xc008ae88 && kvm_set_msrs == 0x4008ae89);
static_assert(sizeof(kvm_msr_entry) == 16);
}  // namespace regsync::x86

// arm64 (arch/arm64/include/uapi/asm/kvm.h): every register is reached by
// ONE_REG; ids are KVM_REG_ARM64 | size | coproc << 16 | index.
namespace regsync::arm64 {
// KVM_REG_ARM64 (0x6000000000000000) and KVM_REG_RISCV come from <linux/kvm.h>.
inline constexpr __u64 KVM_REG_ARM_CORE = 0x0010ULL << 16;
inline constexpr __u64 KVM_REG_ARM64_SYSREG = 0x0013ULL << 16;
// KVM_REG_ARM_CORE_REG(name): offsetof(struct kvm_regs, name) / 4; x_n at 2n.
inline constexpr __u64 core_reg(unsigned index32) { return KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | index32; }
inline constexpr __u64 KVM_REG_X0 = core_reg(0x00);
inline constexpr __u64 KVM_REG_SP = core_reg(0x3e);
inline constexpr __u64 KVM_REG_PC = core_reg(0x40);
inline constexpr __u64 KVM_REG_PSTATE = core_reg(0x42);
inline constexpr __u64 KVM_REG_SP_EL1 = core_reg(0x44);
inline constexpr __u64 KVM_REG_ELR_EL1 = core_reg(0x46);
// ARM64_SYS_REG(op0, op1, crn, crm, op2)
inline constexpr __u64 sys_reg(unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2) {
    return KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM64_SYSREG | op0 << 14 | op1 << 11 | crn << 7 | crm << 3 | op2;
}
// The virtual timer's CVAL and CNT encodings are swapped against the
// architecture ("accidentally swapped", fixed ABI).
inline constexpr __u64 KVM_REG_ARM_TIMER_CTL = sys_reg(3, 3, 14, 3, 1);
inline constexpr __u64 KVM_REG_ARM_TIMER_CNT = sys_reg(3, 3, 14, 3, 2);
inline constexpr __u64 KVM_REG_ARM_TIMER_CVAL = sys_reg(3, 3, 14, 0, 2);
inline constexpr __u64 KVM_REG_ARM_PTIMER_CTL = sys_reg(3, 3, 14, 2, 1);
inline constexpr __u64 KVM_REG_ARM_PTIMER_CVAL = sys_reg(3, 3, 14, 2, 2);
inline constexpr __u64 KVM_REG_ARM_PTIMER_CNT = sys_reg(3, 3, 14, 0, 1);
static_assert(KVM_REG_ARM_TIMER_CTL == 0x603000000013df19ULL && KVM_REG_ARM_TIMER_CNT == 0x603000000013df1aULL &&
              KVM_REG_ARM_TIMER_CVAL == 0x603000000013df02ULL && KVM_REG_ARM_PTIMER_CNT == 0x603000000013df01ULL);
static_assert(KVM_REG_PC == 0x6030000000100040ULL && KVM_REG_PSTATE == 0x6030000000100042ULL);
inline constexpr __u64 SCTLR_EL1 = sys_reg(3, 0, 1, 0, 0);
inline constexpr __u64 TPIDR_EL1 = sys_reg(3, 0, 13, 0, 4);
inline constexpr __u64 VBAR_EL1 = sys_reg(3, 0, 12, 0, 0);

// CNTx_CTL_EL0 bits (ARCH_TIMER_CTRL_*).
inline constexpr __u64 CTL_ENABLE = 1u << 0;
inline constexpr __u64 CTL_IMASK = 1u << 1;
inline constexpr __u64 CTL_ISTATUS = 1u << 2;
// VCPU_RESET_PSTATE_EL1: PSR_MODE_EL1h | A | I | F | D.
inline constexpr __u64 RESET_PSTATE_EL1 = 0x3c5;

inline constexpr __u32 KVM_ARM_VCPU_POWER_OFF = 0;  // feature bit: start STOPPED
struct kvm_vcpu_init {
    __u32 target;
    __u32 features[7];
};
struct kvm_arm_counter_offset {
    __u64 counter_offset;
    __u64 reserved;
};
// Named in lower case: <linux/kvm.h> has macros of the upper-case names.
inline constexpr unsigned long kvm_arm_vcpu_init = _IOW(KVMIO, 0xae, kvm_vcpu_init);
inline constexpr unsigned long kvm_arm_set_counter_offset = _IOW(KVMIO, 0xb5, kvm_arm_counter_offset);  // a VM ioctl
inline constexpr __u32 KVM_ARM_TARGET_GENERIC_V8 = 5;

// PSCI 0.2 function ids (SMC64) and return codes (include/uapi/linux/psci.h).
inline constexpr __u64 PSCI_0_2_FN64_CPU_ON = 0xc4000003;
inline constexpr __u64 PSCI_0_2_FN_CPU_OFF = 0x84000002;
inline constexpr __u64 PSCI_0_2_FN_SYSTEM_RESET = 0x84000009;
inline constexpr __s64 PSCI_RET_SUCCESS = 0;
inline constexpr __s64 PSCI_RET_ALREADY_ON = -4;
}  // namespace regsync::arm64

// riscv64 (arch/riscv/include/uapi/asm/kvm.h): KVM_REG_RISCV | U64 |
// type << 24 | subtype << 16 | index.
namespace regsync::riscv {
inline constexpr __u64 KVM_REG_RISCV_CORE = 0x02ULL << 24;
inline constexpr __u64 KVM_REG_RISCV_CSR = 0x03ULL << 24;
inline constexpr __u64 KVM_REG_RISCV_TIMER = 0x04ULL << 24;
inline constexpr __u64 reg(__u64 type, unsigned index) { return KVM_REG_RISCV | KVM_REG_SIZE_U64 | type | index; }
// struct kvm_riscv_core: regs.pc, ra, sp, ... (user_regs_struct order), mode.
inline constexpr __u64 core(unsigned index) { return reg(KVM_REG_RISCV_CORE, index); }
inline constexpr __u64 KVM_REG_PC = core(0);
inline constexpr __u64 KVM_REG_A0 = core(10);
inline constexpr __u64 KVM_REG_A1 = core(11);
// struct kvm_riscv_csr, general subtype.
inline constexpr __u64 csr(unsigned index) { return reg(KVM_REG_RISCV_CSR, index); }
inline constexpr __u64 CSR_SSTATUS = csr(0), CSR_SIE = csr(1), CSR_STVEC = csr(2), CSR_SSCRATCH = csr(3), CSR_SEPC = csr(4),
                       CSR_SCAUSE = csr(5), CSR_STVAL = csr(6), CSR_SIP = csr(7), CSR_SATP = csr(8), CSR_SCOUNTEREN = csr(9);
// struct kvm_riscv_timer: frequency, time, compare, state.
inline constexpr __u64 TIMER_FREQUENCY = reg(KVM_REG_RISCV_TIMER, 0), TIMER_TIME = reg(KVM_REG_RISCV_TIMER, 1),
                       TIMER_COMPARE = reg(KVM_REG_RISCV_TIMER, 2), TIMER_STATE = reg(KVM_REG_RISCV_TIMER, 3);
static_assert(TIMER_TIME == 0x8030000004000001ULL && CSR_SIP == 0x8030000003000007ULL && KVM_REG_A0 == 0x803000000200000aULL);
inline constexpr __u64 KVM_RISCV_TIMER_STATE_OFF = 0, KVM_RISCV_TIMER_STATE_ON = 1;
// sip as userspace sees it: the VS-level bits shifted to S positions
// (VSIP_TO_HVIP_SHIFT = 1); VSIP_VALID_MASK = SSIP | STIP | SEIP.
inline constexpr __u64 SIP_SSIP = 1u << 1, SIP_STIP = 1u << 5, SIP_SEIP = 1u << 9;
inline constexpr __u64 VSIP_VALID_MASK = SIP_SSIP | SIP_STIP | SIP_SEIP;
// SBI: extension ids and HSM function ids; errors.
inline constexpr __u64 SBI_EXT_HSM = 0x48534d, SBI_EXT_HSM_HART_START = 0, SBI_EXT_HSM_HART_STOP = 1;
inline constexpr __u64 SBI_EXT_IPI = 0x735049;
inline constexpr __s64 SBI_SUCCESS = 0, SBI_ERR_ALREADY_AVAILABLE = -6;
}  // namespace regsync::riscv

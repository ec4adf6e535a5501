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

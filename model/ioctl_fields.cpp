#include "model/ioctl_fields.h"

#include <cstdio>

#include "model/kvm_abi.h"

namespace regsync::model {

bool is_state_get(unsigned long r) {
    return r == KVM_GET_REGS || r == KVM_GET_SREGS || r == x86::kvm_get_msrs || r == KVM_GET_MP_STATE || r == KVM_GET_VCPU_EVENTS;
}

bool is_state_set(unsigned long r) {
    return r == KVM_SET_REGS || r == KVM_SET_SREGS || r == x86::kvm_set_msrs || r == KVM_SET_MP_STATE || r == KVM_SET_VCPU_EVENTS;
}

unsigned long get_for_set(unsigned long r) {
    if (r == KVM_SET_REGS) return KVM_GET_REGS;
    if (r == KVM_SET_SREGS) return KVM_GET_SREGS;
    if (r == x86::kvm_set_msrs) return x86::kvm_get_msrs;
    if (r == KVM_SET_MP_STATE) return KVM_GET_MP_STATE;
    if (r == KVM_SET_VCPU_EVENTS) return KVM_GET_VCPU_EVENTS;
    return 0;
}

namespace {
Access access_of(unsigned long r) {
    if (r == KVM_GET_REGS || r == KVM_SET_REGS) return Access::Regs;
    if (r == KVM_GET_SREGS || r == KVM_SET_SREGS) return Access::Sregs;
    if (r == x86::kvm_get_msrs || r == x86::kvm_set_msrs) return Access::Msrs;
    if (r == KVM_GET_MP_STATE || r == KVM_SET_MP_STATE) return Access::MpState;
    return Access::VcpuEvents;
}
}  // namespace

std::vector<RegValue> ioctl_registers(const Catalogue& c, unsigned long request, const void* arg) {
    std::vector<RegValue> out;
    const Access a = access_of(request);
    for (std::size_t i = 0; i < c.size(); ++i) {
        const auto& d = c.regs[i];
        if (d.access != a) continue;
        const auto r = static_cast<RegIndex>(i);
        switch (a) {
            case Access::Regs: out.emplace_back(r, reinterpret_cast<const __u64*>(arg)[d.id]); break;
            case Access::Sregs: out.emplace_back(r, x86::sregs_get(*static_cast<const struct kvm_sregs*>(arg), d.id)); break;
            case Access::Msrs: {
                const auto& b = *static_cast<const x86::kvm_msrs_buf*>(arg);
                for (__u32 k = 0; k < b.nmsrs && k < x86::kvm_msrs_buf::kMax; ++k)
                    if (b.entries[k].index == d.id) out.emplace_back(r, b.entries[k].data);
                break;
            }
            case Access::MpState: out.emplace_back(r, static_cast<const struct kvm_mp_state*>(arg)->mp_state); break;
            case Access::VcpuEvents: {
                const auto& e = *static_cast<const struct kvm_vcpu_events*>(arg);
                if (r == c.exception_injected) out.emplace_back(r, e.exception.injected);
                // The kernel takes nmi.pending from a SET only with the flag.
                const bool set = request == KVM_SET_VCPU_EVENTS;
                if (r == c.nmi_pending && (!set || (e.flags & KVM_VCPUEVENT_VALID_NMI_PENDING))) out.emplace_back(r, e.nmi.pending);
                break;
            }
            default: break;
        }
    }
    return out;
}

void set_ioctl_register(const Catalogue& c, unsigned long request, void* arg, RegIndex r, std::uint64_t v) {
    const auto& d = c[r];
    if (d.access != access_of(request)) return;
    switch (d.access) {
        case Access::Regs: reinterpret_cast<__u64*>(arg)[d.id] = v; break;
        case Access::Sregs: x86::sregs_set(*static_cast<struct kvm_sregs*>(arg), d.id, v); break;
        case Access::Msrs: {
            auto& b = *static_cast<x86::kvm_msrs_buf*>(arg);
            for (__u32 k = 0; k < b.nmsrs && k < x86::kvm_msrs_buf::kMax; ++k)
                if (b.entries[k].index == d.id) b.entries[k].data = v;
            break;
        }
        case Access::MpState: static_cast<struct kvm_mp_state*>(arg)->mp_state = static_cast<__u32>(v); break;
        case Access::VcpuEvents: {
            auto& e = *static_cast<struct kvm_vcpu_events*>(arg);
            if (r == c.exception_injected) e.exception.injected = static_cast<__u8>(v);
            if (r == c.nmi_pending) e.nmi.pending = static_cast<__u8>(v);
            break;
        }
        default: break;
    }
}

std::string ioctl_name(Arch arch, unsigned long req) {
    const bool x86 = arch == Arch::X86;
    if (req == KVM_RUN) return "KVM_RUN";
    if (req == (x86 ? KVM_GET_REGS : ppc::KVM_PPC_GET_REGS)) return "KVM_GET_REGS";
    if (req == (x86 ? KVM_SET_REGS : ppc::KVM_PPC_SET_REGS)) return "KVM_SET_REGS";
    if (req == (x86 ? KVM_GET_SREGS : ppc::KVM_PPC_GET_SREGS)) return "KVM_GET_SREGS";
    if (req == (x86 ? KVM_SET_SREGS : ppc::KVM_PPC_SET_SREGS)) return "KVM_SET_SREGS";
    if (req == x86::kvm_get_msrs) return "KVM_GET_MSRS";
    if (req == x86::kvm_set_msrs) return "KVM_SET_MSRS";
    if (req == KVM_GET_ONE_REG) return "KVM_GET_ONE_REG";
    if (req == KVM_SET_ONE_REG) return "KVM_SET_ONE_REG";
    if (req == KVM_GET_MP_STATE) return "KVM_GET_MP_STATE";
    if (req == KVM_SET_MP_STATE) return "KVM_SET_MP_STATE";
    if (req == KVM_GET_VCPU_EVENTS) return "KVM_GET_VCPU_EVENTS";
    if (req == KVM_SET_VCPU_EVENTS) return "KVM_SET_VCPU_EVENTS";
    if (req == arm64::kvm_arm_vcpu_init) return "KVM_ARM_VCPU_INIT";
    char buf[32];
    std::snprintf(buf, sizeof buf, "ioctl-0x%lx", req);
    return buf;
}

}  // namespace regsync::model

#include "model/arch_sync.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "model/kvm_abi.h"
#include "model/mutation.h"

namespace regsync::model {

namespace {
constexpr RegMask bit(std::size_t i) { return RegMask{1} << i; }

}  // namespace

const SyncOrder& qemu2013_order() {
    static const SyncOrder o{{Access::Regs, Access::Sregs, Access::Msrs, Access::MpState, Access::VcpuEvents, Access::OneReg},
                             {Access::Regs, Access::Sregs, Access::Msrs, Access::MpState, Access::VcpuEvents, Access::OneReg}};
    return o;
}

const SyncOrder& qemu_today_order() {
    static const SyncOrder o{{Access::VcpuEvents, Access::MpState, Access::Regs, Access::Sregs, Access::Msrs, Access::OneReg},
                             {Access::Sregs, Access::Regs, Access::Msrs, Access::VcpuEvents, Access::MpState, Access::OneReg}};
    return o;
}

ArchSync::ArchSync(const Catalogue& c) : cat_(&c) {
    for (std::size_t l = 0; l < level_masks_.size(); ++l)
        for (std::size_t i = 0; i < c.size(); ++i)
            if (static_cast<std::size_t>(c.regs[i].level) <= l) level_masks_[l] |= bit(i);
    for (std::size_t i = 0; i < c.size(); ++i) access_masks_[static_cast<std::size_t>(c.regs[i].access)] |= bit(i);
}

RegMask ArchSync::level_mask(SyncLevel level) const { return level_masks_[static_cast<std::size_t>(level)]; }

RegMask ArchSync::all() const { return cat_->size() >= 64 ? ~RegMask{0} : bit(cat_->size()) - 1; }

RegMask ArchSync::ioctl_closure(RegMask mask) const {
    RegMask out = mask;
    for (Access a : {Access::Regs, Access::Sregs, Access::VcpuEvents})
        if (mask & access_mask(a)) out |= access_mask(a);
    return out;
}

RegMask ArchSync::access_mask(Access a) const { return access_masks_[static_cast<std::size_t>(a)]; }

void ArchSync::get(CPUState& cpu, RegMask mask, const SyncOrder& order) const {
    const SyncOrder* o = &order;
    // The 2013 order changes nothing unless the families this get issues
    // come in another sequence (riscv gets ONE_REG alone): then the mutant
    // is equivalent and must not count as fired.
    if (mutation_ && mutation_->m->kind == MutationKind::Get2013Order) {
        auto issued = [&](const SyncOrder& so) {
            std::vector<Access> v;
            for (Access a : so.get)
                if (mask & access_mask(a)) v.push_back(a);
            return v;
        };
        if (issued(order) != issued(qemu2013_order())) {
            o = &qemu2013_order();
            mutation_->fired = true;
        }
    }
    for (Access a : o->get)
        if (mask & access_mask(a)) get_family(cpu, a, mask);
}

void ArchSync::put(CPUState& cpu, RegMask mask, const PutOptions& opt, const SyncOrder& order) const {
    // Blindly: at runtime, from the cache, whatever the kernel did since.
    if (mutation_ && mutation_->m->kind == MutationKind::BlindAsyncPut && opt.level == SyncLevel::Runtime)
        if (const auto r = cat_->find(mutation_->m->reg); r && !(mask & bit(static_cast<std::size_t>(*r)))) {
            mask |= bit(static_cast<std::size_t>(*r));
            mutation_->fired = true;
        }
    for (Access a : order.put) {
        if (!(mask & access_mask(a))) continue;
        if (mutation_ && mutation_->m->kind == MutationKind::SkipPut && mutation_->m->family == a && mutation_->m->level == opt.level) {
            mutation_->fired = true;
            continue;
        }
        put_family(cpu, a, mask, opt);
    }
}

void ArchSync::get_family(CPUState& cpu, Access a, RegMask mask) const {
    const auto& c = *cat_;
    auto& env = cpu.env;
    const bool x86 = c.arch == Arch::X86;
    KvmVcpu& v = *cpu.kvm;
    auto fill = [&](const __u64* fields) {
        for (std::size_t i = 0; i < c.size(); ++i)
            if (c.regs[i].access == a) env[i] = fields[c.regs[i].id];
    };
    switch (a) {
        case Access::Regs:
            if (x86) {
                struct kvm_regs r{};
                v.ioctl(KVM_GET_REGS, &r);
                fill(reinterpret_cast<const __u64*>(&r));
            } else {
                ppc::kvm_regs r{};
                v.ioctl(ppc::KVM_PPC_GET_REGS, &r);
                fill(reinterpret_cast<const __u64*>(&r));
            }
            break;
        case Access::Sregs:
            if (x86) {
                struct kvm_sregs s{};
                v.ioctl(KVM_GET_SREGS, &s);
                for (std::size_t i = 0; i < c.size(); ++i)
                    if (c.regs[i].access == Access::Sregs) env[i] = x86::sregs_get(s, c.regs[i].id);
            } else {
                ppc::kvm_sregs s{};
                v.ioctl(ppc::KVM_PPC_GET_SREGS, &s);
                env[static_cast<std::size_t>(c.dec)] = s.u.e.dec;
            }
            break;
        case Access::Msrs: {
            x86::kvm_msrs_buf b{};
            for (std::size_t i = 0; i < c.size(); ++i)
                if (c.regs[i].access == Access::Msrs && (mask & bit(i))) b.entries[b.nmsrs++].index = static_cast<__u32>(c.regs[i].id);
            v.ioctl(x86::kvm_get_msrs, b.arg());
            __u32 n = 0;
            for (std::size_t i = 0; i < c.size(); ++i)
                if (c.regs[i].access == Access::Msrs && (mask & bit(i))) env[i] = b.entries[n++].data;
            break;
        }
        case Access::MpState: {
            struct kvm_mp_state mp{};
            v.ioctl(KVM_GET_MP_STATE, &mp);
            env[static_cast<std::size_t>(c.mp_state)] = mp.mp_state;
            break;
        }
        case Access::VcpuEvents: {
            struct kvm_vcpu_events e{};
            v.ioctl(KVM_GET_VCPU_EVENTS, &e);
            env[static_cast<std::size_t>(c.exception_injected)] = e.exception.injected;
            env[static_cast<std::size_t>(c.nmi_pending)] = e.nmi.pending;
            if (e.flags & KVM_VCPUEVENT_VALID_SMM) cpu.latched_init = e.smi.latched_init != 0;
            cpu.sipi_vector = e.sipi_vector;  // "never valid when reporting to user space": 0
            break;
        }
        case Access::OneReg:
            for (std::size_t i = 0; i < c.size(); ++i) {
                if (c.regs[i].access != Access::OneReg || !(mask & bit(i))) continue;
                std::uint64_t val = 0;
                struct kvm_one_reg o{c.regs[i].id, reinterpret_cast<__u64>(&val)};
                // Failures are warnings, as in seed 004's kvm_get_one_spr().
                if (v.ioctl(KVM_GET_ONE_REG, &o) == 0) env[i] = val;
            }
            break;
    }
}

void ArchSync::put_family(CPUState& cpu, Access a, RegMask mask, const PutOptions& opt) const {
    const auto& c = *cat_;
    const auto& env = cpu.env;
    const bool x86 = c.arch == Arch::X86;
    KvmVcpu& v = *cpu.kvm;
    auto store = [&](__u64* fields) {
        for (std::size_t i = 0; i < c.size(); ++i)
            if (c.regs[i].access == a) fields[c.regs[i].id] = env[i];
    };
    switch (a) {
        case Access::Regs:
            if (x86) {
                struct kvm_regs r{};
                store(reinterpret_cast<__u64*>(&r));
                v.ioctl(KVM_SET_REGS, &r);
            } else {
                ppc::kvm_regs r{};
                store(reinterpret_cast<__u64*>(&r));
                v.ioctl(ppc::KVM_PPC_SET_REGS, &r);
            }
            break;
        case Access::Sregs:
            if (x86) {
                struct kvm_sregs s{};
                for (std::size_t i = 0; i < c.size(); ++i)
                    if (c.regs[i].access == Access::Sregs) x86::sregs_set(s, c.regs[i].id, env[i]);
                v.ioctl(KVM_SET_SREGS, &s);
            } else {
                ppc::kvm_sregs s{};
                s.u.e.features = ppc::KVM_SREGS_E_BASE;
                s.u.e.tcr = static_cast<__u32>(env[static_cast<std::size_t>(c.tcr)]);
                s.u.e.dec = static_cast<__u32>(env[static_cast<std::size_t>(c.dec)]);
                s.u.e.update_special = ppc::KVM_SREGS_E_UPDATE_DEC;
                v.ioctl(ppc::KVM_PPC_SET_SREGS, &s);
            }
            break;
        case Access::Msrs: {
            x86::kvm_msrs_buf b{};
            for (std::size_t i = 0; i < c.size(); ++i) {
                if (c.regs[i].access != Access::Msrs || !(mask & bit(i))) continue;
                b.entries[b.nmsrs].index = static_cast<__u32>(c.regs[i].id);
                b.entries[b.nmsrs++].data = env[i];
            }
            v.ioctl(x86::kvm_set_msrs, b.arg());
            break;
        }
        case Access::MpState: {
            struct kvm_mp_state mp{static_cast<__u32>(env[static_cast<std::size_t>(c.mp_state)])};
            v.ioctl(KVM_SET_MP_STATE, &mp);
            break;
        }
        case Access::VcpuEvents: {
            struct kvm_vcpu_events e{};
            e.exception.injected = static_cast<__u8>(env[static_cast<std::size_t>(c.exception_injected)]);
            e.nmi.pending = static_cast<__u8>(env[static_cast<std::size_t>(c.nmi_pending)]);
            if (opt.level >= SyncLevel::Reset) e.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING;
            const bool sipi_received = env[static_cast<std::size_t>(c.mp_state)] == KVM_MP_STATE_SIPI_RECEIVED;
            if (opt.level >= SyncLevel::Reset && (opt.sipi_vector == SipiVectorRule::AtReset || sipi_received)) {
                e.flags |= KVM_VCPUEVENT_VALID_SIPI_VECTOR;
                e.sipi_vector = cpu.sipi_vector;
            }
            if (opt.valid_smm) {
                e.flags |= KVM_VCPUEVENT_VALID_SMM;
                e.smi.latched_init = opt.latched_init ? 1 : 0;
            }
            v.ioctl(KVM_SET_VCPU_EVENTS, &e);
            break;
        }
        case Access::OneReg:
            for (std::size_t i = 0; i < c.size(); ++i) {
                if (c.regs[i].access != Access::OneReg || !(mask & bit(i))) continue;
                std::uint64_t val = env[i];
                std::uint32_t val32 = static_cast<std::uint32_t>(val);
                const bool u32 = (c.regs[i].id & KVM_REG_SIZE_MASK) == KVM_REG_SIZE_U32;
                struct kvm_one_reg o{c.regs[i].id, u32 ? reinterpret_cast<__u64>(&val32) : reinterpret_cast<__u64>(&val)};
                v.ioctl(KVM_SET_ONE_REG, &o);
            }
            break;
    }
}

}  // namespace regsync::model

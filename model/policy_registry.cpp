#include "model/policy_registry.h"

#include "model/policies/accessors.h"
#include "model/policies/partial_get.h"
#include "model/policies/ppc_onereg_tsr.h"
#include "model/policies/qemu_eager.h"
#include "model/policies/qemu_levels.h"
#include "model/policies/qemu_levels_skipping.h"
#include "model/policies/qemu_today.h"
#include "model/policies/regsync_bitmap.h"
#include "model/policies/sync_regs.h"

namespace regsync::model {

namespace {
template <typename P>
std::unique_ptr<SyncPolicy> make() { return std::make_unique<P>(); }

PolicyInfo builtin(std::string_view name, std::string_view description, std::unique_ptr<SyncPolicy> (*m)()) {
    PolicyInfo p;
    p.name = name;
    p.description = description;
    p.make = m;
    return p;
}

std::vector<PolicyInfo>& registry() {
    static std::vector<PolicyInfo> v = {
        builtin("qemu-0.12-eager", "before the writeback rework: every writeback puts all state (seed 000, '-' lines)", &make<QemuEager>),
        builtin("qemu-levels", "KVM_PUT_{RUNTIME,RESET,FULL}_STATE writeback levels (seed 000)", &make<QemuLevels>),
        builtin("qemu-levels-no-post-init", "qemu-levels without cpu_synchronize_all_post_init (loadvm, machine init)", &make<QemuLevelsNoPostInit>),
        builtin("qemu-levels-no-post-reset", "qemu-levels without cpu_synchronize_all_post_reset", &make<QemuLevelsNoPostReset>),
        builtin("regsync-v2", "kvm_vcpu_dirty as a bitmap, RUNTIME-only put and clear (seed 002 as posted)", &make<RegsyncV2>),
        builtin("regsync-v2-fixed", "the bitmap with the reviewers' fix: put and clear all dirty bits", &make<RegsyncV2Fixed>),
        builtin("partial-get-unsafe", "s390-style partial get on hot exits; a later full get refreshes over dirty registers (seed 002)", &make<PartialGetUnsafe>),
        builtin("partial-get-safe", "the same, writing dirty registers back before any get (seed 002)", &make<PartialGetSafe>),
        builtin("accessors", "per-register cached/dirty accessors (Tosatti, seed 002)", &make<Accessors>),
        builtin("ppc-onereg-tsr", "qemu-levels with TSR only via KVM_REG_PPC_OR_TSR/CLEAR_TSR (seed 002)", &make<PpcOneregTsr>),
        builtin("sync-regs", "qemu-levels through the kvm_run shared page (KVM_CAP_SYNC_REGS: kvm_valid_regs, kvm_dirty_regs)", &make<SyncRegs>),
        builtin("qemu-today", "current QEMU accel/kvm/kvm-all.c and target/i386/kvm/kvm.c", &make<QemuToday>),
        builtin("qemu-today-init-fix", "qemu-today with a candidate fix: no latched INIT read outside SMM, VALID_SMM only at RESET and FULL", &make<QemuTodayInitFix>),
    };
    return v;
}
}  // namespace

const std::vector<PolicyInfo>& policies() { return registry(); }

const PolicyInfo* find_policy(std::string_view name) {
    for (const auto& p : registry())
        if (p.name == name) return &p;
    return nullptr;
}

std::unique_ptr<SyncPolicy> make_policy(std::string_view name) {
    const auto* p = find_policy(name);
    return p ? p->make() : nullptr;
}

bool register_policy(PolicyInfo p) {
    if (find_policy(p.name)) return false;
    registry().push_back(std::move(p));
    return true;
}

bool policy_supports(std::string_view name, Arch a) {
    const auto* p = find_policy(name);
    return p && (!p->arch || *p->arch == a);
}

}  // namespace regsync::model

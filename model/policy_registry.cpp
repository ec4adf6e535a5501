#include "model/policy_registry.h"

#include "model/policies/accessors.h"
#include "model/policies/partial_get.h"
#include "model/policies/ppc_onereg_tsr.h"
#include "model/policies/qemu_eager.h"
#include "model/policies/qemu_levels.h"
#include "model/policies/qemu_levels_skipping.h"
#include "model/policies/qemu_arm64.h"
#include "model/policies/qemu_riscv64.h"
#include "model/policies/qemu_today.h"
#include "model/policies/regsync_bitmap.h"
#include "model/policies/sync_regs.h"

namespace regsync::model {

namespace {
template <typename P>
std::unique_ptr<SyncPolicy> make(Arch) { return std::make_unique<P>(); }

// The seed-era designs were written for x86, s390 and PowerPC.
constexpr std::uint32_t kSeedArches = arch_bit(Arch::X86) | arch_bit(Arch::PpcBookE);
constexpr std::uint32_t kAllArches = kSeedArches | arch_bit(Arch::Arm64) | arch_bit(Arch::Riscv64);

PolicyInfo builtin(std::string_view name, std::string_view description, std::unique_ptr<SyncPolicy> (*m)(Arch),
                   std::uint32_t arches = kSeedArches) {
    PolicyInfo p;
    p.name = name;
    p.description = description;
    p.make = m;
    p.arches = arches;
    return p;
}

// Today's QEMU: the target code of the machine's architecture.
std::unique_ptr<SyncPolicy> make_qemu_today(Arch a) {
    switch (a) {
        case Arch::Arm64: return make_qemu_arm64(QemuArm64Config{});
        case Arch::Riscv64: return make_qemu_riscv64(QemuRiscv64Config{});
        default: return std::make_unique<QemuToday>();
    }
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
        builtin("qemu-today", "current QEMU accel/kvm/kvm-all.c with target/i386/kvm/kvm.c, target/ppc/kvm.c, target/arm/kvm.c or target/riscv/kvm/kvm-cpu.c",
                &make_qemu_today, kAllArches),
        builtin("qemu-today-init-fix", "qemu-today with a candidate fix: no latched INIT read outside SMM, VALID_SMM only at RESET and FULL", &make<QemuTodayInitFix>),
        builtin("qemu-today-kvm-no-adjvtime", "qemu-today on arm64 with the CPU property kvm-no-adjvtime=on: the virtual counter runs on while the VM is stopped",
                [](Arch) { return make_qemu_arm64(QemuArm64Config{.name = "qemu-today-kvm-no-adjvtime", .adjvtime = false}); }, arch_bit(Arch::Arm64)),
        builtin("qemu-arm-cnt-at-runtime", "target/arm/kvm.c before 4b7a6bf402 (2015): KVM_REG_ARM_TIMER_CNT written back at every level, RUNTIME included",
                [](Arch) { return make_qemu_arm64(QemuArm64Config{.name = "qemu-arm-cnt-at-runtime", .counters_at_full_only = false, .adjvtime = false}); },
                arch_bit(Arch::Arm64)),
        builtin("qemu-today-arm-mpstate-fix", "qemu-today on arm64 with a candidate fix (not upstream): mp_state got before the registers and put at KVM_PUT_FULL_STATE only (KVM_ARM_VCPU_INIT sets it at reset)",
                [](Arch) {
                    return make_qemu_arm64(QemuArm64Config{.name = "qemu-today-arm-mpstate-fix", .mp_state_level = SyncLevel::Full, .mp_state_first = true});
                },
                arch_bit(Arch::Arm64)),
        builtin("qemu-riscv-set-timer-bug", "target/riscv/kvm from 27abe66f31 to c5cc248b47 (2022-2023): KVM_RISCV_SET_TIMER writes every timer register to `time`",
                [](Arch) { return make_qemu_riscv64(QemuRiscv64Config{.name = "qemu-riscv-set-timer-bug", .set_timer_writes_time = true}); },
                arch_bit(Arch::Riscv64)),
        builtin("qemu-riscv-no-mpstate", "target/riscv/kvm before 8633951530 (2023): mp_state never put, not even at KVM_PUT_RESET_STATE",
                [](Arch) { return make_qemu_riscv64(QemuRiscv64Config{.name = "qemu-riscv-no-mpstate", .put_mp_state_at_reset = false}); },
                arch_bit(Arch::Riscv64)),
        builtin("qemu-today-riscv-mpstate-sync", "qemu-today on riscv64 with a candidate fix (not upstream): mp_state got with the registers and put at KVM_PUT_FULL_STATE too, so that a snapshot holds it",
                [](Arch) { return make_qemu_riscv64(QemuRiscv64Config{.name = "qemu-today-riscv-mpstate-sync", .sync_mp_state = true}); },
                arch_bit(Arch::Riscv64)),
        builtin("qemu-today-riscv-sip-fix", "qemu-today on riscv64 with a candidate fix (not upstream): sip is not written back at KVM_PUT_RUNTIME_STATE",
                [](Arch) { return make_qemu_riscv64(QemuRiscv64Config{.name = "qemu-today-riscv-sip-fix", .sip_at_runtime = false}); },
                arch_bit(Arch::Riscv64)),
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

std::unique_ptr<SyncPolicy> make_policy(std::string_view name, Arch arch) {
    const auto* p = find_policy(name);
    return p && (p->arches & arch_bit(arch)) ? p->make(arch) : nullptr;
}

bool register_policy(PolicyInfo p) {
    if (find_policy(p.name)) return false;
    registry().push_back(std::move(p));
    return true;
}

bool policy_supports(std::string_view name, Arch a) {
    const auto* p = find_policy(name);
    return p && (p->arches & arch_bit(a)) != 0;
}

}  // namespace regsync::model

// `regsync-v2`: Jason Herne's patch 4/7 v2 (seed 002) as posted.
// kvm_vcpu_dirty becomes a bitmap of KVM_REGSYNC_{RUNTIME,RESET,FULL}_STATE,
// encoded cumulatively as Jan Kiszka required (RESET implies RUNTIME):
//   do_kvm_cpu_synchronize_state: regs_to_get = FULL & ~dirty;
//                                 get(regs_to_get); dirty |= regs_to_get
//   post_reset: put RESET; dirty &= ~RESET      post_init: put FULL; dirty &= ~FULL
//   kvm_cpu_exec: if (dirty) { put RUNTIME; dirty &= ~RUNTIME }
// so a vCPU enters the guest with RESET/FULL bits still dirty (Marcelo's
// point 1), and later gets skip the registers those bits cover.
// `regsync-v2-fixed`: the reviewers' fix (Bharat Bhushan):
//   kvm_cpu_exec: put cpu->kvm_vcpu_dirty; dirty = 0
// which puts FULL state at runtime after any synchronize (Marcelo's point 3).
#pragma once
#include "model/sync_policy.h"

namespace regsync::model {

class RegsyncBitmap : public SyncPolicy {
public:
    static constexpr std::uint32_t RUNTIME_BIT = 1, RESET_BIT = 2, FULL_BIT = 4;
    static constexpr std::uint32_t KVM_REGSYNC_RUNTIME_STATE = RUNTIME_BIT;
    static constexpr std::uint32_t KVM_REGSYNC_RESET_STATE = RUNTIME_BIT | RESET_BIT;
    static constexpr std::uint32_t KVM_REGSYNC_FULL_STATE = RUNTIME_BIT | RESET_BIT | FULL_BIT;

    explicit RegsyncBitmap(bool fixed) : fixed_(fixed) {}
    std::string_view name() const override { return fixed_ ? "regsync-v2-fixed" : "regsync-v2"; }
    bool needs_synchronize(const CPUState& cpu) const override { return (KVM_REGSYNC_FULL_STATE & ~cpu.kvm_vcpu_dirty) != 0; }
    void synchronize_state(CPUState& cpu, const ArchSync& arch) override;
    void post_reset(CPUState& cpu, const ArchSync& arch) override;
    void post_init(CPUState& cpu, const ArchSync& arch) override;
    void pre_run(CPUState& cpu, const ArchSync& arch) override;

private:
    // Registers whose level bit is in `bits` (RUNTIME registers for the
    // RUNTIME bit, RESET-only ones for the RESET bit, ...).
    static RegMask regs_of(const ArchSync& arch, std::uint32_t bits);
    static SyncLevel highest(std::uint32_t bits);
    bool fixed_;
};

class RegsyncV2 final : public RegsyncBitmap {
public:
    RegsyncV2() : RegsyncBitmap(false) {}
};
class RegsyncV2Fixed final : public RegsyncBitmap {
public:
    RegsyncV2Fixed() : RegsyncBitmap(true) {}
};

}  // namespace regsync::model

// `partial-get-unsafe` / `partial-get-safe`: the s390 partial syncs of
// seed 002 (Jason Herne, 1 Feb 2013). kvm_vcpu_dirty is a bitmap with the
// RUNTIME set split in two: SOME (what is cheap to read on hot exits: here
// the kvm_regs struct, on s390 the kvm_run sync regs) and REST. Hot paths
// call s390_sync_partial_runtime_registers(SOME), which fetches only SOME
// and marks it dirty; a later cpu_synchronize_state() must get the rest.
//   unsafe: it reads the entire state ("kvm_arch_get_registers reads the
//           entire state", Tosatti), refreshing the cache over pending
//           dirty registers.
//   safe:   "make it write back all dirty registers (env->kvm_vcpu_dirty)
//            before getting anything" (Herne), as the thread demands.
// The vCPU loop writes back every dirty set and clears them all (the
// reviewers' fix), so only the partial-get question differs.
#pragma once
#include "model/sync_policy.h"

namespace regsync::model {

class PartialGet : public SyncPolicy {
public:
    static constexpr std::uint32_t SOME = 1, REST = 2, RESET = 4, FULL = 8, ALL = 15;

    explicit PartialGet(bool safe) : safe_(safe) {}
    std::string_view name() const override { return safe_ ? "partial-get-safe" : "partial-get-unsafe"; }
    bool needs_synchronize(const CPUState& cpu) const override { return (ALL & ~cpu.kvm_vcpu_dirty) != 0; }
    void synchronize_state(CPUState& cpu, const ArchSync& arch) override;
    void synchronize_partial(CPUState& cpu, const ArchSync& arch) override;
    void post_reset(CPUState& cpu, const ArchSync& arch) override;
    void post_init(CPUState& cpu, const ArchSync& arch) override;
    void pre_run(CPUState& cpu, const ArchSync& arch) override { writeback(cpu, arch); }

private:
    static RegMask regs_of(const ArchSync& arch, std::uint32_t bits);
    void writeback(CPUState& cpu, const ArchSync& arch);
    bool safe_;
};

class PartialGetUnsafe final : public PartialGet {
public:
    PartialGetUnsafe() : PartialGet(false) {}
};
class PartialGetSafe final : public PartialGet {
public:
    PartialGetSafe() : PartialGet(true) {}
};

}  // namespace regsync::model

// `accessors`: Marcelo Tosatti's per-register design (seed 002, 4 Jan 2013):
//   read_reg(x):  if x not cached: get it (then it is cached)
//   write_reg(x): read_reg(x); env->x = val; mark_dirty(x)
//   around KVM_RUN: if regs dirty: writeback; after it: mark runtime
//   registers as not cached.
// Only dirty registers are written back (with the other fields of the same
// ioctl struct, fetched first if not cached), so nothing stale is put.
// Open points of the sketch, decided here: "runtime registers" are those
// at RUNTIME level plus any the kernel changes on its own (TSR, mp_state,
// TSC); post-reset and post-init write back what is dirty, like KVM_RUN.
#pragma once
#include "model/sync_policy.h"

namespace regsync::model {

class Accessors final : public SyncPolicy {
public:
    std::string_view name() const override { return "accessors"; }
    bool needs_synchronize(const CPUState& cpu) const override { return cpu.cached != all_; }
    void synchronize_state(CPUState& cpu, const ArchSync& arch) override;
    void post_reset(CPUState& cpu, const ArchSync& arch) override { writeback(cpu, arch, SyncLevel::Reset); }
    void post_init(CPUState& cpu, const ArchSync& arch) override { writeback(cpu, arch, SyncLevel::Full); }
    void pre_run(CPUState& cpu, const ArchSync& arch) override;
    void post_run(CPUState& cpu, const ArchSync& arch) override;
    bool reads_on_vcpu_thread() const override { return true; }
    std::uint64_t read_reg(CPUState& cpu, const ArchSync& arch, RegIndex r) override;
    void write_reg(CPUState& cpu, const ArchSync& arch, RegIndex r, std::uint64_t v) override;

private:
    // Fetch the uncached registers in `mask` without touching dirty ones.
    void fetch(CPUState& cpu, const ArchSync& arch, RegMask mask);
    void writeback(CPUState& cpu, const ArchSync& arch, SyncLevel level);
    RegMask all_ = ~RegMask{0};
};

}  // namespace regsync::model

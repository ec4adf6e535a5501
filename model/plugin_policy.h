// A sync layer written against the C ABI (include/regsync/regsync.h), seen
// by generic code as a SyncPolicy like any built-in. The layer keeps its own
// CPU struct; CPUState::env is not used by it. Each hook is called where
// QEMU's generic code calls it, and recorded in the flight recorder so that a
// crash inside it can be reported with its name.
#pragma once
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/sync_policy.h"
#include "regsync/regsync.h"

namespace regsync::model {

// A hook returned an error it did not handle (unsupervised runs).
struct PluginFault : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Checks a layer's table before regsync takes it: "" or what is wrong.
std::string check_layer(const regsync_sync_layer& l);
// The architecture a layer that passed check_layer syncs.
inline Arch arch_of(const regsync_sync_layer& l) {
    switch (l.arch) {
        case REGSYNC_ARCH_PPC_BOOKE: return Arch::PpcBookE;
        case REGSYNC_ARCH_ARM64: return Arch::Arm64;
        case REGSYNC_ARCH_RISCV64: return Arch::Riscv64;
        default: return Arch::X86;
    }
}

class PluginPolicy final : public SyncPolicy {
public:
    explicit PluginPolicy(const regsync_sync_layer& layer);
    ~PluginPolicy() override;

    std::string_view name() const override { return layer_.name; }
    void attach(sim::World& world, std::vector<CPUState>& cpus) override;
    bool keeps_own_state() const override { return true; }
    bool needs_synchronize(const CPUState& cpu) const override;
    void synchronize_state(CPUState& cpu, const ArchSync& arch) override;
    void post_reset(CPUState& cpu, const ArchSync& arch) override;
    void post_init(CPUState& cpu, const ArchSync& arch) override;
    void pre_run(CPUState& cpu, const ArchSync& arch) override;
    void post_run(CPUState& cpu, const ArchSync& arch) override;
    bool puts_outside_bql() const override { return !(layer_.flags & REGSYNC_F_PUT_UNDER_BQL); }
    bool process_async_events(CPUState& cpu, const ArchSync& arch) override;
    void pre_loadvm(CPUState& cpu, const ArchSync& arch) override;
    void vm_state_change(CPUState& cpu, const ArchSync& arch, bool running) override;
    void reset_handlers(CPUState& cpu, const ArchSync& arch) override;
    bool runstate_before_pause() const override { return !(layer_.flags & REGSYNC_F_RUNSTATE_AFTER_PAUSE); }
    // The layer reads the run state through regsync_runstate_is_running(),
    // which records the read where it happens.
    bool reads_runstate() const override { return false; }
    bool kvmclock_reads_tsc() const override { return layer_.kvm_get_tsc != nullptr; }
    void kvm_get_tsc(CPUState& cpu, const ArchSync& arch) override;
    std::uint64_t tsc_after_reset(std::uint64_t current, std::uint64_t reset) const override;
    bool reads_on_vcpu_thread() const override { return layer_.flags & REGSYNC_F_READS_ON_VCPU_THREAD; }
    std::uint64_t read_reg(CPUState& cpu, const ArchSync& arch, RegIndex r) override;
    void write_reg(CPUState& cpu, const ArchSync& arch, RegIndex r, std::uint64_t v) override;

    struct Handle;  // regsync_vcpu with regsync's side of it

private:
    template <typename F>
    int call(const char* hook, const CPUState& cpu, F&& f) const;
    void* state(const CPUState& cpu) const { return states_[static_cast<std::size_t>(cpu.cpu_index)]; }

    const regsync_sync_layer& layer_;
    std::vector<std::unique_ptr<Handle>> handles_;
    std::vector<void*> states_;
    friend struct PluginServices;
    sim::World* world_ = nullptr;
    const Catalogue* cat_ = nullptr;
    std::uint16_t locks_held_ = 0;  // regsync_lock(), one bit per lock id
    mutable bool shutdown_ = false;  // the execution ended inside a hook
    mutable std::string last_ioctl_error_;
};

}  // namespace regsync::model

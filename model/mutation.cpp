#include "model/mutation.h"

#include <cstring>
#include <map>

#include "model/kvm_abi.h"

namespace regsync::model {

std::string Mutation::name() const {
    switch (kind) {
        case MutationKind::SkipPut: return std::string("skip-put:") + to_string(family) + "@" + to_string(level);
        case MutationKind::KeepDirty: return "keep-dirty";
        case MutationKind::BlindAsyncPut: return "blind-put:" + reg;
        case MutationKind::Get2013Order: return "get-2013-order";
        case MutationKind::SkipPostInit: return "skip-post-init";
        case MutationKind::SkipPostReset: return "skip-post-reset";
        case MutationKind::SkipMarkDirty: return "skip-mark-dirty";
        case MutationKind::SkipDirtyRegs:
            return std::string("skip-kvm-dirty-regs:") +
                   (sync_class == KVM_SYNC_X86_REGS ? "REGS" : sync_class == KVM_SYNC_X86_SREGS ? "SREGS" : "EVENTS");
        case MutationKind::NeverReread: return "never-reread";
    }
    return "?";
}

const std::vector<Mutation>& mutations() {
    static const std::vector<Mutation> all = [] {
        std::vector<Mutation> v;
        for (Access a : {Access::Regs, Access::Sregs, Access::Msrs, Access::OneReg, Access::MpState, Access::VcpuEvents})
            for (SyncLevel l : {SyncLevel::Runtime, SyncLevel::Reset, SyncLevel::Full}) v.push_back({MutationKind::SkipPut, a, l, "", 0});
        v.push_back({MutationKind::KeepDirty, {}, {}, "", 0});
        // Registers the kernel changes on its own. Not IA32_TSCDEADLINE: the
        // kernel clears it only in the vCPU's own context, so a runtime
        // writeback of it is safe (tsc-deadline-race; QEMU does it).
        for (const char* r : {"IA32_TSC", "mp_state", "TSR"}) v.push_back({MutationKind::BlindAsyncPut, {}, {}, r, 0});
        v.push_back({MutationKind::Get2013Order, {}, {}, "", 0});
        v.push_back({MutationKind::SkipPostInit, {}, {}, "", 0});
        v.push_back({MutationKind::SkipPostReset, {}, {}, "", 0});
        v.push_back({MutationKind::SkipMarkDirty, {}, {}, "", 0});
        for (std::uint64_t c : {KVM_SYNC_X86_REGS, KVM_SYNC_X86_SREGS, KVM_SYNC_X86_EVENTS}) v.push_back({MutationKind::SkipDirtyRegs, {}, {}, "", c});
        v.push_back({MutationKind::NeverReread, {}, {}, "", 0});
        return v;
    }();
    return all;
}

namespace {

// The dirty state every policy keeps in CPUState.
struct DirtyState {
    std::uint32_t kvm_vcpu_dirty;
    RegMask dirty_regs;
    static DirtyState of(const CPUState& c) { return {c.kvm_vcpu_dirty, c.dirty_regs}; }
    bool operator==(const DirtyState&) const = default;
    void restore(CPUState& c) const {
        c.kvm_vcpu_dirty = kvm_vcpu_dirty;
        c.dirty_regs = dirty_regs;
    }
};

// A backend that answers every GET with zeros and only counts the ioctls
// that would change the kernel: it tells whether a hook does anything.
class DryRun final : public KvmVcpu {
public:
    explicit DryRun(KvmVcpu& real) : index_(real.index()) { std::memcpy(&run_, &real.run(), sizeof run_); }
    int ioctl(unsigned long request, void* arg) override {
        if (request == x86::kvm_get_msrs) return static_cast<int>(static_cast<x86::kvm_msrs_buf*>(arg)->nmsrs);
        if (request == x86::kvm_set_msrs) {
            ++writes;
            return static_cast<int>(static_cast<x86::kvm_msrs_buf*>(arg)->nmsrs);
        }
        if (request == KVM_GET_ONE_REG) return 0;
        if (request == KVM_SET_ONE_REG || request == KVM_SET_REGS || request == KVM_SET_SREGS || request == KVM_SET_MP_STATE ||
            request == KVM_SET_VCPU_EVENTS || request == ppc::KVM_PPC_SET_REGS || request == ppc::KVM_PPC_SET_SREGS)
            ++writes;
        return 0;
    }
    struct kvm_run& run() override { return run_; }
    void kick() override {}
    int index() const override { return index_; }
    int writes = 0;

private:
    int index_;
    struct kvm_run run_ {};
};

class MutantPolicy final : public SyncPolicy {
public:
    MutantPolicy(SyncPolicy& inner, MutationProbe& p) : in_(inner), p_(p) {}
    std::string_view name() const override { return in_.name(); }
    void attach(sim::World& w, std::vector<CPUState>& cpus) override { in_.attach(w, cpus); }
    bool keeps_own_state() const override { return in_.keeps_own_state(); }
    bool needs_synchronize(const CPUState& cpu) const override { return in_.needs_synchronize(cpu); }
    void synchronize_state(CPUState& cpu, const ArchSync& arch) override { in_.synchronize_state(cpu, arch); }
    void synchronize_partial(CPUState& cpu, const ArchSync& arch) override { in_.synchronize_partial(cpu, arch); }
    void post_reset(CPUState& cpu, const ArchSync& arch) override {
        if (is(MutationKind::SkipPostReset)) return skip(cpu, [&](CPUState& c) { in_.post_reset(c, arch); });
        keeping_dirty(cpu, [&] { in_.post_reset(cpu, arch); });
    }
    void post_init(CPUState& cpu, const ArchSync& arch) override {
        if (is(MutationKind::SkipPostInit)) return skip(cpu, [&](CPUState& c) { in_.post_init(c, arch); });
        keeping_dirty(cpu, [&] { in_.post_init(cpu, arch); });
    }
    void pre_run(CPUState& cpu, const ArchSync& arch) override {
        keeping_dirty(cpu, [&] { in_.pre_run(cpu, arch); });
    }
    void post_run(CPUState& cpu, const ArchSync& arch) override { in_.post_run(cpu, arch); }
    void pre_loadvm(CPUState& cpu, const ArchSync& arch) override { in_.pre_loadvm(cpu, arch); }
    void vm_state_change(CPUState& cpu, const ArchSync& arch, bool running) override { in_.vm_state_change(cpu, arch, running); }
    void reset_handlers(CPUState& cpu, const ArchSync& arch) override { in_.reset_handlers(cpu, arch); }
    bool runstate_before_pause() const override { return in_.runstate_before_pause(); }
    bool reads_runstate() const override { return in_.reads_runstate(); }
    bool kvmclock_reads_tsc() const override { return in_.kvmclock_reads_tsc(); }
    void kvm_get_tsc(CPUState& cpu, const ArchSync& arch) override { in_.kvm_get_tsc(cpu, arch); }
    bool puts_outside_bql() const override { return in_.puts_outside_bql(); }
    bool process_async_events(CPUState& cpu, const ArchSync& arch) override { return in_.process_async_events(cpu, arch); }
    std::uint64_t tsc_after_reset(std::uint64_t current, std::uint64_t reset) const override { return in_.tsc_after_reset(current, reset); }
    bool reads_on_vcpu_thread() const override { return in_.reads_on_vcpu_thread(); }
    std::uint64_t read_reg(CPUState& cpu, const ArchSync& arch, RegIndex r) override { return in_.read_reg(cpu, arch, r); }
    void write_reg(CPUState& cpu, const ArchSync& arch, RegIndex r, std::uint64_t v) override {
        const auto before = DirtyState::of(cpu);
        in_.write_reg(cpu, arch, r, v);
        // Only what write_reg added to the dirty state is left out.
        if (is(MutationKind::SkipMarkDirty) && !(DirtyState::of(cpu) == before)) {
            cpu.dirty_regs = before.dirty_regs | (cpu.dirty_regs & ~(RegMask{1} << r));
            cpu.kvm_vcpu_dirty = before.kvm_vcpu_dirty;
            fire();
        }
    }

private:
    bool is(MutationKind k) const { return p_.m->kind == k; }
    void fire() { p_.fired = true; }
    // Leaves a hook out; it counts as a fault only if the hook would have
    // put something or changed the dirty state (run dry on a copy), so that
    // skipping a hook a policy already leaves empty is no mutant.
    template <typename F>
    void skip(const CPUState& cpu, F&& hook) {
        // A layer with its own state cannot be run dry on a copy: leaving
        // its hook out counts as the fault.
        if (in_.keeps_own_state()) return fire();
        CPUState copy = cpu;
        copy.work_list.clear();  // nobody's run_on_cpu request is the dry run's
        DryRun dry(*cpu.kvm);
        copy.kvm = &dry;
        hook(copy);  // ArchSync plants nothing for a skipped hook's mutation kinds
        if (dry.writes > 0 || !(DirtyState::of(copy) == DirtyState::of(cpu))) fire();
    }
    template <typename F>
    void keeping_dirty(CPUState& cpu, F&& f) {
        const auto before = DirtyState::of(cpu);
        f();
        if (!is(MutationKind::KeepDirty) || DirtyState::of(cpu) == before) return;
        before.restore(cpu);
        fire();
    }
    SyncPolicy& in_;
    MutationProbe& p_;
};

bool is_get(unsigned long r) {
    return r == KVM_GET_REGS || r == KVM_GET_SREGS || r == x86::kvm_get_msrs || r == KVM_GET_MP_STATE || r == KVM_GET_VCPU_EVENTS ||
           r == KVM_GET_ONE_REG || r == ppc::KVM_PPC_GET_REGS || r == ppc::KVM_PPC_GET_SREGS;
}

std::size_t get_size(unsigned long r) {
    if (r == KVM_GET_REGS) return sizeof(struct kvm_regs);
    if (r == KVM_GET_SREGS) return sizeof(struct kvm_sregs);
    if (r == x86::kvm_get_msrs) return sizeof(x86::kvm_msrs_buf);
    if (r == KVM_GET_MP_STATE) return sizeof(struct kvm_mp_state);
    if (r == KVM_GET_VCPU_EVENTS) return sizeof(struct kvm_vcpu_events);
    if (r == ppc::KVM_PPC_GET_REGS) return sizeof(ppc::kvm_regs);
    if (r == ppc::KVM_PPC_GET_SREGS) return sizeof(ppc::kvm_sregs);
    return 0;
}

class MutantVcpu final : public KvmVcpu {
public:
    MutantVcpu(KvmVcpu& inner, MutationProbe& p) : in_(inner), p_(p) {}
    int ioctl(unsigned long request, void* arg) override {
        const auto kind = p_.m->kind;
        if (kind == MutationKind::SkipDirtyRegs && request == KVM_RUN && (in_.run().kvm_dirty_regs & p_.m->sync_class)) {
            in_.run().kvm_dirty_regs &= ~p_.m->sync_class;
            p_.fired = true;
        }
        if (kind == MutationKind::NeverReread && is_get(request)) return cached_get(request, arg);
        return in_.ioctl(request, arg);
    }
    struct kvm_run& run() override { return in_.run(); }
    void kick() override { in_.kick(); }
    int index() const override { return in_.index(); }

private:
    // The first answer per request (per MSR list, per ONE_REG id) is kept
    // and handed out again instead of asking the kernel.
    int cached_get(unsigned long request, void* arg) {
        std::string key(reinterpret_cast<const char*>(&request), sizeof request);
        std::size_t size = get_size(request);
        void* out = arg;
        if (request == x86::kvm_get_msrs) {
            const auto* m = static_cast<const x86::kvm_msrs_buf*>(arg);
            for (__u32 i = 0; i < m->nmsrs && i < std::size(m->entries); ++i) key.append(reinterpret_cast<const char*>(&m->entries[i].index), 4);
        } else if (request == KVM_GET_ONE_REG) {
            const auto* o = static_cast<const struct kvm_one_reg*>(arg);
            key.append(reinterpret_cast<const char*>(&o->id), sizeof o->id);
            out = reinterpret_cast<void*>(o->addr);
            size = (o->id & KVM_REG_SIZE_MASK) == KVM_REG_SIZE_U32 ? 4 : 8;
        }
        auto it = seen_.find(key);
        if (it == seen_.end()) {
            const int r = in_.ioctl(request, arg);
            seen_[key] = {r, std::string(static_cast<const char*>(out), size)};
            return r;
        }
        std::memcpy(out, it->second.second.data(), size);
        p_.fired = true;
        return it->second.first;
    }
    KvmVcpu& in_;
    MutationProbe& p_;
    std::map<std::string, std::pair<int, std::string>> seen_;
};

class MutantVm final : public KvmVm {
public:
    MutantVm(KvmVm& inner, MutationProbe& p) : in_(inner) {
        for (int i = 0; i < inner.vcpu_count(); ++i) vcpus_.push_back(std::make_unique<MutantVcpu>(inner.vcpu(i), p));
    }
    Arch arch() const override { return in_.arch(); }
    int vcpu_count() const override { return in_.vcpu_count(); }
    KvmVcpu& vcpu(int i) override { return *vcpus_[static_cast<std::size_t>(i)]; }

private:
    KvmVm& in_;
    std::vector<std::unique_ptr<MutantVcpu>> vcpus_;
};

}  // namespace

std::unique_ptr<SyncPolicy> mutate_policy(SyncPolicy& inner, MutationProbe& probe) { return std::make_unique<MutantPolicy>(inner, probe); }
std::unique_ptr<KvmVm> mutate_backend(KvmVm& inner, MutationProbe& probe) { return std::make_unique<MutantVm>(inner, probe); }

}  // namespace regsync::model

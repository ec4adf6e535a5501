#include "properties/oracle.h"

#include <linux/kvm.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <optional>
#include <string>

#include "sim/rng.h"

namespace regsync::properties {

using model::RegIndex;
using sim::Event;
using sim::EventKind;
using sim::Writer;

namespace {

struct Intent {
    std::uint64_t value = 0;
    std::uint64_t mask = 0;
    std::uint32_t step = 0;
    sim::IntentCause cause{};
    bool active = false;     // issued since the vCPU last entered KVM_RUN
    bool satisfied = false;  // the kernel held the intended value
    bool live = false;       // not superseded
};

struct RegShadow {
    std::uint64_t value = 0;
    std::uint64_t kernel_bits = 0;  // bits whose last change came from the kernel side
    std::uint32_t kernel_step = 0;  // step of that change
    Writer kernel_writer = Writer::None;
    Intent intent;
};

struct VcpuShadow {
    std::vector<RegShadow> regs;
    // Sum of (new - old) over intended TSC writes: subtracting it from a
    // guest read gives a value that advances with virtual time alone, the
    // same for every vCPU whose TSC nobody moved unintentionally.
    std::int64_t tsc_compensation = 0;
};

struct TscRead {
    int vcpu = -1;
    std::int64_t adjusted = 0;
    std::uint64_t raw = 0;
    std::uint32_t step = 0;
};

struct PendingInit {
    int from, to;
    std::uint32_t step;
    std::optional<std::uint64_t> sipi_pc;
    std::uint32_t sipi_step = 0;
    bool done = false;
};

class Oracle {
public:
    explicit Oracle(const OracleInput& in) : in_(in), cat_(*in.cat) {
        for (std::size_t v = 0; v < in.initial.size(); ++v) {
            VcpuShadow s;
            s.regs.resize(cat_.size());
            for (std::size_t r = 0; r < cat_.size(); ++r) s.regs[r].value = in.initial[v][r];
            vcpus_.push_back(std::move(s));
        }
    }

    void feed(const Event& e) { on_event(e); }

    std::uint64_t state_hash() const {
        std::uint64_t h = verdict_.violations.size();
        for (const auto& vs : vcpus_) {
            h = sim::hash_combine(h, static_cast<std::uint64_t>(vs.tsc_compensation));
            for (const auto& r : vs.regs) {
                h = sim::hash_combine(h, r.value);
                h = sim::hash_combine(h, r.kernel_bits);
                const auto& i = r.intent;
                h = sim::hash_combine(h, i.value ^ (i.mask << 1));
                h = sim::hash_combine(h, static_cast<std::uint64_t>(i.cause) | i.active << 8 | i.satisfied << 9 | i.live << 10 |
                                             static_cast<std::uint64_t>(i.step >= load_step_) << 11);
            }
        }
        for (const auto& i : inits_)
            h = sim::hash_combine(h, static_cast<std::uint64_t>(i.from) << 40 ^ static_cast<std::uint64_t>(i.to) << 32 ^
                                         (i.sipi_pc ? *i.sipi_pc : ~0ULL) ^ i.done << 1 ^ static_cast<std::uint64_t>(reset_step_ > i.step));
        if (max_tsc_read_) h = sim::hash_combine(h, static_cast<std::uint64_t>(max_tsc_read_->adjusted) ^ max_tsc_read_->vcpu);
        return sim::hash_combine(h, loading_);
    }

    Verdict run(const std::vector<Event>& events) {
        for (const auto& e : events) on_event(e);
        finish(events.empty() ? 0 : events.back().step);
        std::stable_sort(verdict_.violations.begin(), verdict_.violations.end(),
                         [](const Violation& a, const Violation& b) { return a.step < b.step; });
        return std::move(verdict_);
    }

private:
    bool on(Property p) const { return (in_.enabled & bit(p)) != 0; }
    RegShadow& reg(int v, int r) { return vcpus_[static_cast<std::size_t>(v)].regs[static_cast<std::size_t>(r)]; }
    std::string name(int r) const { return std::string(cat_[static_cast<RegIndex>(r)].name); }

    void report(Property p, int v, int r, std::uint64_t bits, std::uint32_t origin, std::uint32_t step, std::string msg) {
        if (!on(p)) return;
        verdict_.violations.push_back({p, v, r, bits, origin, step, std::move(msg)});
    }

    void on_event(const Event& e) {
        switch (e.kind) {
            case EventKind::KernelWrite: on_write(e); break;
            case EventKind::Intent: on_intent(e); break;
            case EventKind::VcpuEnter: on_enter(e); break;
            case EventKind::GuestTscRead: on_tsc_read(e); break;
            case EventKind::InitSent: inits_.push_back({e.vcpu, static_cast<int>(e.aux), e.step, {}, 0, false}); break;
            case EventKind::SipiSent: on_sipi(e); break;
            case EventKind::GuestEntry: on_guest_entry(e); break;
            case EventKind::SnapshotSaved: on_snapshot_saved(e); break;
            case EventKind::SnapshotLoaded: on_snapshot_loaded(e); break;
            case EventKind::VmResumed: on_resumed(); break;
            default: break;
        }
    }

    void on_intent(const Event& e) {
        auto& s = reg(e.vcpu, e.reg);
        // Already in the kernel: nothing needs writing, and later kernel-side
        // changes (a timer bit) are legitimate.
        // A vCPU is created with its TSC at 0, which is what machine init means.
        const bool already = cat_[e.reg].time_varying
                                 ? e.aux == static_cast<std::uint32_t>(sim::IntentCause::MachineInit) && e.value == 0
                                 : ((s.value ^ e.value) & e.mask) == 0;
        s.intent = Intent{e.value, e.mask, e.step, static_cast<sim::IntentCause>(e.aux), true, already, true};
        if (e.aux == static_cast<std::uint32_t>(sim::IntentCause::Reset)) {
            reset_step_ = e.step;
            max_tsc_read_.reset();  // the guest starts over: earlier reads are another life
        }
    }

    void on_write(const Event& e) {
        auto& s = reg(e.vcpu, e.reg);
        const auto& d = cat_[e.reg];
        if (e.writer != Writer::Userspace) {
            if (!d.time_varying) {
                s.kernel_bits |= e.mask;
                s.kernel_step = e.step;
                s.kernel_writer = e.writer;
                s.value = e.value;
            }
            return;
        }
        if (d.time_varying) return on_tsc_write(e, s);
        const std::uint64_t changed = e.mask;
        std::uint64_t justified = 0;
        if (s.intent.active) justified = changed & s.intent.mask & ~(e.value ^ s.intent.value);
        if (s.intent.live && !s.intent.satisfied && ((e.value ^ s.intent.value) & s.intent.mask) == 0) {
            s.intent.satisfied = true;
            justified |= changed & s.intent.mask;
        }
        const std::uint64_t stale = changed & ~justified;
        if (stale) {
            const std::uint64_t lost_kernel = stale & s.kernel_bits;
            const std::uint64_t lost_user = stale & ~s.kernel_bits;
            char buf[320];
            if (lost_kernel) {
                std::snprintf(buf, sizeof buf,
                              "vcpu%d %s bits 0x%" PRIx64 " set by %s at step %u were overwritten by a stale userspace write (0x%" PRIx64 " -> 0x%" PRIx64 ") at step %u",
                              e.vcpu, name(e.reg).c_str(), lost_kernel, sim::to_string(s.kernel_writer), s.kernel_step, e.old, e.value, e.step);
                report(Property::LostKernelWrite, e.vcpu, e.reg, lost_kernel, s.kernel_step, e.step, buf);
            }
            if (lost_user) {
                std::snprintf(buf, sizeof buf,
                              "vcpu%d %s bits 0x%" PRIx64 " changed by a userspace write nobody intended (0x%" PRIx64 " -> 0x%" PRIx64 ") at step %u",
                              e.vcpu, name(e.reg).c_str(), lost_user, e.old, e.value, e.step);
                report(Property::LostUserspaceWrite, e.vcpu, e.reg, lost_user, s.intent.step, e.step, buf);
            }
        }
        s.value = e.value;
        s.kernel_bits &= ~changed;
    }

    void on_tsc_write(const Event& e, RegShadow& s) {
        auto& vs = vcpus_[static_cast<std::size_t>(e.vcpu)];
        if (s.intent.active && e.value == s.intent.value) {
            // An intended TSC write (machine init, loadvm) may move time.
            s.intent.satisfied = true;
            vs.tsc_compensation += static_cast<std::int64_t>(e.value - e.old);
            return;
        }
        if (e.value < e.old) {
            last_tsc_rewind_step_ = e.step;
            last_tsc_rewind_vcpu_ = e.vcpu;
        }
    }

    // KVM keeps the vCPUs' TSCs synchronized and the guest relies on it
    // (Linux calls a cross-CPU decrease a TSC warp), so reads are compared
    // across vCPUs in the order they happened.
    void on_tsc_read(const Event& e) {
        const auto& vs = vcpus_[static_cast<std::size_t>(e.vcpu)];
        const TscRead now{e.vcpu, static_cast<std::int64_t>(e.value) - vs.tsc_compensation, e.value, e.step};
        if (max_tsc_read_ && now.adjusted < max_tsc_read_->adjusted) {
            const auto& prev = *max_tsc_read_;
            char buf[320];
            std::snprintf(buf, sizeof buf,
                          "vcpu%d read TSC 0x%" PRIx64 " at step %u, %" PRId64 " cycles behind vcpu%d's read 0x%" PRIx64 " at step %u; TSC rewound by userspace on vcpu%d at step %u",
                          e.vcpu, e.value, e.step, prev.adjusted - now.adjusted, prev.vcpu, prev.raw, prev.step, last_tsc_rewind_vcpu_,
                          last_tsc_rewind_step_);
            report(Property::TscJumpBack, e.vcpu, cat_.tsc, 0, last_tsc_rewind_step_, e.step, buf);
            return;
        }
        max_tsc_read_ = now;
    }

    bool intent_holds(const RegShadow& s, const model::RegisterDesc& d) const {
        if (s.intent.satisfied) return true;
        if (d.time_varying) return false;
        return ((s.value ^ s.intent.value) & s.intent.mask) == 0;
    }

    void on_enter(const Event& e) {
        auto& vs = vcpus_[static_cast<std::size_t>(e.vcpu)];
        for (std::size_t r = 0; r < cat_.size(); ++r) {
            auto& s = vs.regs[r];
            if (!s.intent.active) continue;
            s.intent.active = false;
            if (intent_holds(s, cat_.regs[r])) {
                s.intent.satisfied = true;
                continue;
            }
            char buf[256];
            std::snprintf(buf, sizeof buf,
                          "vcpu%d entered KVM_RUN at step %u with its %s write of %s = 0x%" PRIx64 " (step %u) not in the kernel (kernel has 0x%" PRIx64 ")",
                          e.vcpu, e.step, sim::to_string(s.intent.cause), name(static_cast<int>(r)).c_str(), s.intent.value,
                          s.intent.step, s.value);
            report(Property::DirtyEntry, e.vcpu, static_cast<int>(r), s.intent.mask, s.intent.step, e.step, buf);
        }
        if (loading_) check_loaded_snapshot(e.step);
    }

    // The main-loop operation that issued the intents is over. Intents it
    // already put into the kernel justify no later writes; those still
    // waiting for the vCPU's own writeback stay open until it enters.
    void on_resumed() {
        for (auto& vs : vcpus_)
            for (auto& s : vs.regs)
                if (s.intent.active && s.intent.satisfied) s.intent.active = false;
    }

    void on_sipi(const Event& e) {
        const std::uint64_t pc = static_cast<std::uint64_t>(e.value) << 12;
        for (auto& i : inits_)
            if (i.to == static_cast<int>(e.aux) && !i.done && !i.sipi_pc) {
                i.sipi_pc = pc;
                i.sipi_step = e.step;
            }
    }

    void on_guest_entry(const Event& e) {
        for (auto& i : inits_) {
            if (i.to != e.vcpu || i.done) continue;
            const bool bsp = in_.bsp[static_cast<std::size_t>(e.vcpu)];
            if (bsp && e.value == cat_.reset_pc()) i.done = true;
            if (!bsp && i.sipi_pc && e.value == *i.sipi_pc) i.done = true;
        }
    }

    void on_snapshot_saved(const Event& e) {
        const auto& d = cat_[e.reg];
        if (d.time_varying) return;
        const auto& s = reg(e.vcpu, e.reg);
        // Bits the kernel changes on its own may move after the sync; all
        // vCPUs are stopped, so nothing else may differ. A write userspace
        // intends but has not yet put (it goes in before the next KVM_RUN)
        // is what the snapshot must hold.
        const std::uint64_t cmp = d.mask() & ~d.async_mask;
        const std::uint64_t expect = (s.intent.active && !s.intent.satisfied) ? s.intent.value : s.value;
        if (((expect ^ e.value) & cmp) == 0) return;
        char buf[256];
        std::snprintf(buf, sizeof buf, "savevm captured vcpu%d %s = 0x%" PRIx64 " but the kernel held 0x%" PRIx64 " (step %u)",
                      e.vcpu, name(e.reg).c_str(), e.value, expect, e.step);
        report(Property::SnapshotFidelity, e.vcpu, e.reg, (expect ^ e.value) & cmp, e.step, e.step, buf);
    }

    void on_snapshot_loaded(const Event& e) {
        loading_ = true;
        load_step_ = e.step;
    }

    void check_loaded_snapshot(std::uint32_t step) {
        loading_ = false;
        for (std::size_t v = 0; v < vcpus_.size(); ++v)
            for (std::size_t r = 0; r < cat_.size(); ++r) {
                const auto& s = vcpus_[v].regs[r];
                const auto& d = cat_.regs[r];
                if (s.intent.cause != sim::IntentCause::Snapshot || s.intent.step < load_step_) continue;
                const bool ok = d.time_varying ? s.intent.satisfied
                                               : (((s.value ^ s.intent.value) & d.mask() & ~d.async_mask) == 0);
                if (ok) continue;
                char buf[256];
                std::snprintf(buf, sizeof buf,
                              "loadvm at step %u: vcpu%zu %s should be 0x%" PRIx64 " when the first vCPU runs (step %u), kernel has 0x%" PRIx64,
                              load_step_, v, name(static_cast<int>(r)).c_str(), s.intent.value, step, s.value);
                report(Property::SnapshotFidelity, static_cast<int>(v), static_cast<int>(r), d.mask(), load_step_, step, buf);
            }
    }

    void finish(std::uint32_t last_step) {
        for (std::size_t v = 0; v < vcpus_.size(); ++v)
            for (std::size_t r = 0; r < cat_.size(); ++r) {
                auto& s = vcpus_[v].regs[r];
                if (!s.intent.live || s.intent.satisfied || intent_holds(s, cat_.regs[r])) continue;
                char buf[256];
                std::snprintf(buf, sizeof buf, "vcpu%zu %s write of %s = 0x%" PRIx64 " (step %u) never reached the kernel (kernel has 0x%" PRIx64 ")",
                              v, sim::to_string(s.intent.cause), name(static_cast<int>(r)).c_str(), s.intent.value, s.intent.step, s.value);
                report(Property::LostUserspaceWrite, static_cast<int>(v), static_cast<int>(r), s.intent.mask, s.intent.step, last_step, buf);
            }
        for (const auto& i : inits_) {
            // A later system reset re-initialises every vCPU by design.
            if (i.done || (reset_step_ > i.step)) continue;
            const bool bsp = in_.bsp[static_cast<std::size_t>(i.to)];
            if (!bsp && !i.sipi_pc) {
                const auto mp = vcpus_[static_cast<std::size_t>(i.to)].regs[static_cast<std::size_t>(cat_.mp_state)].value;
                if (mp == KVM_MP_STATE_INIT_RECEIVED) continue;  // waiting for SIPI, as it should
            }
            char buf[256];
            if (i.sipi_pc)
                std::snprintf(buf, sizeof buf, "INIT from vcpu%d to vcpu%d (step %u) and SIPI (step %u) never started it at 0x%" PRIx64,
                              i.from, i.to, i.step, i.sipi_step, *i.sipi_pc);
            else
                std::snprintf(buf, sizeof buf, "INIT from vcpu%d to vcpu%d (step %u) was never acted on", i.from, i.to, i.step);
            report(Property::LostInit, i.to, cat_.mp_state, 0, i.step, last_step, buf);
        }
    }

    const OracleInput& in_;
    const model::Catalogue& cat_;
    std::vector<VcpuShadow> vcpus_;
    std::vector<PendingInit> inits_;
    std::optional<TscRead> max_tsc_read_;
    std::uint32_t last_tsc_rewind_step_ = 0;
    int last_tsc_rewind_vcpu_ = -1;
    bool loading_ = false;
    std::uint32_t load_step_ = 0;
    std::uint32_t reset_step_ = 0;
    Verdict verdict_;
};

}  // namespace

Verdict check(const OracleInput& in, const std::vector<Event>& events) { return Oracle(in).run(events); }

struct Monitor::Impl {
    explicit Impl(OracleInput i) : in(std::move(i)), oracle(in) {}
    OracleInput in;  // the oracle keeps a reference to it
    Oracle oracle;
};

Monitor::Monitor(OracleInput in) : impl_(std::make_unique<Impl>(std::move(in))) {}
Monitor::~Monitor() = default;
void Monitor::feed(const sim::Event& e) { impl_->oracle.feed(e); }
std::uint64_t Monitor::state_hash() const { return impl_->oracle.state_hash(); }

}  // namespace regsync::properties

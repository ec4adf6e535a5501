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
    // Still to be put when the machine resumed (a writeback deferred to the
    // vCPU's own entry): from then on the kernel may change the register
    // again (another vCPU's INIT, a timer), and those changes are not the
    // intent's to overwrite.
    bool deferred = false;
    std::uint32_t resume_step = 0;
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

struct InitRec {
    int from = -1;
    std::uint32_t step = 0;
};

// The INITs one acceptance took (the kernel merges every INIT pending at
// that moment into one reset) and what became of them.
struct InitGroup {
    enum class State : std::uint8_t { Waiting, Started, Done, Lost };
    std::vector<InitRec> inits;        // empty: an INIT userspace posted (latched_init = 1)
    std::uint32_t accept_step = 0;
    State state = State::Waiting;
    std::uint64_t expected_pc = 0;     // Started: where the vCPU must run first
    std::vector<std::uint64_t> also_pcs;  // without fate events: the other SIPIs' vectors it may run at
    std::uint32_t start_step = 0;
    std::uint32_t sipi_step = 0;       // the SIPI that started it (APs)
    std::uint32_t undo_step = 0;       // last userspace write of CS:RIP not asked for since acceptance
    bool start_request = false;        // a PSCI CPU_ON / SBI HART_START, not an INIT
};

struct SipiRec {
    int from = -1;
    std::uint32_t step = 0;
    std::uint64_t vector = 0;
};

struct InitTarget {
    std::vector<InitRec> pending;      // sent, not yet accepted
    // A start request whose reset the target has not yet run: its payload
    // is kernel state no register shows (vcpu->arch.reset_state).
    std::optional<InitRec> start_pending;
    std::uint64_t start_pc = 0;
    std::vector<InitGroup> groups;
    std::optional<SipiRec> last_sipi;  // the kernel keeps the latest vector (apic->sipi_vector)
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
        targets_.resize(in.initial.size());
    }

    void feed(const Event& e) { on_event(e); }

    std::uint64_t state_hash() const {
        std::uint64_t h = verdict_.violations.size();
        for (const auto& vs : vcpus_) {
            h = sim::hash_combine(h, static_cast<std::uint64_t>(vs.tsc_compensation));
            for (std::size_t k = 0; k < vs.regs.size(); ++k) {
                const auto& r = vs.regs[k];
                // A TSC's value is kept for messages only: it decides nothing.
                if (!cat_.regs[k].time_varying) h = sim::hash_combine(h, r.value);
                h = sim::hash_combine(h, r.kernel_bits);
                const auto& i = r.intent;
                h = sim::hash_combine(h, i.value ^ (i.mask << 1));
                h = sim::hash_combine(h, static_cast<std::uint64_t>(i.cause) | i.active << 8 | i.satisfied << 9 | i.live << 10 | i.deferred << 12 |
                                             static_cast<std::uint64_t>(i.step >= load_step_) << 11);
            }
        }
        for (const auto& t : targets_) {
            h = sim::hash_combine(h, t.pending.size() << 8 ^ (t.last_sipi ? t.last_sipi->vector : ~0ULL));
            for (const auto& g : t.groups)
                h = sim::hash_combine(h, g.expected_pc ^ static_cast<std::uint64_t>(g.state) << 60 ^ g.inits.size() << 52);
            if (t.start_pending) h = sim::hash_combine(h, t.start_pc ^ 0x5a5a);
        }
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
            case EventKind::InitSent: on_init_sent(e); break;
            case EventKind::SipiSent: on_sipi_sent(e); break;
            case EventKind::InitAccepted: on_init_accepted(e); break;
            case EventKind::InitCleared: on_init_cleared(e); break;
            case EventKind::SipiAccepted: on_sipi_accepted(e); break;
            case EventKind::GuestEntry: on_guest_entry(e); break;
            case EventKind::SnapshotSaved: on_snapshot_saved(e); break;
            case EventKind::SnapshotLoaded: on_snapshot_loaded(e); break;
            case EventKind::VmResumed: on_resumed(e); break;
            case EventKind::StartRequested: on_start_requested(e); break;
            case EventKind::StartServiced: target(e.vcpu).start_pending.reset(); break;
            // A guest's system reset or shutdown (PSCI SYSTEM_RESET, SBI
            // SRST): the kernel stopped every vCPU, by the guest's own wish.
            case EventKind::VcpuExit:
                if (e.aux == KVM_EXIT_SYSTEM_EVENT) cancel_inits();
                break;
            default: break;
        }
    }

    void on_intent(const Event& e) {
        auto& s = reg(e.vcpu, e.reg);
        // Bits the kernel computes on read (arm64 ISTATUS) are no state
        // userspace can set: a snapshot of them is not a write to make.
        const std::uint64_t mask = e.mask & ~cat_[e.reg].computed_mask;
        // Already in the kernel: nothing needs writing, and later kernel-side
        // changes (a timer bit) are legitimate.
        // A vCPU is created with its TSC at 0, which is what machine init means.
        const bool already = cat_[e.reg].time_varying
                                 ? e.aux == static_cast<std::uint32_t>(sim::IntentCause::MachineInit) && e.value == 0
                                 : ((s.value ^ e.value) & mask) == 0;
        s.intent = Intent{e.value, mask, e.step, static_cast<sim::IntentCause>(e.aux), true, already, true};
        if (e.aux == static_cast<std::uint32_t>(sim::IntentCause::Reset)) {
            cancel_inits();
            max_tsc_read_.reset();  // the guest starts over: earlier reads are another life
        }
    }

    void on_write(const Event& e) {
        auto& s = reg(e.vcpu, e.reg);
        const auto& d = cat_[e.reg];
        if (e.writer != Writer::Userspace) {
            if (e.reg == cat_.mp_state) on_init_state_write(e, false);
            // Not on a real kernel: its guest code sits elsewhere than the
            // fake's (kvm-replay translates program entries, not every pc).
            if (e.writer == Writer::Guest && e.reg == cat_.pc && cat_.cs_base >= 0 && in_.init_fate_events)
                on_guest_pc(e, reg(e.vcpu, cat_.cs_base).value + e.old);
            if (e.writer == Writer::Guest && e.reg == cat_.pc && cat_.start_payload.pc >= 0) on_guest_pc(e, e.old);
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
        // A deferred writeback does not justify overwriting what the kernel
        // changed after the machine resumed.
        if (s.intent.deferred && s.kernel_step > s.intent.resume_step) justified &= ~s.kernel_bits;
        // Bits the kernel computes on read and drops on write (arm64
        // ISTATUS): writing them back stale loses nothing.
        const std::uint64_t stale = changed & ~justified & ~d.computed_mask;
        if (e.reg == cat_.mp_state || e.reg == cat_.pc || e.reg == cat_.cs_base) on_init_state_write(e, stale != 0);
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
        s.value = e.value;  // what the TSC read right after the write (it advances from there)
        s.kernel_step = e.step;
        if (s.intent.active && e.value == s.intent.value) {
            // An intended TSC write (machine init, loadvm) may move time.
            s.intent.satisfied = true;
            // A VM-wide counter (arm64 CNTVCT, riscv time) moved for every vCPU.
            if (d_scope_vm(e.reg))
                for (auto& other : vcpus_) other.tsc_compensation += static_cast<std::int64_t>(e.value - e.old);
            else
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
            const std::string tsc = cat_.arch == model::Arch::X86 ? "TSC" : std::string(cat_[cat_.tsc].name);
            std::snprintf(buf, sizeof buf,
                          "vcpu%d read %s 0x%" PRIx64 " at step %u, %" PRId64 " cycles behind vcpu%d's read 0x%" PRIx64 " at step %u; %s rewound by userspace on vcpu%d at step %u",
                          e.vcpu, tsc.c_str(), e.value, e.step, prev.adjusted - now.adjusted, prev.vcpu, prev.raw, prev.step, tsc.c_str(), last_tsc_rewind_vcpu_,
                          last_tsc_rewind_step_);
            report(Property::TscJumpBack, e.vcpu, cat_.tsc, 0, last_tsc_rewind_step_, e.step, buf);
            return;
        }
        max_tsc_read_ = now;
    }

    // What the kernel holds, for a message: a time-varying register (the
    // TSC) has moved on since the oracle last saw it.
    std::string kernel_holds(const RegShadow& s, const model::RegisterDesc& d) const {
        char buf[96];
        if (d.time_varying)
            std::snprintf(buf, sizeof buf, "the kernel's TSC read 0x%" PRIx64 " after the last userspace write at step %u", s.value, s.kernel_step);
        else
            std::snprintf(buf, sizeof buf, "kernel has 0x%" PRIx64, s.value);
        return buf;
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
                          "vcpu%d entered KVM_RUN at step %u with its %s write of %s = 0x%" PRIx64 " (step %u) not in the kernel (%s)",
                          e.vcpu, e.step, sim::to_string(s.intent.cause), name(static_cast<int>(r)).c_str(), s.intent.value,
                          s.intent.step, kernel_holds(s, cat_.regs[r]).c_str());
            report(Property::DirtyEntry, e.vcpu, static_cast<int>(r), s.intent.mask, s.intent.step, e.step, buf);
        }
        if (loading_) check_loaded_snapshot(e.step);
    }

    // The main-loop operation that issued the intents is over. Intents it
    // already put into the kernel justify no later writes; those still
    // waiting for the vCPU's own writeback stay open until it enters.
    void on_resumed(const Event& e) {
        for (auto& vs : vcpus_)
            for (std::size_t r = 0; r < vs.regs.size(); ++r) {
                auto& s = vs.regs[r];
                // The kernel already held the intended value (the put found
                // nothing to change: no write event said so): the intent is
                // met, and what the guests do from here on is theirs.
                if (s.intent.active && !s.intent.satisfied && !cat_.regs[r].time_varying && intent_holds(s, cat_.regs[r]))
                    s.intent.satisfied = true;
                if (s.intent.active && s.intent.satisfied) s.intent.active = false;
                if (s.intent.active && !s.intent.deferred) {
                    s.intent.deferred = true;
                    s.intent.resume_step = e.step;
                }
            }
    }

    // ------------------------------------------------------------ INIT/SIPI
    // Each INIT is judged by what the kernel did with it: accepted (with
    // every other INIT pending at the time), cleared by userspace before
    // that, overwritten (the pre-3.10 HLT store), or accepted and then
    // undone by a userspace write the VMM did not mean before the vCPU ran.
    // After acceptance the BSP must run first at the reset vector; an AP
    // waits for SIPI, and the first SIPI the kernel delivers must be where
    // it runs first. Without fate events (a real kernel, whose acceptance is
    // not observable) an INIT counts as accepted when it is sent and the
    // first SIPI sent while the AP waits is the one it must start at.
    InitTarget& target(int v) { return targets_[static_cast<std::size_t>(v)]; }
    bool is_bsp(int v) const { return in_.bsp[static_cast<std::size_t>(v)]; }
    static InitGroup* find(InitTarget& t, InitGroup::State st) {
        for (auto it = t.groups.rbegin(); it != t.groups.rend(); ++it)
            if (it->state == st) return &*it;
        return nullptr;
    }

    bool d_scope_vm(int r) const { return cat_[static_cast<RegIndex>(r)].vm_scope; }
    std::string start_name() const { return std::string(cat_.start_request); }

    std::string init_names(const std::vector<InitRec>& inits, int to) const {
        const bool starts = cat_.start_payload.pc >= 0;
        std::string s = starts ? start_name() + " from " : inits.size() > 1 ? "INITs from " : "INIT from ";
        for (std::size_t i = 0; i < inits.size(); ++i) {
            if (i) s += ", ";
            s += "vcpu" + std::to_string(inits[i].from) + " (step " + std::to_string(inits[i].step) + ")";
        }
        return s + " to vcpu" + std::to_string(to);
    }

    void lose(int to, const std::vector<InitRec>& inits, std::uint32_t step, const std::string& why) {
        if (inits.empty()) return;  // posted by userspace: nobody's INIT was lost
        const bool many = inits.size() > 1 && why.rfind("was ", 0) == 0;  // "INITs ... were"
        report(Property::LostInit, to, cat_.mp_state, 0, inits.front().step, step, init_names(inits, to) + " " + (many ? "were " + why.substr(4) : why));
    }
    void lose(int to, InitGroup& g, std::uint32_t step, const std::string& why) {
        g.state = InitGroup::State::Lost;
        lose(to, g.inits, step, why);
    }

    void accept(int to, std::vector<InitRec> inits, std::uint32_t step) {
        auto& t = target(to);
        if (!is_bsp(to))
            if (auto* w = find(t, InitGroup::State::Waiting)) {  // reset again while waiting for SIPI: one wait
                w->inits.insert(w->inits.end(), inits.begin(), inits.end());
                return;
            }
        if (inits.empty()) return;  // a userspace-posted INIT replaces no guest's obligation
        // Without fate events the kernel may have merged this INIT with one
        // whose SIPI has not run yet: it joins that one.
        if (!in_.init_fate_events && !is_bsp(to))
            if (auto* st = find(t, InitGroup::State::Started)) {
                st->inits.insert(st->inits.end(), inits.begin(), inits.end());
                return;
            }
        // A guest's newer INIT supersedes an older one that has not run yet.
        for (auto& g : t.groups)
            if (g.state == InitGroup::State::Started) g.state = InitGroup::State::Done;
        InitGroup g;
        g.inits = std::move(inits);
        g.accept_step = step;
        if (is_bsp(to)) {
            g.state = InitGroup::State::Started;
            g.expected_pc = cat_.reset_pc();
            g.start_step = step;
        }
        t.groups.push_back(std::move(g));
    }

    void on_init_sent(const Event& e) {
        const int to = static_cast<int>(e.aux);
        if (!in_.init_fate_events) return accept(to, {{e.vcpu, e.step}}, e.step);
        target(to).pending.push_back({e.vcpu, e.step});
    }

    void on_init_accepted(const Event& e) {
        auto inits = std::move(target(e.vcpu).pending);
        target(e.vcpu).pending.clear();
        accept(e.vcpu, std::move(inits), e.step);
    }

    void on_init_cleared(const Event& e) {
        auto& t = target(e.vcpu);
        lose(e.vcpu, t.pending, e.step,
             "was cleared before vcpu" + std::to_string(e.vcpu) + " accepted it: KVM_SET_VCPU_EVENTS with smi.latched_init = 0 at step " +
                 std::to_string(e.step));
        t.pending.clear();
    }

    void start(InitGroup& g, const SipiRec& sipi, std::uint32_t step) {
        g.state = InitGroup::State::Started;
        g.expected_pc = sipi.vector << 12;
        g.sipi_step = sipi.step;
        g.start_step = step;
    }

    void on_sipi_sent(const Event& e) {
        const int to = static_cast<int>(e.aux);
        auto& t = target(to);
        t.last_sipi = SipiRec{e.vcpu, e.step, e.value};
        if (in_.init_fate_events) return;
        if (auto* w = find(t, InitGroup::State::Waiting)) start(*w, *t.last_sipi, e.step);
        else if (auto* st = find(t, InitGroup::State::Started)) st->also_pcs.push_back(e.value << 12);
    }

    void on_sipi_accepted(const Event& e) {
        auto& t = target(e.vcpu);
        auto* w = find(t, InitGroup::State::Waiting);
        if (!w) return;
        // The vector of the latest SIPI sent: what the kernel must deliver,
        // unless userspace replaced it (a stale VALID_SIPI_VECTOR put).
        start(*w, t.last_sipi ? *t.last_sipi : SipiRec{-1, e.step, e.value}, e.step);
    }

    static bool waits_for_sipi(std::uint64_t mp) { return mp == KVM_MP_STATE_INIT_RECEIVED || mp == KVM_MP_STATE_SIPI_RECEIVED; }

    // A write of mp_state, CS or RIP of a vCPU with an INIT in progress.
    // `stale`: a userspace write that no intent asked for.
    void on_init_state_write(const Event& e, bool stale) {
        if (e.vcpu < 0 || static_cast<std::size_t>(e.vcpu) >= targets_.size()) return;
        auto& t = target(e.vcpu);
        if (e.reg == cat_.mp_state) {
            auto* w = find(t, InitGroup::State::Waiting);
            if (!w || !waits_for_sipi(e.old) || waits_for_sipi(e.value)) return;
            char buf[200];
            if (e.writer == Writer::Halt) {
                std::snprintf(buf, sizeof buf, "was overwritten by HLT's store of mp_state %" PRIu64 " over %" PRIu64 " at step %u (the pre-3.10 kvm_emulate_halt race)",
                              e.value, e.old, e.step);
                lose(e.vcpu, *w, e.step, buf);
            } else if (e.writer == Writer::Userspace && stale) {
                std::snprintf(buf, sizeof buf, "was accepted at step %u, then undone by a stale userspace write of mp_state (%" PRIu64 " -> %" PRIu64 ") at step %u",
                              w->accept_step, e.old, e.value, e.step);
                lose(e.vcpu, *w, e.step, buf);
            } else if (e.writer == Writer::Userspace) {
                w->state = InitGroup::State::Done;  // the VMM meant to change it (monitor write)
            }
            return;
        }
        if (e.writer == Writer::Userspace && stale && (e.reg == cat_.pc || e.reg == cat_.cs_base))
            for (auto& g : t.groups)
                if (g.state == InitGroup::State::Started || g.state == InitGroup::State::Waiting) g.undo_step = e.step;
    }

    std::string started_where(const InitGroup& g, int v) const {
        char buf[200];
        if (g.start_request)
            std::snprintf(buf, sizeof buf, "succeeded at step %u and should have started it at 0x%" PRIx64, g.accept_step, g.expected_pc);
        else if (is_bsp(v))
            std::snprintf(buf, sizeof buf, "was accepted at step %u and should have restarted it at the reset vector 0x%" PRIx64, g.accept_step,
                          g.expected_pc);
        else
            std::snprintf(buf, sizeof buf, "and SIPI (step %u) started it at 0x%" PRIx64 " at step %u", g.sipi_step, g.expected_pc, g.start_step);
        std::string s = buf;
        if (g.undo_step) s += std::string(", but userspace put ") + (cat_.cs_base >= 0 ? "CS:RIP" : "pc") + " back at step " + std::to_string(g.undo_step);
        return s;
    }

    // The first guest step of a vCPU whose INIT started it somewhere.
    void on_guest_pc(const Event& e, std::uint64_t pc_before) {
        auto* g = find(target(e.vcpu), InitGroup::State::Started);
        if (!g) return;
        char buf[96];
        std::snprintf(buf, sizeof buf, "; it ran at 0x%" PRIx64 " instead (step %u)", pc_before, e.step);
        lose(e.vcpu, *g, e.step, started_where(*g, e.vcpu) + buf);
    }

    void on_guest_entry(const Event& e) {
        auto* g = find(target(e.vcpu), InitGroup::State::Started);
        if (!g) return;
        if (e.value == g->expected_pc || std::find(g->also_pcs.begin(), g->also_pcs.end(), e.value) != g->also_pcs.end()) {
            g->state = InitGroup::State::Done;
            return;
        }
        char buf[96];
        std::snprintf(buf, sizeof buf, "; it entered 0x%" PRIx64 " instead (step %u)", e.value, e.step);
        lose(e.vcpu, *g, e.step, started_where(*g, e.vcpu) + buf);
    }

    // A start request took effect in the kernel (the target is RUNNABLE with
    // a reset pending): the target must first run at the entry it names.
    void on_start_requested(const Event& e) {
        const int to = static_cast<int>(e.aux);
        auto& t = target(to);
        for (auto& g : t.groups)
            if (g.state == InitGroup::State::Started) g.state = InitGroup::State::Done;
        InitGroup g;
        g.inits = {{e.vcpu, e.step}};
        g.accept_step = e.step;
        g.state = InitGroup::State::Started;
        g.expected_pc = e.value;
        g.start_step = e.step;
        g.start_request = true;
        t.groups.push_back(std::move(g));
        t.start_pending = InitRec{e.vcpu, e.step};
        t.start_pc = e.value;
    }

    // A system reset or loadvm re-initialises every vCPU by design.
    void cancel_inits() {
        for (auto& t : targets_) {
            t.pending.clear();
            t.start_pending.reset();
            for (auto& g : t.groups)
                if (g.state == InitGroup::State::Waiting || g.state == InitGroup::State::Started) g.state = InitGroup::State::Done;
        }
    }

    void finish_inits(std::uint32_t last_step) {
        for (std::size_t v = 0; v < targets_.size(); ++v) {
            auto& t = targets_[v];
            const int vi = static_cast<int>(v);
            lose(vi, t.pending, last_step, "was never accepted by vcpu" + std::to_string(v));
            for (auto& g : t.groups) {
                if (g.state == InitGroup::State::Started) {
                    lose(vi, g, last_step, started_where(g, vi) + "; it never ran there");
                } else if (g.state == InitGroup::State::Waiting) {
                    const auto mp = vcpus_[v].regs[static_cast<std::size_t>(cat_.mp_state)].value;
                    if (t.last_sipi && t.last_sipi->step > g.inits.front().step)
                        lose(vi, g, last_step, "was accepted at step " + std::to_string(g.accept_step) + " but the SIPI from vcpu" +
                                                   std::to_string(t.last_sipi->from) + " (step " + std::to_string(t.last_sipi->step) + ") never started it");
                    else if (mp != KVM_MP_STATE_INIT_RECEIVED)  // otherwise waiting for SIPI, as it should
                        lose(vi, g, last_step, "was accepted at step " + std::to_string(g.accept_step) + " but vcpu" + std::to_string(v) +
                                                   " is not waiting for SIPI (mp_state " + std::to_string(mp) + ")");
                }
            }
        }
    }

    void on_snapshot_saved(const Event& e) {
        const auto& d = cat_[e.reg];
        if (d.time_varying) return;
        const auto& s = reg(e.vcpu, e.reg);
        if (const auto& t = target(e.vcpu); t.start_pending && e.reg == cat_.start_payload.pc && t.start_pc != e.value) {
            char buf[256];
            std::snprintf(buf, sizeof buf,
                          "savevm captured vcpu%d pc = 0x%" PRIx64 " while the reset of the %s from vcpu%d (step %u) to 0x%" PRIx64
                          " was still pending in the kernel (step %u): the snapshot loses it",
                          e.vcpu, e.value, start_name().c_str(), t.start_pending->from, t.start_pending->step, t.start_pc, e.step);
            report(Property::SnapshotFidelity, e.vcpu, e.reg, d.mask(), t.start_pending->step, e.step, buf);
            return;
        }
        // Bits the kernel changes on its own may move after the sync; all
        // vCPUs are stopped, so nothing else may differ. A write userspace
        // intends but has not yet put (it goes in before the next KVM_RUN)
        // is what the snapshot must hold.
        const std::uint64_t cmp = d.snapshot_mask();
        const std::uint64_t expect = (s.intent.active && !s.intent.satisfied) ? s.intent.value : s.value;
        if (((expect ^ e.value) & cmp) == 0) return;
        char buf[256];
        std::snprintf(buf, sizeof buf, "savevm captured vcpu%d %s = 0x%" PRIx64 " but the kernel held 0x%" PRIx64 " (step %u)",
                      e.vcpu, name(e.reg).c_str(), e.value, expect, e.step);
        report(Property::SnapshotFidelity, e.vcpu, e.reg, (expect ^ e.value) & cmp, e.step, e.step, buf);
    }

    void on_snapshot_loaded(const Event& e) {
        cancel_inits();
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
                                               : (((s.value ^ s.intent.value) & d.snapshot_mask()) == 0);
                if (ok) continue;
                char buf[256];
                std::snprintf(buf, sizeof buf,
                              "loadvm at step %u: vcpu%zu %s should be 0x%" PRIx64 " when the first vCPU runs (step %u); %s",
                              load_step_, v, name(static_cast<int>(r)).c_str(), s.intent.value, step, kernel_holds(s, d).c_str());
                report(Property::SnapshotFidelity, static_cast<int>(v), static_cast<int>(r), d.mask(), load_step_, step, buf);
            }
    }

    void finish(std::uint32_t last_step) {
        for (std::size_t v = 0; v < vcpus_.size(); ++v)
            for (std::size_t r = 0; r < cat_.size(); ++r) {
                auto& s = vcpus_[v].regs[r];
                if (!s.intent.live || s.intent.satisfied || intent_holds(s, cat_.regs[r])) continue;
                char buf[256];
                std::snprintf(buf, sizeof buf, "vcpu%zu %s write of %s = 0x%" PRIx64 " (step %u) never reached the kernel (%s)",
                              v, sim::to_string(s.intent.cause), name(static_cast<int>(r)).c_str(), s.intent.value, s.intent.step,
                              kernel_holds(s, cat_.regs[r]).c_str());
                report(Property::LostUserspaceWrite, static_cast<int>(v), static_cast<int>(r), s.intent.mask, s.intent.step, last_step, buf);
            }
        finish_inits(last_step);
    }

    const OracleInput& in_;
    const model::Catalogue& cat_;
    std::vector<VcpuShadow> vcpus_;
    std::vector<InitTarget> targets_;
    std::optional<TscRead> max_tsc_read_;
    std::uint32_t last_tsc_rewind_step_ = 0;
    int last_tsc_rewind_vcpu_ = -1;
    bool loading_ = false;
    std::uint32_t load_step_ = 0;
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

#include "explore/explain.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "fakekvm/arch_vcpu.h"
#include "harness/event_format.h"
#include "harness/input_error.h"
#include "harness/kernel_profile.h"
#include "model/ioctl_fields.h"
#include "sched/decision_source.h"
#include "sim/footprint.h"

namespace regsync::explore {

namespace {

using K = sim::EventKind;
using properties::Property;

constexpr std::size_t kMaxShown = 2;      // explanations
constexpr std::size_t kMaxSteps = 9;      // steps per explanation
constexpr std::size_t kMaxLines = 25;

// What a hook stands for in QEMU.
std::string qemu_function(const std::string& hook) {
    if (hook == "synchronize_state") return "cpu_synchronize_state -> do_kvm_cpu_synchronize_state -> kvm_arch_get_registers";
    if (hook == "pre_run") return "kvm_cpu_exec -> kvm_arch_put_registers(KVM_PUT_RUNTIME_STATE)";
    if (hook == "post_reset") return "cpu_synchronize_all_post_reset -> kvm_arch_put_registers(KVM_PUT_RESET_STATE)";
    if (hook == "post_init") return "cpu_synchronize_all_post_init -> kvm_arch_put_registers(KVM_PUT_FULL_STATE)";
    if (hook == "process_async_events") return "kvm_arch_process_async_events -> do_cpu_init";
    if (hook == "kvm_get_tsc") return "kvmclock_vm_state_change -> kvm_get_tsc";
    if (hook == "handle_hypercall") return "the hypercall exit: a partial get, the answer written through the cache";
    if (hook == "vm_state_change") return "the VM state change notifiers (cpu_update_state)";
    if (hook == "reset_handlers") return "qemu_system_reset: device reset handlers";
    if (hook == "pre_loadvm") return "cpu_synchronize_pre_loadvm";
    if (hook == "post_run") return "kvm_cpu_exec after KVM_RUN";
    if (hook == "read_reg (monitor)") return "the monitor reads the register cache";
    if (hook == "write_reg (monitor)") return "the monitor writes the register cache";
    return hook;
}

std::string kernel_function(model::Arch a, sim::Writer w) {
    if (const auto own = fakekvm::arch_writer_function(a, w); !own.empty()) return "kernel: " + std::string(own);
    switch (w) {
        case sim::Writer::Guest: return "kernel: a guest instruction inside KVM_RUN";
        case sim::Writer::Timer: return "kernel: the Book-E timer (kvmppc_decrementer_func / watchdog)";
        case sim::Writer::Init: return "kernel: kvm_apic_accept_events (INIT/SIPI)";
        case sim::Writer::Halt: return "kernel: HLT emulation (mp_state HALTED)";
        default: return "";
    }
}

using harness::hex_value;

struct Ctx {
    const model::Catalogue& cat;
    model::Arch arch;
    const harness::ExecutionResult& r;
    const std::vector<model::RegisterValues>& initial;

    std::string actor(const sim::Event& e) const { return e.actor < r.actors.size() ? r.actors[e.actor] : "-"; }
    std::string reg(int i) const { return i >= 0 && static_cast<std::size_t>(i) < cat.size() ? std::string(cat[static_cast<model::RegIndex>(i)].name) : "-"; }

    // The kernel's value of (v, reg) as step `at` began.
    std::uint64_t kernel_value(int v, int reg_i, std::uint32_t at) const {
        std::uint64_t x = initial[static_cast<std::size_t>(v)][static_cast<std::size_t>(reg_i)];
        for (const auto& e : r.events) {
            if (e.step >= at) break;
            if (e.kind == K::KernelWrite && e.vcpu == v && e.reg == reg_i) x = e.value;
        }
        return x;
    }
    // What a get read: the kernel's value then; a register that advances
    // with virtual time (IA32_TSC) has no value in the event log.
    std::string value_read(int v, int reg_i, std::uint32_t step) const {
        if (cat[static_cast<model::RegIndex>(reg_i)].time_varying) return reg(reg_i) + " copied (it advances with the clock)";
        return reg(reg_i) + " = " + hex_value(kernel_value(v, reg_i, step));
    }
    // Whether the step read (v, reg) in the kernel, by its footprint.
    bool reads(std::uint32_t step, int v, int reg_i) const {
        if (step == 0 || step > r.steps.size()) return false;
        const auto obj = sim::Obj::vcpu(v, static_cast<std::uint32_t>(reg_i));
        for (const auto& a : r.steps[step - 1].accesses)
            if (a.obj == obj && !a.write) return true;
        return false;
    }
    // The innermost hook that was running when the event was emitted.
    const sim::HookSpan* hook_of(const sim::Event& e) const {
        const auto i = static_cast<std::uint32_t>(&e - r.events.data());
        const sim::HookSpan* best = nullptr;
        for (const auto& h : r.hooks)
            if (h.first_event <= i && i < h.end_event && (!best || h.first_event >= best->first_event)) best = &h;
        return best;
    }
    std::string where(const sim::Event& e) const {
        const sim::HookSpan* h = hook_of(e);
        const std::string during = h ? std::string(" (during ") + h->hook + ")" : "";
        if (e.kind == K::KernelWrite && e.writer != sim::Writer::Userspace) return kernel_function(arch, e.writer) + during;
        if (e.kind == K::StartServiced) return kernel_function(arch, sim::Writer::Init) + during;
        if (sim::is_init_fate(e.kind))
            return "kernel: the LAPIC's INIT/SIPI (kvm_apic_accept_events, kvm_vcpu_ioctl_x86_set_vcpu_events)" + during;
        if (h) return std::string(h->hook) + ": " + qemu_function(h->hook);
        if (e.kind == K::GuestEntry || e.kind == K::InitSent || e.kind == K::SipiSent || e.kind == K::GuestTscRead || e.kind == K::GuestIo)
            return "guest";
        if (e.kind == K::Intent) return "the machine (monitor, reset, loadvm) writes the register cache";
        return "";
    }
    // The event's own line, without "step N actor: ".
    std::string what(const sim::Event& e) const {
        const std::string line = harness::format_event(arch, r.actors, e);
        const auto colon = line.find(": ");
        return colon == std::string::npos ? line : line.substr(colon + 2);
    }
    ExplainStep step_of(const sim::Event& e, std::string what_text, std::string role) const {
        return {e.step, actor(e), std::move(what_text), where(e), std::move(role)};
    }
    const sim::Event* find(std::uint32_t step, K kind, int v, int reg_i = -2) const {
        for (const auto& e : r.events)
            if (e.step == step && e.kind == kind && (v < 0 || e.vcpu == v) && (reg_i == -2 || e.reg == reg_i)) return &e;
        return nullptr;
    }
    // The ioctl of a step on vcpu v, with the changes it made to `regs`.
    ExplainStep put_at(std::uint32_t step, int v, const std::vector<int>& regs, const std::string& role) const {
        const sim::Event* io = find(step, K::Ioctl, v);
        std::string w = io ? what(*io) : "step " + std::to_string(step);
        std::string changes;
        for (const auto& e : r.events)
            if (e.step == step && e.kind == K::KernelWrite && e.vcpu == v && e.writer == sim::Writer::Userspace &&
                std::find(regs.begin(), regs.end(), e.reg) != regs.end())
                changes += (changes.empty() ? ": " : ", ") + reg(e.reg) + " " + hex_value(e.old) + " -> " + hex_value(e.value);
        if (!io) return {step, "-", w + changes, "", role};  // no ioctl to name the actor and hook by
        return step_of(*io, w + changes, role);
    }
    // The last get before `before` that copied (v, reg) from the kernel.
    const sim::Event* stale_get(int v, int reg_i, std::uint32_t before) const {
        const sim::Event* got = nullptr;
        for (const auto& e : r.events) {
            if (e.step >= before) break;
            if (e.kind == K::Ioctl && e.vcpu == v && (model::is_state_get(e.aux) || e.aux == KVM_GET_ONE_REG) && reads(e.step, v, reg_i)) got = &e;
        }
        return got;
    }
};

void lost_kernel_write(const Ctx& c, const properties::Violation& v, Explanation& x) {
    if (const auto* g = c.stale_get(v.vcpu, v.reg, v.origin))
        x.steps.push_back(c.step_of(*g, c.what(*g) + ": " + c.value_read(v.vcpu, v.reg, g->step), "the copy into the VMM's cache, about to go stale"));
    if (const auto* w = c.find(v.origin, K::KernelWrite, v.vcpu, v.reg)) x.steps.push_back(c.step_of(*w, c.what(*w), "the kernel's own write"));
    x.steps.push_back(c.put_at(v.step, v.vcpu, {v.reg}, "the put of the stale copy over it"));
}

void lost_userspace_write(const Ctx& c, const properties::Violation& v, Explanation& x) {
    if (const auto* i = c.find(v.origin, K::Intent, v.vcpu, v.reg)) x.steps.push_back(c.step_of(*i, c.what(*i), "the intent"));
    if (const auto* w = c.find(v.step, K::KernelWrite, v.vcpu, v.reg))
        x.steps.push_back(c.step_of(*w, c.what(*w), "overwritten before it reached the kernel"));
    else if (const auto* e = c.find(v.step, K::VcpuEnter, v.vcpu))
        x.steps.push_back(c.step_of(*e, c.what(*e) + ": KVM_RUN entered with " + c.reg(v.reg) + " = " + hex_value(c.kernel_value(v.vcpu, v.reg, v.step + 1)) +
                                            " in the kernel", "the write never made it: no put carried it"));
    else
        x.steps.push_back({v.step, "-", "the execution ended with the write still only in the cache", "", "dropped"});
}

void tsc_jump_back(const Ctx& c, const properties::Violation& v, Explanation& x) {
    const int tsc = c.cat.tsc;
    if (const auto* g = c.stale_get(v.vcpu, tsc, v.origin))
        x.steps.push_back(c.step_of(*g, c.what(*g) + ": " + c.value_read(v.vcpu, tsc, g->step), "the TSC copied into the cache"));
    x.steps.push_back(c.put_at(v.origin, v.vcpu, {tsc}, "the cached TSC written back: time rewound"));
    const sim::Event* mine = c.find(v.step, K::GuestTscRead, v.vcpu);
    const sim::Event* other = nullptr;
    for (const auto& e : c.r.events) {
        if (e.step >= v.step) break;
        if (e.kind == K::GuestTscRead && e.vcpu != v.vcpu && mine && e.value > mine->value) other = &e;
    }
    if (other) x.steps.push_back(c.step_of(*other, c.what(*other), "an earlier read on another vCPU"));
    if (mine) x.steps.push_back(c.step_of(*mine, c.what(*mine), "the later read, behind it"));
}

void lost_init(const Ctx& c, const properties::Violation& v, Explanation& x) {
    const int t = v.vcpu;
    const sim::Event* sent = nullptr;
    for (const auto& e : c.r.events)
        if (e.step == v.origin && e.kind == K::InitSent && static_cast<int>(e.aux) == t) sent = &e;
    if (sent) x.steps.push_back(c.step_of(*sent, c.what(*sent), "the INIT"));
    std::uint32_t undone = v.step;  // the first step that cleared, overwrote or undid it
    std::uint32_t started = 0;
    for (const auto& e : c.r.events) {
        if (e.step <= v.origin || e.step > v.step || e.vcpu != t) continue;
        if (e.kind == K::SipiAccepted) started = e.step;
        const bool undo = e.kind == K::InitCleared || e.kind == K::VmmCpuInit || e.kind == K::SipiDropped ||
                          (e.kind == K::KernelWrite && e.writer == sim::Writer::Userspace && started && (e.reg == c.cat.pc || e.reg == c.cat.cs_base || e.reg == c.cat.mp_state));
        if (undo) {
            undone = e.step;
            break;
        }
    }
    // The last get of the vCPU events (smi.latched_init) before the undo:
    // after the INIT it copied the pending INIT, before it a stale "none".
    const sim::Event* cached = nullptr;
    for (const auto& e : c.r.events) {
        if (e.step >= undone) break;
        if (e.kind == K::Ioctl && e.vcpu == t && e.aux == KVM_GET_VCPU_EVENTS && (!started || e.step < started)) cached = &e;
    }
    if (cached && cached->step > v.origin)
        x.steps.push_back(c.step_of(*cached, c.what(*cached) + ": the INIT of step " + std::to_string(v.origin) + " still pending, smi.latched_init = 1",
                                    "the get that copied the pending INIT"));
    else if (cached)
        x.steps.push_back(c.step_of(*cached, c.what(*cached) + ": no INIT pending yet, smi.latched_init = 0", "the copy of the events, stale once the INIT arrives"));
    // The INIT's own store and HLT's store over it (kernels before 3.10).
    for (const auto& e : c.r.events)
        if (e.step >= v.origin && e.step <= v.step && e.vcpu == t && e.kind == K::KernelWrite && e.reg == c.cat.mp_state &&
            (e.writer == sim::Writer::Halt || (e.writer == sim::Writer::Init && e.step == v.origin)))
            x.steps.push_back(c.step_of(e, c.what(e), e.writer == sim::Writer::Halt ? "HLT's store over the INIT"
                                                            : c.cat.start_payload.pc >= 0 ? "the start request's store" : "the INIT's store"));
    for (const auto& e : c.r.events) {
        if (e.step <= v.origin || e.step > v.step || e.vcpu != t) continue;
        if (e.kind == K::SipiAccepted) x.steps.push_back(c.step_of(e, c.what(e) + ": the AP starts", "the kernel delivers INIT and SIPI"));
        if (e.kind == K::InitCleared || e.kind == K::InitLatched) {
            const sim::Event* io = c.find(e.step, K::Ioctl, t);
            const std::string w = (io ? c.what(*io) : c.what(e)) + (e.kind == K::InitCleared ? ": smi.latched_init = 0, the pending INIT cleared"
                                                                                              : ": smi.latched_init = 1, an INIT pending again");
            x.steps.push_back(c.step_of(io ? *io : e, w, e.kind == K::InitCleared ? "the put that erases the INIT" : "the put that re-posts an INIT"));
        }
        if (e.kind == K::VmmCpuInit) x.steps.push_back(c.step_of(e, c.what(e) + ": reset CS:RIP in the cache", "the VMM runs its own INIT on the copy"));
        if (e.kind == K::SipiDropped) x.steps.push_back(c.step_of(e, c.what(e), "the SIPI is dropped"));
    }
    // The puts that wrote CS:RIP or mp_state back after the AP started.
    std::vector<std::uint32_t> puts;
    for (const auto& e : c.r.events)
        if (started && e.step > started && e.step <= v.step && e.vcpu == t && e.kind == K::KernelWrite && e.writer == sim::Writer::Userspace &&
            (e.reg == c.cat.pc || e.reg == c.cat.cs_base || e.reg == c.cat.mp_state) && std::find(puts.begin(), puts.end(), e.step) == puts.end())
            puts.push_back(e.step);
    for (auto p : puts) x.steps.push_back(c.put_at(p, t, {c.cat.pc, c.cat.cs_base, c.cat.mp_state}, "the put that undoes the start"));
    const sim::Event* entry = nullptr;
    for (const auto& e : c.r.events)
        if (e.step <= v.step && e.vcpu == t && e.kind == K::GuestEntry && e.step > v.origin) entry = &e;
    if (entry) x.steps.push_back(c.step_of(*entry, c.what(*entry), "where the AP really starts"));
}

void snapshot_fidelity(const Ctx& c, const properties::Violation& v, Explanation& x) {
    if (v.step == v.origin) {
        // The capture itself was wrong: the cache missed a kernel write.
        const sim::Event* w = nullptr;
        for (const auto& e : c.r.events) {
            if (e.step >= v.origin) break;
            if (e.kind == K::KernelWrite && e.vcpu == v.vcpu && e.reg == v.reg) w = &e;
        }
        if (w) {
            if (const auto* g = c.stale_get(v.vcpu, v.reg, w->step))
                x.steps.push_back(c.step_of(*g, c.what(*g) + ": " + c.value_read(v.vcpu, v.reg, g->step), "the cache's copy"));
            x.steps.push_back(c.step_of(*w, c.what(*w), "the kernel's value since, which the cache missed"));
        }
    }
    const sim::Event* saved = nullptr;
    for (const auto& e : c.r.events)
        if (e.step <= v.origin && e.kind == K::SnapshotSaved && e.vcpu == v.vcpu && e.reg == v.reg) saved = &e;
    if (saved) x.steps.push_back(c.step_of(*saved, c.what(*saved), "the capture"));
    if (const auto* l = c.find(v.origin, K::SnapshotLoaded, -1)) x.steps.push_back(c.step_of(*l, c.what(*l), "the restore begins"));
    if (v.step != v.origin) {
        const sim::Event* e = c.find(v.step, K::VcpuEnter, -1);
        const std::string runs = "the first vCPU runs with " + c.reg(v.reg) + " = " + hex_value(c.kernel_value(v.vcpu, v.reg, v.step + 1)) + " in the kernel";
        ExplainStep st{v.step, "-", runs, "", "the restore did not reach the kernel"};
        if (e) {
            st.actor = c.actor(*e);
            st.what = c.what(*e);
            st.what += ": ";
            st.what += runs;
            st.where = c.where(*e);
        }
        x.steps.push_back(std::move(st));
    }
}

void dirty_entry(const Ctx& c, const properties::Violation& v, Explanation& x) {
    if (const auto* i = c.find(v.origin, K::Intent, v.vcpu, v.reg)) x.steps.push_back(c.step_of(*i, c.what(*i), "the intent"));
    if (const auto* e = c.find(v.step, K::VcpuEnter, v.vcpu))
        x.steps.push_back(c.step_of(*e, c.what(*e) + ": KVM_RUN entered with " + c.reg(v.reg) + " = " + hex_value(c.kernel_value(v.vcpu, v.reg, v.step + 1)) + " in the kernel",
                                    "the vCPU runs without it"));
}

void generic(const Ctx& c, const properties::Violation& v, Explanation& x) {
    for (const auto& e : c.r.events)
        if ((e.step == v.origin || e.step == v.step) && e.vcpu == v.vcpu && x.steps.size() < 4) x.steps.push_back(c.step_of(e, c.what(e), ""));
}

int priority(Property p) {
    switch (p) {
        case Property::LostInit: return 0;
        case Property::TscJumpBack: return 1;
        case Property::LostKernelWrite: return 2;
        case Property::LostUserspaceWrite: return 3;
        case Property::SnapshotFidelity: return 4;
        case Property::DirtyEntry: return 5;
        default: return 6;
    }
}

}  // namespace

harness::ExecutionResult rerun_with_footprints(const harness::Scenario& s, const std::string& policy, const std::string& kernel,
                                               const std::vector<sim::ActorId>& decisions, harness::Engine& engine) {
    sched::LenientReplayDecisions d(decisions);
    harness::ExecutionOptions opt;
    opt.record_footprints = true;
    return engine.run(s, policy, harness::resolve_kernel(kernel).config, d, opt);
}

ExplainReport explain(const harness::Scenario& s, const std::string& policy, const std::string& kernel,
                      const std::vector<sim::ActorId>& decisions, harness::Engine& engine) {
    return explain_result(s, policy, kernel, rerun_with_footprints(s, policy, kernel, decisions, engine));
}

ExplainReport explain_result(const harness::Scenario& s, const std::string& policy, const std::string& kernel, const harness::ExecutionResult& r) {
    ExplainReport rep{s.name, policy, kernel, harness::outcome_string(r), {}, 0};
    const auto initial = s.initial_registers();
    const Ctx c{model::catalogue(s.arch), s.arch, r, initial};
    std::vector<const properties::Violation*> firsts;
    for (const auto& v : r.verdict.violations)
        if (std::none_of(firsts.begin(), firsts.end(), [&](const auto* f) { return f->property == v.property; })) firsts.push_back(&v);
    std::stable_sort(firsts.begin(), firsts.end(), [](const auto* a, const auto* b) { return priority(a->property) < priority(b->property); });
    for (const auto* v : firsts) {
        if (rep.shown.size() == kMaxShown) break;
        Explanation x{std::string(properties::to_string(v->property)), v->vcpu, v->reg, v->message, {}};
        switch (v->property) {
            case Property::LostKernelWrite: lost_kernel_write(c, *v, x); break;
            case Property::LostUserspaceWrite: lost_userspace_write(c, *v, x); break;
            case Property::TscJumpBack: tsc_jump_back(c, *v, x); break;
            case Property::LostInit: lost_init(c, *v, x); break;
            case Property::SnapshotFidelity: snapshot_fidelity(c, *v, x); break;
            case Property::DirtyEntry: dirty_entry(c, *v, x); break;
            default: generic(c, *v, x); break;
        }
        std::stable_sort(x.steps.begin(), x.steps.end(), [](const auto& a, const auto& b) { return a.step < b.step; });
        if (x.steps.size() > kMaxSteps) x.steps.resize(kMaxSteps);
        rep.shown.push_back(std::move(x));
    }
    rep.more = r.verdict.violations.size() - rep.shown.size();
    return rep;
}

ExplainReport explain_trace(const harness::Trace& t, const std::string& scenario_dir, harness::Engine& engine) {
    const auto s = harness::load_scenario(t.scenario_source, scenario_dir);
    if (s.content_hash != t.scenario_hash)
        throw harness::InputError(s.file + ": scenario '" + t.scenario_name + "' has changed since the trace was recorded");
    return explain(s, t.policy, t.kernel, std::vector<sim::ActorId>(t.decisions.begin(), t.decisions.end()), engine);
}

std::string explain_text(const ExplainReport& r) {
    std::vector<std::string> lines;
    lines.push_back("explain: scenario " + r.scenario + ", policy " + r.policy + ", kernel " + r.kernel + ", outcome " + r.outcome);
    if (r.shown.empty()) lines.push_back(r.outcome == "quiescent" ? "  no property was violated" : "  no property was violated; the execution ended " + r.outcome);
    for (const auto& x : r.shown) {
        lines.push_back(x.property + ": " + x.message);
        for (const auto& s : x.steps) {
            char head[96];
            std::snprintf(head, sizeof head, "  step %-4u %-14s ", s.step, s.actor.c_str());
            std::string l = head + s.what;
            if (!s.role.empty()) l += "  -- " + s.role;
            if (!s.where.empty()) l += "  [" + s.where + "]";
            lines.push_back(l);
        }
    }
    if (r.more > 0) {
        std::string more = "(";
        more += std::to_string(r.more);
        more += " more violations; the full event log: regsync replay --events)";
        lines.push_back(std::move(more));
    }
    if (lines.size() > kMaxLines) lines.resize(kMaxLines);
    std::string out;
    for (const auto& l : lines) {
        out += l;
        out += '\n';
    }
    return out;
}

std::string explain_json(const ExplainReport& r) {
    nlohmann::ordered_json j;
    j["scenario"] = r.scenario;
    j["policy"] = r.policy;
    j["kernel"] = r.kernel;
    j["outcome"] = r.outcome;
    auto& xs = j["explanations"] = nlohmann::ordered_json::array();
    for (const auto& x : r.shown) {
        nlohmann::ordered_json e;
        e["property"] = x.property;
        e["message"] = x.message;
        auto& st = e["steps"] = nlohmann::ordered_json::array();
        for (const auto& s : x.steps) st.push_back({{"step", s.step}, {"actor", s.actor}, {"what", s.what}, {"where", s.where}, {"role", s.role}});
        xs.push_back(e);
    }
    j["more_violations"] = r.more;
    return j.dump(1) + "\n";
}

}  // namespace regsync::explore

#include "realkvm/kvm_replay.h"


#include <cstdio>
#include <stdexcept>

#include "fakekvm/fake_vm.h"
#include "fakekvm/kernel_config.h"
#include "harness/event_format.h"
#include "harness/execution.h"
#include "harness/input_error.h"
#include "harness/kernel_profile.h"
#include "properties/oracle.h"
#include "realkvm/kvm_device.h"
#include "realkvm/lockstep_vm.h"
#include "realkvm/x86_real_mode.h"
#include "sched/decision_source.h"

namespace regsync::realkvm {

namespace {

using properties::Property;

using harness::hex_value;

// The fake's event log with what the fake kernel did replaced by what the
// real kernel showed, and the values the VMM means (intents) or captured
// (savevm) put in the real kernel's terms. Scratch registers are left out:
// the real guest code changes them where the fake's guest does not.
std::vector<sim::Event> real_event_log(const model::Catalogue& cat, const std::vector<sim::Event>& fake, const LockstepResult& r) {
    std::vector<sim::Event> out;
    std::size_t k = 0;
    const auto translate = [&](std::size_t pos, const sim::Event& e) {
        for (auto p = r.pairs.rbegin(); p != r.pairs.rend(); ++p)
            if (p->position <= pos && p->vcpu == e.vcpu && p->reg == e.reg && p->fake == e.value) return p->real;
        return e.value;
    };
    const auto judged = [&](const sim::Event& e) { return e.reg < 0 || !is_scratch(cat, e.reg); };
    for (std::size_t i = 0; i <= fake.size(); ++i) {
        for (; k < r.real_events.size() && r.real_events[k].first <= i; ++k)
            if (judged(r.real_events[k].second)) out.push_back(r.real_events[k].second);
        if (i == fake.size()) break;
        sim::Event e = fake[i];
        if (e.kind == sim::EventKind::KernelWrite || e.kind == sim::EventKind::GuestTscRead || e.kind == sim::EventKind::GuestEntry) continue;
        if (sim::is_init_fate(e.kind)) continue;  // what the fake kernel did with INIT/SIPI
        if (!judged(e)) continue;
        if (e.kind == sim::EventKind::Intent || e.kind == sim::EventKind::SnapshotSaved) e.value = translate(i, e);
        out.push_back(e);
    }
    return out;
}

// The guest's TSC going back on real vCPUs. Real reads have no global order
// but happens-before: a read in a KVM_RUN that ended before another KVM_RUN
// began came first. Reads across an intended TSC write (machine init,
// loadvm, reset) are not compared.
std::vector<std::string> real_tsc_jump_backs(const std::vector<RealTscRead>& reads, const std::vector<sim::Event>& fake,
                                            const model::Catalogue& cat) {
    std::vector<std::size_t> moves;
    for (std::size_t i = 0; i < fake.size(); ++i)
        if (fake[i].kind == sim::EventKind::Intent && fake[i].reg == cat.tsc) moves.push_back(i);
    std::vector<std::string> out;
    for (std::size_t a = 0; a < reads.size(); ++a)
        for (std::size_t b = 0; b < reads.size(); ++b) {
            const auto& x = reads[a];
            const auto& y = reads[b];
            const bool before = x.to <= y.from || (a < b && x.vcpu == y.vcpu && x.from == y.from);
            if (!before || y.value >= x.value) continue;
            bool moved = false;
            for (auto m : moves) moved = moved || (m >= x.from && m < y.to);
            if (moved) continue;
            out.push_back("vcpu" + std::to_string(y.vcpu) + " read TSC " + hex_value(y.value) + ", " + std::to_string(x.value - y.value) +
                          " cycles behind vcpu" + std::to_string(x.vcpu) + "'s read " + hex_value(x.value) + " that happened before it");
            if (out.size() >= 5) return out;
        }
    return out;
}

std::string observation_line(const Observation& o, const std::vector<std::string>& actors, const model::Catalogue& cat, std::size_t& unexplained) {
    char head[96];
    std::snprintf(head, sizeof head, "  step %4u  %-13s vcpu%d  %-20s", o.step,
                  o.actor < actors.size() ? actors[o.actor].c_str() : "?", o.vcpu, o.what.c_str());
    std::string line = head;
    if (!o.fake_exit.empty()) {
        const bool same = o.fake_exit == o.real_exit;
        line += "fake " + o.fake_exit + " | real " + o.real_exit + (same ? "" : "  !!");
        return line;
    }
    std::size_t agree = 0;
    std::string diff;
    for (const auto& c : o.regs) {
        if (c.why.empty()) {
            ++agree;
            continue;
        }
        diff += "; " + std::string(cat[c.reg].name) + " " + hex_value(c.fake) + " | " + hex_value(c.real) + " (" + c.why + ")";
        if (c.why == "DIFFERS") ++unexplained;
    }
    return line + std::to_string(agree) + " agree" + diff + (o.progress.empty() ? "" : "  [" + o.progress + "]");
}

}  // namespace

KvmReplayReport kvm_replay(const harness::Trace& t, const std::string& trace_file, const std::string& scenario_dir,
                           std::chrono::microseconds tick) {
    const auto s = harness::load_scenario(t.scenario_source, scenario_dir);
    if (s.content_hash != t.scenario_hash)
        throw harness::InputError(s.file + ": scenario '" + t.scenario_name + "' has changed since the trace was recorded");
    const auto profile = harness::find_kernel(t.kernel);
    if (!profile) throw harness::InputError(trace_file + ": unknown kernel variant or profile '" + t.kernel + "'");
    const auto kernel = std::optional<fakekvm::KernelConfig>(profile->config);
    if (s.arch != model::Arch::X86) throw harness::InputError(trace_file + ": only x86 traces replay on real vCPUs (this one is PowerPC)");
    if (t.policy == "sync-regs")
        throw harness::InputError(trace_file + ": policy sync-regs passes registers through kvm_run (KVM_CAP_SYNC_REGS), which kvm-replay does not mirror");

    // Guest code that no real vCPU can run is the scenario's limit, not a
    // missing /dev/kvm.
    for (const auto& v : s.vcpus)
        for (const auto& p : v.image) try {
                int slot = 0;
                encode_real_mode(p.steps, slot);
            } catch (const std::invalid_argument& e) {
                throw harness::InputError(s.file + ": " + e.what() + ": this scenario cannot run on a real vCPU");
            }

    KvmReplayReport rep;
    std::string why;
    auto lock = LockstepVm::create(s, why);
    if (!lock) {
        rep.unavailable = why;
        return rep;
    }
    lock->set_tick(tick);
    harness::Engine engine;
    sched::ReplayDecisions d(std::vector<sim::ActorId>(t.decisions.begin(), t.decisions.end()));
    harness::ExecutionOptions opt;
    opt.backend = [&](fakekvm::FakeVm& f) -> model::KvmVm& { return lock->attach(f); };
    harness::ExecutionResult run;
    std::string fatal;
    try {
        run = engine.run(s, t.policy, *kernel, d, opt);
    } catch (const std::runtime_error& e) {
        fatal = e.what();
    }
    const auto real = lock->finish(run.events.size(), run.step_count);
    const auto& cat = model::catalogue(s.arch);

    std::string& out = rep.text;
    out += "regsync kvm-replay " + trace_file + ": scenario " + t.scenario_name + ", policy " + t.policy + "\n";
    out += "the fake ran as kernel variant " + t.kernel + "; the real kernel is Linux " + kernel_release() + "\n";
    if (!fatal.empty()) {
        out += "the real run could not go on: " + fatal + "\n";
        rep.violated = true;
        return rep;
    }
    const bool diverged = d.diverged() || !d.exhausted();
    out += "simulated: " + std::string(diverged ? "DIVERGED from the trace" : "replayed the trace's " + std::to_string(t.decisions.size()) + " decisions") +
           ", " + (run.verdict.ok() ? std::string("no violation") : std::to_string(run.verdict.violations.size()) + " violation(s)") + "\n";
    for (const auto& v : run.verdict.violations) {
        out += "  " + std::string(properties::to_string(v.property)) + ": " + v.message + "\n";
        rep.simulated.emplace_back(properties::to_string(v.property));
    }

    out += "\nper step that observed state: fake | real (time: the TSC's epoch; layout: where the real code is; scratch: registers the\n"
           "real code's port writes and RDTSC use; DIFFERS: a difference the model does not explain)\n";
    std::size_t unexplained = 0, mismatched_exits = 0;
    for (const auto& o : real.observations) {
        const std::size_t before = unexplained;
        const std::string line = observation_line(o, run.actors, cat, unexplained);
        out += line + "\n";
        const bool exit_differs = !o.fake_exit.empty() && o.fake_exit != o.real_exit;
        if (exit_differs) ++mismatched_exits;
        KvmReplayReport::Row row;
        row.step = o.step;
        row.actor = o.actor < run.actors.size() ? run.actors[o.actor] : "?";
        row.what = o.what + " vcpu" + std::to_string(o.vcpu);
        const auto at = line.find(o.what);
        row.detail = at == std::string::npos ? line : line.substr(std::min(line.size(), at + 20));
        row.differs = exit_differs || unexplained > before;
        rep.rows.push_back(std::move(row));
    }
    out += "guest RDTSC on the real vCPUs:";
    for (const auto& r : real.tsc_reads) out += " vcpu" + std::to_string(r.vcpu) + "=" + hex_value(r.value);
    out += real.tsc_reads.empty() ? " none\n" : "\n";
    for (const auto& n : real.notes) out += "note: " + n + "\n";
    rep.notes = real.notes;
    rep.unexplained = unexplained;
    rep.exits_differ = mismatched_exits;
    char b[160];
    std::snprintf(b, sizeof b, "%zu observations; %zu register differences the model does not explain; %zu exits differ\n", real.observations.size(),
                  unexplained, mismatched_exits);
    out += b;

    // The oracle on the real kernel's observations (TSC reads judged by
    // happens-before instead of log order).
    const auto log = real_event_log(cat, run.events, real);
    properties::OracleInput in{&cat, real.real_initial, s.bsp_flags(), s.properties & ~properties::bit(Property::TscJumpBack)};
    in.init_fate_events = false;  // the fake's INIT fates are not the real kernel's
    auto verdict = properties::check(in, log);
    std::vector<std::string> lines;
    for (const auto& v : verdict.violations) {
        lines.push_back(std::string(properties::to_string(v.property)) + ": " + v.message);
        rep.real.emplace_back(properties::to_string(v.property));
    }
    if (s.properties & properties::bit(Property::TscJumpBack))
        for (const auto& m : real_tsc_jump_backs(real.tsc_reads, run.events, cat)) {
            lines.push_back("tsc-jump-back: " + m);
            rep.real.emplace_back("tsc-jump-back");
        }
    out += "\nverdict on the real kernel's observations (not judged: rax, rcx, rdx, the real code's scratch registers): " +
           std::string(lines.empty() ? "every property held\n" : "VIOLATION\n");
    for (const auto& l : lines) out += "  " + l + "\n";
    rep.real_verdict = lines;
    for (const auto& v : run.verdict.violations)
        if (v.reg >= 0 && is_scratch(cat, static_cast<model::RegIndex>(v.reg))) {
            out += "  (the simulated " + std::string(properties::to_string(v.property)) + " on " + std::string(cat[static_cast<model::RegIndex>(v.reg)].name) +
                   " is about a scratch register: not judged here)\n";
            break;
        }
    rep.violated = !lines.empty();

    // Races inside the kernel cannot be forced from userspace.
    if (t.kernel == "init-mp-state") {
        bool real_lost = false;
        for (const auto& v : verdict.violations) real_lost = real_lost || v.property == Property::LostInit;
        out += "\nINIT lost to HLT (Linux < 3.10) is a race inside the kernel: the sender's store of mp_state against the target's\n"
               "HLT emulation. Userspace cannot order those steps on a real kernel, so this replay cannot force it. ";
        out += real_lost ? "The real kernel lost the INIT here.\n"
                         : "Here the real kernel acted on every INIT, as the fixed variant init-apic-events does.\n";
    }
    bool tsc = false;
    for (const auto& v : run.verdict.violations) tsc = tsc || v.property == Property::TscJumpBack;
    if (tsc && !rep.violated)
        out += "\nThe simulated TSC jump-back did not show on the real kernel. A note above says where the kernel kept its TSC: kvm_pvm\n"
               "ignores host IA32_TSC writes (kernel variant pvm-no-tsc-offset), and KVM takes a write within about a second of the\n"
               "value it expects as a request to keep the vCPUs in sync (kvm_synchronize_tsc, variant tsc-sync-window). --tick-us makes\n"
               "the replay as slow as the scenario's clock, so that a writeback is as stale on the real kernel as the scenario means.\n";
    return rep;
}

std::string kvm_replay_html(const KvmReplayReport& r, const std::string& title, const std::string& css, const std::string& fake_fragment) {
    const auto esc = harness::html_escape;
    std::string h = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + esc(title) + "</title>\n<style>\n" + css +
                    ".side{display:flex;gap:16px;align-items:flex-start}\n.side>div{overflow:auto}\n"
                    "table.real{border-collapse:collapse;font:12px monospace}\ntable.real td{border-bottom:1px solid #eee;padding:2px 6px}\n"
                    "tr.differs td{background:#fdd}\n</style></head><body>\n<h2>" + esc(title) + "</h2>\n<div class=\"side\">\n<div class=\"fake\"><h3>fake</h3>\n" +
                    fake_fragment + "</div>\n<div class=\"real\"><h3>real /dev/kvm</h3>\n<table class=\"real\">\n<tr><td>step</td><td>actor</td><td>ioctl</td><td>fake | real</td></tr>\n";
    for (const auto& row : r.rows)
        h += std::string("<tr class=\"") + (row.differs ? "differs" : "agree") + "\" data-step=\"" + std::to_string(row.step) + "\"><td>" + std::to_string(row.step) +
             "</td><td>" + esc(row.actor) + "</td><td>" + esc(row.what) + "</td><td>" + esc(row.detail) + "</td></tr>\n";
    h += "</table>\n<p><b>verdict on the real kernel's observations:</b> " + std::string(r.real_verdict.empty() ? "every property held" : "VIOLATION") + "</p>\n<ul>\n";
    for (const auto& l : r.real_verdict) h += "<li>" + esc(l) + "</li>\n";
    h += "</ul>\n";
    for (const auto& n : r.notes) h += "<p class=\"note\">note: " + esc(n) + "</p>\n";
    h += "</div>\n</div>\n</body></html>\n";
    return h;
}

}  // namespace regsync::realkvm

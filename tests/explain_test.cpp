// regsync explain: the causal slice of every committed regression trace,
// checked against the trace's own event log.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "explore/catalogue.h"
#include "explore/explain.h"
#include "explore/trace_diff.h"
#include "explore/view.h"
#include "harness/kernel_profile.h"
#include "sched/decision_source.h"
#include "harness/trace_file.h"
#include "model/catalogue.h"
#include "test_paths.h"

namespace regsync::testing {
namespace {

std::string regression(const std::string& name) { return traces_dir() + "/regressions/" + name + ".json"; }

// Every step the explanation names is in the event log: the actor did
// something at that step, and an ioctl or event it names is there.
void expect_in_log(const harness::Trace& t, const explore::ExplainReport& rep) {
    for (const auto& x : rep.shown)
        for (const auto& s : x.steps) {
            if (s.actor == "-") continue;
            const std::string head = "step " + std::to_string(s.step) + " " + s.actor + ": ";
            const std::string first = s.what.substr(0, s.what.find(':'));
            const bool found = std::any_of(t.events.begin(), t.events.end(), [&](const std::string& e) { return e.rfind(head + first, 0) == 0; });
            EXPECT_TRUE(found) << t.scenario_name << ": '" << head << first << "' is not in the event log";
        }
}

TEST(Explain, EveryRegressionTraceIsExplainedInAtMost25LinesWithItsStepsInOrder) {
    harness::Engine engine;
    int traces = 0;
    for (const auto& f : std::filesystem::directory_iterator(traces_dir() + "/regressions")) {
        if (f.path().extension() != ".json") continue;
        SCOPED_TRACE(f.path().filename().string());
        const auto t = harness::read_trace(f.path().string());
        const auto rep = explore::explain_trace(t, scenario_dir(), engine);
        const auto text = explore::explain_text(rep);
        EXPECT_LE(std::count(text.begin(), text.end(), '\n'), 25) << text;
        ASSERT_FALSE(rep.shown.empty()) << text;  // every regression trace violates something
        EXPECT_EQ(rep.shown.front().message.empty(), false);
        for (const auto& x : rep.shown) {
            EXPECT_FALSE(x.steps.empty()) << x.property;
            EXPECT_TRUE(std::is_sorted(x.steps.begin(), x.steps.end(), [](const auto& a, const auto& b) { return a.step < b.step; })) << text;
            for (const auto& s : x.steps) EXPECT_FALSE(s.role.empty()) << text;
        }
        expect_in_log(t, rep);
        ++traces;
    }
    EXPECT_GE(traces, 40);
}

// A regression trace and the first explanation of it, which must be of `property`.
struct Explained {
    harness::Trace trace;
    explore::Explanation first;
};
Explained explained(const std::string& name, const std::string& property) {
    harness::Engine engine;
    Explained e{harness::read_trace(regression(name)), {}};
    const auto rep = explore::explain_trace(e.trace, scenario_dir(), engine);
    if (rep.shown.empty()) ADD_FAILURE() << name << ": nothing explained";
    else e.first = rep.shown.front();
    EXPECT_EQ(e.first.property, property) << name;
    return e;
}

// The Book-E timer bug: the get of TSR, the timer setting DIS, the put that cleared it.
TEST(Explain, TsrBlindWritebackIsTheGetTheTimerAndThePut) {
    const auto [t, x] = explained("tsr-blind-writeback", "lost-kernel-write");
    ASSERT_EQ(x.property, "lost-kernel-write");
    const auto& v = t.violations.front();
    ASSERT_EQ(x.steps.size(), 3u);
    EXPECT_LT(x.steps[0].step, v.origin);
    EXPECT_NE(x.steps[0].what.find("KVM_GET_ONE_REG vcpu0: TSR = 0x0"), std::string::npos) << x.steps[0].what;
    EXPECT_NE(x.steps[0].where.find("synchronize_state"), std::string::npos);
    EXPECT_EQ(x.steps[1].step, v.origin);
    EXPECT_EQ(x.steps[1].actor, "booke-timer0");
    char dis[32];
    std::snprintf(dis, sizeof dis, "0x%llx", static_cast<unsigned long long>(model::tsr::DIS));
    EXPECT_NE(x.steps[1].what.find(std::string("TSR 0x0 -> ") + dis + " by timer"), std::string::npos) << x.steps[1].what;
    EXPECT_EQ(x.steps[2].step, v.step);
    EXPECT_NE(x.steps[2].what.find(std::string("KVM_SET_ONE_REG vcpu0: TSR ") + dis + " -> 0x0"), std::string::npos) << x.steps[2].what;
    EXPECT_NE(x.steps[2].where.find("KVM_PUT_RUNTIME_STATE"), std::string::npos);
}

// Today's QEMU's latched INIT: the INIT, the GET that cached latched_init,
// the kernel starting the AP, the VMM's own INIT and the puts that undo it.
TEST(Explain, LatchedInitClearedIsTheInitTheCachedGetAndThePutsThatUndoIt) {
    const auto [t, x] = explained("latched-init-cleared", "lost-init");
    ASSERT_EQ(x.property, "lost-init");
    const auto lost = std::find_if(t.violations.begin(), t.violations.end(), [](const auto& v) { return v.property == "lost-init"; });
    ASSERT_NE(lost, t.violations.end());
    ASSERT_GE(x.steps.size(), 4u);
    EXPECT_EQ(x.steps[0].step, lost->origin);
    EXPECT_NE(x.steps[0].what.find("init-sent vcpu0 -> vcpu1"), std::string::npos);
    const auto& steps = x.steps;  // clang 14 cannot capture a structured binding
    const auto has = [&](const std::string& what, const std::string& where) {
        return std::any_of(steps.begin(), steps.end(), [&](const auto& s) { return s.what.find(what) != std::string::npos && s.where.find(where) != std::string::npos; });
    };
    EXPECT_TRUE(has("KVM_GET_VCPU_EVENTS vcpu1: the INIT of step " + std::to_string(lost->origin) + " still pending, smi.latched_init = 1", "synchronize_state"));
    EXPECT_TRUE(has("vmm-do-cpu-init vcpu1", "process_async_events"));
    EXPECT_TRUE(has("KVM_SET_REGS vcpu1: rip", "KVM_PUT_RUNTIME_STATE"));
    EXPECT_EQ(x.steps.back().step, lost->step);
    EXPECT_NE(x.steps.back().what.find("guest-entry vcpu1"), std::string::npos);
}

// The TSC: the get, the write-back between the two reads, and the reads.
TEST(Explain, TscRuntimeWritebackIsTheTwoReadsAndTheWriteBetween) {
    const auto [t, x] = explained("tsc-runtime-writeback", "tsc-jump-back");
    ASSERT_EQ(x.property, "tsc-jump-back");
    const auto& v = t.violations.front();
    ASSERT_EQ(x.steps.size(), 4u);
    EXPECT_NE(x.steps[0].what.find("KVM_GET_MSRS vcpu1"), std::string::npos);
    EXPECT_EQ(x.steps[1].step, v.origin);
    EXPECT_NE(x.steps[1].what.find("KVM_SET_MSRS vcpu1: IA32_TSC"), std::string::npos);
    EXPECT_NE(x.steps[2].what.find("guest-rdtsc vcpu0"), std::string::npos);
    EXPECT_EQ(x.steps[3].step, v.step);
    EXPECT_NE(x.steps[3].what.find("guest-rdtsc vcpu1"), std::string::npos);
    EXPECT_LT(x.steps[1].step, x.steps[2].step);  // the write lies between the two reads
}

TEST(Explain, TheCliExplainsByDefaultAndPrintsTheLogWithEvents) {
    const auto trace = regression("tsr-blind-writeback");
    auto r = run_cli("explain " + trace);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.output.find("step 27   booke-timer0"), std::string::npos) << r.output;
    r = run_cli("explain --json " + trace);
    EXPECT_EQ(r.exit_code, 1);
    const auto j = nlohmann::json::parse(r.output);
    EXPECT_EQ(j["explanations"][0]["property"], "lost-kernel-write");
    EXPECT_EQ(j["explanations"][0]["steps"].size(), 3u);
    r = run_cli("replay " + trace);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.output.find("-- the put of the stale copy over it"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("step 8 main-loop: intent"), std::string::npos) << "the event log without --events";
    r = run_cli("replay --events " + trace);
    EXPECT_NE(r.output.find("step 8 main-loop: intent"), std::string::npos);
}

// A regression trace against its replay under the catalogue's fix policy on
// the same decisions: diff names the first step where they part.
TEST(Diff, ARegressionTraceAgainstItsFixNamesTheFirstDifferingStep) {
    const auto cat = explore::load_catalogue(REGSYNC_CATALOGUE, scenario_dir());
    harness::Engine engine;
    int compared = 0;
    for (const auto& b : cat.bugs) {
        const auto path = regression(b.name);
        if (b.fix_policy.empty() || !std::filesystem::exists(path)) continue;
        SCOPED_TRACE(b.name);
        const auto bug = harness::read_trace(path);
        const auto s = harness::load_scenario(bug.scenario_source, scenario_dir());
        sched::LenientReplayDecisions d(std::vector<sim::ActorId>(bug.decisions.begin(), bug.decisions.end()));
        const auto r = engine.run(s, b.fix_policy, harness::resolve_kernel(bug.kernel).config, d);
        const auto fix = harness::make_trace(s, b.fix_policy, bug.kernel, "lenient", 0, 0, r);
        const auto diff = explore::diff_traces(bug, fix);
        ASSERT_FALSE(diff.same);
        std::size_t i = 0;  // the first differing event, found here independently
        while (i < bug.events.size() && i < fix.events.size() && bug.events[i] == fix.events[i]) ++i;
        EXPECT_EQ(diff.common, i);
        const auto& line = i < bug.events.size() ? bug.events[i] : fix.events[i];
        const auto step = static_cast<std::uint32_t>(std::stoul(line.substr(5)));
        EXPECT_LE(diff.first_step, step);
        const auto path_a = temp_path(b.name + ".bug.json"), path_b = temp_path(b.name + ".fix.json");
        harness::write_trace(path_a, bug);
        harness::write_trace(path_b, fix);
        const auto cli = run_cli("diff " + path_a + " " + path_b);
        EXPECT_EQ(cli.exit_code, 1) << cli.output;
        EXPECT_NE(cli.output.find("first difference at step " + std::to_string(diff.first_step) + ":"), std::string::npos) << cli.output;
        EXPECT_NE(cli.output.find("  A: " + (i < bug.events.size() ? bug.events[i] : std::string("(the trace ends)"))), std::string::npos) << cli.output;
        ++compared;
    }
    EXPECT_GE(compared, 10);
    // A trace against itself: identical, exit 0.
    const auto same = run_cli("diff " + regression("tsr-blind-writeback") + " " + regression("tsr-blind-writeback"));
    EXPECT_EQ(same.exit_code, 0);
    EXPECT_NE(same.output.find("identical event logs and verdicts"), std::string::npos);
    // Two scenarios: an input error.
    EXPECT_EQ(run_cli("diff " + regression("tsr-blind-writeback") + " " + regression("tsc-runtime-writeback")).exit_code, 2);
}

// Runs a shell command, returning its stdout.
std::string shell(const std::string& cmd) {
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    char buf[4096];
    while (p && std::fgets(buf, sizeof buf, p)) out += buf;
    if (p) pclose(p);
    return out;
}

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
    return n;
}

TEST(View, TheSameTraceGivesTheSameBytes) {
    harness::Engine engine;
    const auto t = harness::read_trace(regression("latched-init-cleared"));
    const auto a = explore::view_html(t, scenario_dir(), engine);
    const auto b = explore::view_html(t, scenario_dir(), engine);
    EXPECT_EQ(a, b);
    EXPECT_EQ(a.find("http://"), a.find("http://www.w3.org/2000/svg"));  // no network: the SVG namespace is the only URL
    EXPECT_EQ(a.find("https://"), std::string::npos);
    const auto path = temp_path("view.html");
    EXPECT_EQ(run_cli("view " + regression("latched-init-cleared") + " -o " + path).exit_code, 0);
    EXPECT_EQ(read_file(path), a);
}

// The page as a real headless browser renders it: a lane per actor, the
// causal slice highlighted, and a screenshot that is not blank.
TEST(View, ChromiumRendersALanePerActorAndTheHighlightedSlice) {
    const std::string chromium = shell("command -v chromium");
    if (chromium.empty()) GTEST_SKIP() << "no chromium here (scripts/setup.sh installs Debian's)";
    const std::string flags = " --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,720 ";
    harness::Engine engine;
    for (const char* name : {"latched-init-cleared", "tsr-blind-writeback", "tsc-runtime-writeback"}) {
        SCOPED_TRACE(name);
        const auto t = harness::read_trace(regression(name));
        const auto html = temp_path(std::string(name) + ".html");
        write_file(html, explore::view_html(t, scenario_dir(), engine));
        const auto dom = shell("chromium" + flags + "--dump-dom file://" + html + " 2>/dev/null");
        const auto s = harness::load_scenario(t.scenario_source, scenario_dir());
        const auto r = explore::rerun_with_footprints(s, t.policy, t.kernel, {t.decisions.begin(), t.decisions.end()}, engine);
        const auto rep = explore::explain_result(s, t.policy, t.kernel, r);
        EXPECT_EQ(count(dom, "<g class=\"lane\""), r.actors.size()) << dom.substr(0, 400);
        for (const auto& a : r.actors) EXPECT_NE(dom.find("data-actor=\"" + a + "\""), std::string::npos) << a;
        for (const auto& x : rep.shown)
            for (const auto& st : x.steps) {
                if (st.actor == "-") continue;
                EXPECT_NE(dom.find(" slice\" data-step=\"" + std::to_string(st.step) + "\""), std::string::npos) << "slice step " << st.step;
            }
        EXPECT_EQ(count(dom, "<polyline class=\"lost-path\""), rep.shown.size());
        EXPECT_GE(count(dom, "<li class=\"slice-step\""), rep.shown.front().steps.size());
        // A screenshot, against one of an empty page made the same way.
        const auto png = temp_path(std::string(name) + ".png"), blank_html = temp_path("blank.html"), blank = temp_path("blank.png");
        write_file(blank_html, "<!DOCTYPE html><html><body></body></html>\n");
        shell("chromium" + flags + "--screenshot=" + png + " file://" + html + " >/dev/null 2>&1");
        shell("chromium" + flags + "--screenshot=" + blank + " file://" + blank_html + " >/dev/null 2>&1");
        const auto shot = read_file(png), empty = read_file(blank);
        ASSERT_GT(shot.size(), 8u);
        EXPECT_EQ(shot.substr(1, 3), "PNG");
        EXPECT_GT(shot.size(), 5 * empty.size()) << "the screenshot is as small as a blank page's";
    }
}

}  // namespace
}  // namespace regsync::testing

#include "explore/view.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "explore/explain.h"
#include "harness/event_format.h"
#include "harness/input_error.h"
#include "model/catalogue.h"

namespace regsync::explore {

namespace {

using K = sim::EventKind;

const auto esc = harness::html_escape;

std::string num(long v) { return std::to_string(v); }

const char* kind_class(const sim::Event& e) {
    switch (e.kind) {
        case K::Ioctl: return "ioctl";
        case K::KernelWrite: return e.writer == sim::Writer::Userspace ? "put" : "kernel";
        case K::Intent: return "intent";
        case K::InitSent:
        case K::SipiSent:
        case K::InitAccepted:
        case K::SipiAccepted:
        case K::InitCleared:
        case K::InitLatched:
        case K::SipiDropped:
        case K::VmmCpuInit: return "initsipi";
        case K::GuestTscRead:
        case K::GuestIo:
        case K::GuestEntry: return "guest";
        default: return "other";
    }
}

constexpr int kLeft = 190, kCol = 22, kTop = 50, kLane = 34;

}  // namespace

const std::string& view_css() {
    static const std::string css =
        "body{font:13px sans-serif;margin:12px;color:#222}\n.lane-label{font:12px monospace;fill:#333}\n.lane line{stroke:#ccc}\n"
        ".state line{stroke:#e0c070}\ncircle{stroke:#fff;stroke-width:1}\n.ioctl{fill:#4a78c2}\n.put{fill:#c24a4a}\n.kernel{fill:#3a9a4a}\n"
        ".intent{fill:#9a5ac2}\n.initsipi{fill:#e08a00}\n.guest{fill:#888}\n.other{fill:#bbb}\n"
        ".slice{stroke:#000;stroke-width:3}\n.slice-num{font:bold 11px sans-serif;fill:#000}\n"
        ".lost-path{fill:none;stroke:#d00;stroke-width:2;stroke-dasharray:5 3}\n"
        ".arrow{stroke:#e08a00;stroke-width:1.5;marker-end:url(#head)}\n.value{font:10px monospace}\n"
        "#details{white-space:pre-wrap;border:1px solid #ccc;padding:6px;min-height:2em;font:12px monospace}\n"
        "ol li{margin:2px 0}\n";
    return css;
}

std::string view_fragment(const harness::Trace& t, const std::string& scenario_dir, harness::Engine& engine) {
    const auto s = harness::load_scenario(t.scenario_source, scenario_dir);
    if (s.content_hash != t.scenario_hash)
        throw harness::InputError(s.file + ": scenario '" + t.scenario_name + "' has changed since the trace was recorded");
    const std::vector<sim::ActorId> decisions(t.decisions.begin(), t.decisions.end());
    const auto r = rerun_with_footprints(s, t.policy, t.kernel, decisions, engine);
    const auto rep = explain_result(s, t.policy, t.kernel, r);
    const auto& cat = model::catalogue(s.arch);

    // Columns: the steps that have events, in order.
    std::map<std::uint32_t, int> col;
    for (const auto& e : r.events) col.emplace(e.step, 0);
    int n = 0;
    for (auto& [step, c] : col) c = n++;
    auto x = [&](std::uint32_t step) {
        auto it = col.lower_bound(step);
        return kLeft + kCol * (it == col.end() ? n : it->second);
    };
    // Lanes: every actor, then a kernel-state lane per register a violation is about.
    std::map<std::string, int> lane;
    for (std::size_t i = 0; i < r.actors.size(); ++i) lane[r.actors[i]] = static_cast<int>(i);
    std::vector<std::pair<int, int>> state;  // (vcpu, reg)
    for (const auto& xp : rep.shown)
        if (xp.vcpu >= 0 && xp.reg >= 0 && std::find(state.begin(), state.end(), std::make_pair(xp.vcpu, xp.reg)) == state.end())
            state.emplace_back(xp.vcpu, xp.reg);
    auto y_actor = [&](const std::string& a) { return kTop + kLane * (lane.count(a) ? lane[a] : 0); };
    const int state_top = kTop + kLane * static_cast<int>(r.actors.size()) + 10;
    const int width = kLeft + kCol * (n + 2) + 20;
    const int height = state_top + kLane * static_cast<int>(state.size()) + 30;

    // Which steps are in a slice, numbered in order.
    std::map<std::pair<std::uint32_t, std::string>, std::vector<std::string>> slice;
    int k = 0;
    for (const auto& xp : rep.shown)
        for (const auto& st : xp.steps) {
            std::string line = num(++k);
            line += ". " + xp.property + ": " + st.role + " — " + st.what;
            if (!st.where.empty()) line += " [" + st.where + "]";
            slice[{st.step, st.actor}].push_back(std::move(line));
        }

    std::string h;
    h += "<p>outcome " + esc(rep.outcome) + "; " + num(static_cast<long>(t.violations.size())) + " violation(s). Highlighted: the causal slice (regsync explain).</p>\n";
    h += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) + "\" height=\"" + num(height) + "\" viewBox=\"0 0 " + num(width) + " " + num(height) + "\">\n";
    h += "<defs><marker id=\"head\" markerWidth=\"8\" markerHeight=\"8\" refX=\"6\" refY=\"3\" orient=\"auto\"><path d=\"M0,0 L6,3 L0,6 z\" fill=\"#e08a00\"/></marker></defs>\n";
    for (std::size_t i = 0; i < r.actors.size(); ++i) {
        const int y = kTop + kLane * static_cast<int>(i);
        h += "<g class=\"lane\" data-actor=\"" + esc(r.actors[i]) + "\"><text class=\"lane-label\" x=\"8\" y=\"" + num(y + 4) + "\">" + esc(r.actors[i]) +
             "</text><line x1=\"" + num(kLeft - 10) + "\" y1=\"" + num(y) + "\" x2=\"" + num(width - 10) + "\" y2=\"" + num(y) + "\"/></g>\n";
    }
    for (std::size_t i = 0; i < state.size(); ++i) {
        const int y = state_top + kLane * static_cast<int>(i);
        const auto [v, reg] = state[i];
        const std::string name = "vcpu" + num(v) + " " + std::string(cat[static_cast<model::RegIndex>(reg)].name) + " (kernel)";
        h += "<g class=\"state\" data-reg=\"" + esc(name) + "\"><text class=\"lane-label\" x=\"8\" y=\"" + num(y + 4) + "\">" + esc(name) + "</text><line x1=\"" +
             num(kLeft - 10) + "\" y1=\"" + num(y) + "\" x2=\"" + num(width - 10) + "\" y2=\"" + num(y) + "\"/>\n";
        std::uint32_t last_step = 0;
        int same = 0;  // several writes in one step: stacked, not overlaid
        for (const auto& e : r.events)
            if (e.kind == K::KernelWrite && e.vcpu == v && e.reg == reg) {
                same = e.step == last_step ? same + 1 : 0;
                last_step = e.step;
                h += "<text class=\"value " + std::string(kind_class(e)) + "\" x=\"" + num(x(e.step)) + "\" y=\"" + num(y - 4 + 11 * same) + "\"><title>" +
                     esc(harness::format_event(s.arch, r.actors, e)) + "</title>" + harness::hex_value(e.value) + "</text>\n";
            }
        h += "</g>\n";
    }
    // INIT and SIPI: from the sender's lane to the target vCPU's thread.
    for (const auto& e : r.events)
        if (e.kind == K::InitSent || e.kind == K::SipiSent) {
            const std::string target = "vcpu" + num(static_cast<long>(e.aux)) + "-thread";
            const std::string from = e.actor < r.actors.size() ? r.actors[e.actor] : "";
            h += "<line class=\"arrow\" x1=\"" + num(x(e.step)) + "\" y1=\"" + num(y_actor(from)) + "\" x2=\"" + num(x(e.step) + kCol) + "\" y2=\"" +
                 num(y_actor(target) - 6) + "\"><title>" + esc(harness::format_event(s.arch, r.actors, e)) + "</title></line>\n";
        }
    // Every event, one dot per (step, actor, kind), the slice's highlighted.
    std::set<std::string> drawn;
    for (const auto& e : r.events) {
        const std::string a = e.actor < r.actors.size() ? r.actors[e.actor] : "-";
        const std::string key = num(e.step) + "|" + a + "|" + kind_class(e);
        if (!drawn.insert(key).second) continue;
        std::string tip;
        for (const auto& f : r.events)
            if (f.step == e.step && f.actor == e.actor) {
                if (!tip.empty()) tip += '\n';
                tip += harness::format_event(s.arch, r.actors, f);
            }
        const auto sl = slice.find({e.step, a});
        const bool in_slice = sl != slice.end();
        if (in_slice) tip += "\n\n" + sl->second.front();
        h += "<circle class=\"" + std::string(kind_class(e)) + (in_slice ? " slice" : "") + "\" data-step=\"" + num(e.step) + "\" cx=\"" + num(x(e.step)) +
             "\" cy=\"" + num(y_actor(a)) + "\" r=\"" + (in_slice ? "6" : "4") + "\"><title>" + esc(tip) + "</title></circle>\n";
    }
    // The lost value's path through the slice, and the slice's numbers.
    k = 0;
    for (const auto& xp : rep.shown) {
        std::string pts;
        for (const auto& st : xp.steps) {
            ++k;
            if (st.actor == "-" || !lane.count(st.actor)) continue;
            if (!pts.empty()) pts += ' ';
            pts += num(x(st.step));
            pts += ',';
            pts += num(y_actor(st.actor));
            h += "<text class=\"slice-num\" x=\"" + num(x(st.step) + 5) + "\" y=\"" + num(y_actor(st.actor) - 8) + "\">" + num(k) + "</text>\n";
        }
        if (!pts.empty()) h += "<polyline class=\"lost-path\" data-property=\"" + esc(xp.property) + "\" points=\"" + pts + "\"/>\n";
    }
    h += "</svg>\n<div id=\"details\">Click a step for its events.</div>\n";
    h += "<h3>The causal slice</h3>\n";
    k = 0;
    for (const auto& xp : rep.shown) {
        h += "<p><b>" + esc(xp.property) + "</b>: " + esc(xp.message) + "</p>\n<ol start=\"" + num(k + 1) + "\">\n";
        for (const auto& st : xp.steps) {
            ++k;
            h += "<li class=\"slice-step\">step " + num(st.step) + " " + esc(st.actor) + ": " + esc(st.what) + " — <i>" + esc(st.role) + "</i>" +
                 (st.where.empty() ? "" : " [" + esc(st.where) + "]") + "</li>\n";
        }
        h += "</ol>\n";
    }
    h += "<script>\ndocument.querySelectorAll('circle').forEach(function(c){c.addEventListener('click',function(){"
         "var t=c.querySelector('title');document.getElementById('details').textContent=t?t.textContent:'';});});\n</script>\n";
    return h;
}

std::string view_html(const harness::Trace& t, const std::string& scenario_dir, harness::Engine& engine) {
    return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>regsync: " + esc(t.scenario_name) + " / " + esc(t.policy) + " / " +
           esc(t.kernel) + "</title>\n<style>\n" + view_css() + "</style></head><body>\n<h2>" + esc(t.scenario_name) + " — policy " + esc(t.policy) +
           ", kernel " + esc(t.kernel) + "</h2>\n" + view_fragment(t, scenario_dir, engine) + "</body></html>\n";
}

}  // namespace regsync::explore

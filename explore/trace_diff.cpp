#include "explore/trace_diff.h"

#include <algorithm>
#include <map>
#include <set>

#include "harness/input_error.h"

namespace regsync::explore {

namespace {

// "step 34 vcpu0-thread: ..." -> 34, and the line without its step.
std::uint32_t step_of(const std::string& line) {
    return line.rfind("step ", 0) == 0 ? static_cast<std::uint32_t>(std::strtoul(line.c_str() + 5, nullptr, 10)) : 0;
}
std::string without_step(const std::string& line) {
    if (line.rfind("step ", 0) != 0) return line;
    const auto sp = line.find(' ', 5);
    return sp == std::string::npos ? line : line.substr(sp + 1);
}

std::vector<std::string> properties_of(const harness::Trace& t) {
    std::set<std::string> s;
    for (const auto& v : t.violations) s.insert(v.property);
    if (t.outcome != "quiescent" && t.outcome != "plugin-fault") s.insert(t.outcome);
    return {s.begin(), s.end()};
}

// Lines of `x` not matched one for one in `y`, in `x`'s order.
std::vector<std::string> only_in(const std::vector<std::string>& x, const std::vector<std::string>& y, std::size_t from) {
    std::map<std::string, int> count;
    for (std::size_t i = from; i < y.size(); ++i) ++count[without_step(y[i])];
    std::vector<std::string> out;
    for (std::size_t i = from; i < x.size(); ++i) {
        auto l = without_step(x[i]);
        if (count[l] > 0) --count[l];
        else out.push_back(std::move(l));
    }
    return out;
}

}  // namespace

TraceDiff diff_traces(const harness::Trace& a, const harness::Trace& b) {
    if (a.scenario_name != b.scenario_name || a.scenario_hash != b.scenario_hash)
        throw harness::InputError("the traces are of different scenarios ('" + a.scenario_name + "' and '" + b.scenario_name +
                                  "', or another version of one): nothing to compare step by step");
    TraceDiff d;
    const auto& ea = a.events;
    const auto& eb = b.events;
    while (d.common < ea.size() && d.common < eb.size() && ea[d.common] == eb[d.common]) ++d.common;
    while (d.first_decision < a.decisions.size() && d.first_decision < b.decisions.size() &&
           a.decisions[d.first_decision] == b.decisions[d.first_decision])
        ++d.first_decision;
    d.violated_a = properties_of(a);
    d.violated_b = properties_of(b);
    d.same = d.common == ea.size() && d.common == eb.size() && d.violated_a == d.violated_b;
    if (d.common < ea.size()) d.first_a = ea[d.common];
    if (d.common < eb.size()) d.first_b = eb[d.common];
    const std::uint32_t sa = d.first_a.empty() ? UINT32_MAX : step_of(d.first_a), sb = d.first_b.empty() ? UINT32_MAX : step_of(d.first_b);
    d.first_step = std::min(sa, sb) == UINT32_MAX ? 0 : std::min(sa, sb);
    d.only_a = only_in(ea, eb, d.common);
    d.only_b = only_in(eb, ea, d.common);
    return d;
}

std::string diff_text(const TraceDiff& d, const harness::Trace& a, const harness::Trace& b) {
    auto join = [](const std::vector<std::string>& v) {
        std::string s;
        for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
        return s.empty() ? std::string("held") : "violated " + s;
    };
    std::string out = "diff: scenario " + a.scenario_name + "\n  A: policy " + a.policy + ", kernel " + a.kernel + ", " +
                      std::to_string(a.events.size()) + " events, " + join(d.violated_a) + "\n  B: policy " + b.policy + ", kernel " + b.kernel +
                      ", " + std::to_string(b.events.size()) + " events, " + join(d.violated_b) + "\n";
    if (d.common == a.events.size() && d.common == b.events.size()) {
        out += d.same ? "identical event logs and verdicts\n" : "identical event logs, different verdicts\n";
        return out;
    }
    out += "the same for the first " + std::to_string(d.common) + " events; first difference at step " + std::to_string(d.first_step) + ":\n";
    out += "  A: " + (d.first_a.empty() ? std::string("(the trace ends)") : d.first_a) + "\n";
    out += "  B: " + (d.first_b.empty() ? std::string("(the trace ends)") : d.first_b) + "\n";
    if (d.first_decision < a.decisions.size() || d.first_decision < b.decisions.size())
        out += "the decisions agree up to decision " + std::to_string(d.first_decision) + "\n";
    else
        out += "the same decisions\n";
    constexpr std::size_t kShown = 8;
    for (const auto* side : {&d.only_a, &d.only_b}) {
        const char* name = side == &d.only_a ? "A" : "B";
        out += "from there on, only " + std::string(name) + " (" + std::to_string(side->size()) + " events):\n";
        for (std::size_t i = 0; i < side->size() && i < kShown; ++i) out += "  " + (*side)[i] + "\n";
        if (side->size() > kShown) out += "  ... and " + std::to_string(side->size() - kShown) + " more\n";
    }
    return out;
}

}  // namespace regsync::explore

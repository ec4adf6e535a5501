#include "explore/replay.h"

#include "fakekvm/kernel_config.h"
#include "harness/input_error.h"
#include "harness/kernel_profile.h"
#include "model/policy_registry.h"
#include "sched/decision_source.h"

namespace regsync::explore {

ReplayReport replay_trace(const harness::Trace& t, const std::string& bundled_dir, harness::Engine& engine) {
    const auto s = harness::load_scenario(t.scenario_source, bundled_dir);
    if (s.content_hash != t.scenario_hash)
        throw harness::InputError(s.file + ": scenario '" + t.scenario_name + "' has changed since the trace was recorded (content hash " +
                                  harness::hex64(s.content_hash) + ", trace has " + harness::hex64(t.scenario_hash) + ")");
    auto profile = harness::find_kernel(t.kernel);
    const std::string file = t.file.empty() ? "trace" : t.file;
    if (!profile) throw harness::InputError::at(file, t.kernel_line, "unknown kernel variant or profile '" + t.kernel + "'");
    if (!model::policy_supports(t.policy, s.arch))
        throw harness::InputError::at(file, t.policy_line, "policy '" + t.policy + "' does not sync " + std::string(model::to_string(s.arch)) +
                                                              " vCPUs, the architecture of scenario '" + s.name + "'");
    const auto kernel = std::optional<fakekvm::KernelConfig>(profile->config);
    sched::ReplayDecisions d(std::vector<sim::ActorId>(t.decisions.begin(), t.decisions.end()));
    auto r = engine.run(s, t.policy, *kernel, d);
    // A decision that names no actor of the scenario is a bad trace, not a
    // replay that diverged.
    for (std::size_t k = 0; k < t.decisions.size(); ++k)
        if (t.decisions[k] >= r.actors.size())
            throw harness::InputError::at(t.file.empty() ? "trace" : t.file, k < t.decision_lines.size() ? t.decision_lines[k] : 1,
                                          "decision " + std::to_string(k) + " is " + std::to_string(t.decisions[k]) + ", but scenario '" +
                                              s.name + "' has " + std::to_string(r.actors.size()) + " actors (0 to " +
                                              std::to_string(r.actors.size() - 1) + ")");
    ReplayReport rep;
    rep.replayed = harness::make_trace(s, t.policy, t.kernel, t.strategy, t.seed, t.execution, r);
    if (d.diverged() || (!d.exhausted() && t.outcome != "plugin-fault")) {
        rep.diverged = true;
        rep.divergence = "decision " + std::to_string(d.position()) + " of " + std::to_string(t.decisions.size()) +
                         (d.diverged() ? ": recorded actor not enabled" : ": recorded decisions not all used");
        return rep;
    }
    if (t.outcome == "plugin-fault") {
        const std::string hook = "hook " + t.fault_hook.substr(0, t.fault_hook.find(' '));
        if (r.end == sched::RunEnd::ActorError && r.error.find(hook) != std::string::npos) {
            rep.fault = r.error;
        } else {
            rep.diverged = true;
            rep.divergence = "the trace ends in a fault of the sync layer in " + t.fault_hook + "; the replay ended " + rep.replayed.outcome;
        }
        return rep;
    }
    const auto& a = t.events;
    const auto& b = rep.replayed.events;
    for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
        if (i < a.size() && i < b.size() && a[i] == b[i]) continue;
        rep.diverged = true;
        rep.divergence = "event " + std::to_string(i) + ": recorded '" + (i < a.size() ? a[i] : "<end>") + "', replayed '" +
                         (i < b.size() ? b[i] : "<end>") + "'";
        return rep;
    }
    if (t.violations != rep.replayed.violations || t.outcome != rep.replayed.outcome) {
        rep.diverged = true;
        rep.divergence = "same events but a different verdict or outcome";
    }
    return rep;
}

}  // namespace regsync::explore

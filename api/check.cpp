// include/regsync/check.h over the explorers: one cell search per
// (scenario, kernel), as `regsync matrix` runs it.
#include "regsync/check.h"

#include <stdexcept>

#include "explore/cell_search.h"
#include "harness/data_dirs.h"
#include "harness/input_error.h"
#include "harness/kernel_profile.h"
#include "harness/plugin_loader.h"
#include "harness/scenario.h"
#include "harness/trace_file.h"
#include "model/policy_registry.h"

namespace regsync {

namespace {
// Input errors leave the library as std::runtime_error: the header names no internal type.
template <typename F>
auto rethrow(F&& f) {
    try {
        return f();
    } catch (const harness::InputError& e) {
        throw std::runtime_error(e.what());
    }
}
}  // namespace

std::vector<std::string> load_sync_layer(const std::string& plugin_path) {
    return rethrow([&] { return harness::load_plugin(plugin_path).policies; });
}

void register_sync_layer(const regsync_sync_layer& layer) {
    rethrow([&] {
        harness::register_linked_layer(layer, std::string("linked layer '") + (layer.name ? layer.name : "?") + "'");
        return 0;
    });
}

CheckResult check_sync_layer(const std::string& policy, const CheckOptions& o) {
    return rethrow([&] {
        const auto* info = model::find_policy(policy);
        if (!info) throw harness::InputError("unknown policy '" + policy + "' (load its plugin first)");
        const std::string scenario_dir = o.data_dir.empty() ? harness::data_scenario_dir() : o.data_dir + "/scenarios";
        const std::string kernel_dir = o.data_dir.empty() ? harness::data_kernel_dir() : o.data_dir + "/kernels";
        std::vector<harness::Scenario> scenarios;
        if (o.scenarios.empty()) {
            for (const auto& n : harness::bundled_scenarios(scenario_dir)) {
                auto s = harness::load_scenario(n, scenario_dir);
                if (model::policy_supports(policy, s.arch)) scenarios.push_back(std::move(s));
            }
        } else {
            for (const auto& n : o.scenarios) scenarios.push_back(harness::load_scenario(n, scenario_dir));
        }
        std::vector<harness::KernelProfile> kernels;
        for (const auto& k : o.kernels.empty() ? harness::bundled_kernels(kernel_dir) : o.kernels) kernels.push_back(harness::resolve_kernel(k, kernel_dir));
        CheckResult out;
        harness::Engine engine;
        const explore::CellSearchConfig cfg{o.strategy, o.bound, o.budget, o.executions, o.seed};
        for (const auto& s : scenarios)
            for (const auto& k : kernels) {
                const auto r = explore::search_cell(s, policy, k.config, cfg, engine);
                CellVerdict v{s.name, k.name, {r.found.begin(), r.found.end()}, r.shortest.error, ""};
                if (!v.violated.empty() && !o.trace_dir.empty()) {
                    v.trace = o.trace_dir + "/" + s.name + "." + policy + "." + k.name + ".json";
                    harness::write_trace(v.trace, harness::make_trace(s, policy, k.file.empty() ? k.name : k.file, r.shortest_strategy, o.seed,
                                                                      r.shortest_index, r.shortest));
                }
                if (!v.violated.empty()) {
                    out.held = false;
                    std::string what;
                    for (const auto& p : v.violated) what += (what.empty() ? "" : ", ") + p;
                    out.report += "  " + s.name + " / " + k.name + ": " + what + (v.error.empty() ? "" : " (" + v.error + ")") +
                                  (v.trace.empty() ? "" : "; trace " + v.trace) + "\n";
                }
                out.cells.push_back(std::move(v));
            }
        return out;
    });
}

}  // namespace regsync

#include "explore/catalogue.h"

#include <algorithm>
#include <toml++/toml.h>

#include "fakekvm/kernel_axes.h"
#include "fakekvm/kernel_config.h"
#include "harness/input_error.h"
#include "harness/input_file.h"
#include "harness/limits.h"
#include "harness/toml_input.h"
#include "harness/kernel_profile.h"
#include "harness/scenario.h"
#include "model/policy_registry.h"

namespace regsync::explore {

namespace {
bool names(const std::vector<std::string>& list, const std::string& x) {
    return list.empty() || std::find(list.begin(), list.end(), "*") != list.end() || std::find(list.begin(), list.end(), x) != list.end();
}
}  // namespace

namespace {
bool has_behaviours(const BugEntry& b, const harness::KernelProfile& k) {
    for (const auto& [axis_name, alts] : b.when) {
        // A copy: clang 14 cannot capture a structured binding.
        const std::string& axis = axis_name;
        const auto it = std::find_if(k.axes.begin(), k.axes.end(), [&](const auto& a) { return a.first == axis; });
        if (it == k.axes.end() || std::find(alts.begin(), alts.end(), it->second) == alts.end()) return false;
    }
    return true;
}
}  // namespace

std::string BugEntry::representative_policy() const { return policies.front() == "*" ? "qemu-levels" : policies.front(); }
// The first kernel it names, else the first built-in variant with the
// behaviours it needs.
std::string BugEntry::representative_kernel() const {
    if (!kernels.empty() && kernels.front() != "*") return kernels.front();
    for (const auto& v : fakekvm::kernel_variants())
        if (has_behaviours(*this, harness::resolve_kernel(std::string(v.name)))) return std::string(v.name);
    return "init-apic-events";
}

bool BugEntry::covers(const std::string& s, const std::string& policy, const harness::KernelProfile& kernel) const {
    if (std::find(scenarios.begin(), scenarios.end(), s) == scenarios.end() || !names(kernels, kernel.name)) return false;
    const auto* info = model::find_policy(policy);
    const bool named = (!policies.empty() && names(policies, policy)) ||
                       std::find(plugin_policies.begin(), plugin_policies.end(), policy) != plugin_policies.end() ||
                       (info && !info->follows.empty() && !policies.empty() && names(policies, info->follows));
    if (!named) return false;
    return has_behaviours(*this, kernel);
}

const BugEntry* Catalogue::find(const std::string& name) const {
    for (const auto& b : bugs)
        if (b.name == name) return &b;
    return nullptr;
}

std::vector<const BugEntry*> Catalogue::expected(const std::string& s, const std::string& policy, const std::string& kernel) const {
    return expected(s, policy, harness::resolve_kernel(kernel));
}

std::vector<const BugEntry*> Catalogue::expected(const std::string& s, const std::string& policy, const harness::KernelProfile& kernel) const {
    std::vector<const BugEntry*> out;
    for (const auto& b : bugs)
        if (b.covers(s, policy, kernel)) out.push_back(&b);
    for (const auto& b : plugin_bugs)
        if (b.covers(s, policy, kernel)) out.push_back(&b);
    return out;
}

Catalogue load_catalogue(const std::string& path, const std::string& scenario_dir) {
    const auto text = harness::read_input_file(path, harness::limits::kTomlBytes, "catalogue");
    if (!text) throw harness::InputError(path + ": cannot open the catalogue");
    return parse_catalogue(*text, path, scenario_dir);
}

Catalogue parse_catalogue(const std::string& text, const std::string& path, const std::string& scenario_dir) {
    const toml::table root = harness::parse_toml(text, path);
    Catalogue cat;
    cat.file = path;
    const auto scenarios = harness::bundled_scenarios(scenario_dir);
    const auto* arr = root["bug"].as_array();
    if (!arr) throw harness::InputError::at(path, 1, "the catalogue needs [[bug]] entries");
    for (const auto& node : *arr) {
        const auto* t = node.as_table();
        const long line = static_cast<long>(node.source().begin.line);
        if (!t) throw harness::InputError::at(path, line, "[[bug]] must be a table");
        BugEntry b;
        b.line = line;
        auto str = [&](const char* key, bool required) {
            auto v = (*t)[key].value<std::string>();
            if (!v && required) throw harness::InputError::at(path, line, std::string("[[bug]] needs a string '") + key + "'");
            return v.value_or("");
        };
        auto list = [&](const char* key) {
            std::vector<std::string> out;
            if (const auto* a = (*t)[key].as_array())
                for (const auto& e : *a) {
                    auto v = e.value<std::string>();
                    if (!v) throw harness::InputError::at(path, static_cast<long>(e.source().begin.line), std::string("'") + key + "' must list strings");
                    out.push_back(*v);
                }
            return out;
        };
        b.name = str("name", true);
        b.title = str("title", true);
        b.source = str("source", true);
        // scenario = "NAME", or a list: the same race in several scenarios.
        if ((*t)["scenario"].is_array()) b.scenarios = list("scenario");
        else b.scenarios.push_back(str("scenario", true));
        if (b.scenarios.empty()) throw harness::InputError::at(path, line, "bug '" + b.name + "' names no scenario");
        b.scenario = b.scenarios.front();
        for (const auto& sc : b.scenarios)
            if (std::find(scenarios.begin(), scenarios.end(), sc) == scenarios.end())
                throw harness::InputError::at(path, line, "bug '" + b.name + "' names unknown scenario '" + sc + "'");
        const auto prop = properties::property_from_string(str("property", true));
        if (!prop) throw harness::InputError::at(path, line, "bug '" + b.name + "' names an unknown property");
        b.property = *prop;
        b.also = list("also");
        for (const auto& a : b.also)
            if (!properties::property_from_string(a) && a != "step-limit" && a != "deadlock")
                throw harness::InputError::at(path, line, "bug '" + b.name + "': 'also' names '" + a +
                                                              "', neither a property nor step-limit or deadlock");
        b.policies = list("policies");
        b.plugin_policies = list("plugin_policies");
        b.kernels = list("kernels");
        if (b.policies.empty() && b.plugin_policies.empty())
            throw harness::InputError::at(path, line, "bug '" + b.name + "' needs 'policies' (\"*\" for all) or 'plugin_policies'");
        if (!b.policies.empty() && !b.plugin_policies.empty())
            throw harness::InputError::at(path, line, "bug '" + b.name + "' has both 'policies' and 'plugin_policies'; give plugin policies an entry of their own");
        for (const auto& p : b.policies)
            if (p != "*" && !model::find_policy(p)) throw harness::InputError::at(path, line, "bug '" + b.name + "' names unknown policy '" + p + "'");
        for (const auto& k : b.kernels)
            if (k != "*" && !harness::find_kernel(k)) throw harness::InputError::at(path, line, "bug '" + b.name + "' names unknown kernel variant '" + k + "'");
        if (const auto* w = (*t)["when"].as_table()) {
            for (const auto& [key, cond] : *w) {
                const std::string axis(key.str());
                const long wl = static_cast<long>(cond.source().begin.line);
                const auto* ax = fakekvm::find_axis(axis);
                if (!ax) throw harness::InputError::at(path, wl, "bug '" + b.name + "': 'when' names unknown kernel axis '" + axis + "'");
                std::vector<std::string> alts;
                if (const auto* one = cond.as_string()) alts.push_back(one->get());
                else if (const auto* many = cond.as_array())
                    for (const auto& e : *many)
                        if (const auto* v = e.as_string()) alts.push_back(v->get());
                if (alts.empty()) throw harness::InputError::at(path, wl, "bug '" + b.name + "': 'when' axis '" + axis + "' needs an alternative or a list of them");
                for (const auto& a : alts)
                    if (!fakekvm::find_alternative(*ax, a))
                        throw harness::InputError::at(path, wl, "bug '" + b.name + "': axis '" + axis + "' has no alternative '" + a + "'");
                b.when.emplace_back(axis, alts);
            }
        } else if ((*t)["when"]) {
            throw harness::InputError::at(path, line, "bug '" + b.name + "': 'when' must be a table of axis = alternative(s)");
        }
        b.fix_policy = str("fix_policy", false);
        b.fix_kernel = str("fix_kernel", false);
        if (!b.fix_policy.empty() && !model::find_policy(b.fix_policy))
            throw harness::InputError::at(path, line, "bug '" + b.name + "' names unknown fix_policy '" + b.fix_policy + "'");
        if (!b.fix_kernel.empty() && !harness::find_kernel(b.fix_kernel))
            throw harness::InputError::at(path, line, "bug '" + b.name + "' names unknown fix_kernel '" + b.fix_kernel + "'");
        if (b.fix_policy.empty() && b.fix_kernel.empty())
            throw harness::InputError::at(path, line, "bug '" + b.name + "' needs fix_policy or fix_kernel");
        (b.policies.empty() ? cat.plugin_bugs : cat.bugs).push_back(std::move(b));
    }
    return cat;
}

}  // namespace regsync::explore

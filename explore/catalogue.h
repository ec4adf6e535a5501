// The catalogue of historical bugs (catalogue/verdicts.toml): which
// (policy, kernel variant, scenario) cells must violate which property.
// Data, not code: a cell no entry names must hold.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "harness/kernel_profile.h"
#include "properties/property.h"

namespace regsync::explore {

struct BugEntry {
    std::string name;
    std::string title;
    std::string source;
    std::string scenario;                // the one its regression trace is shown in
    std::vector<std::string> scenarios;  // every scenario it names (scenario first)
    properties::Property property{};
    // What the cell shows besides `property`: more properties, or the
    // outcomes "step-limit" (LIVE) and "deadlock" (DEAD). A cell's expected
    // set is the union over the entries naming it; the matrix wants it exactly.
    std::vector<std::string> also;
    std::vector<std::string> policies;  // "*" = all
    // Plugin policies (harness/plugin_loader.h), unchecked when the catalogue
    // is read. A plugin policy is also named by every entry that names the
    // built-in it `follows`.
    std::vector<std::string> plugin_policies;
    std::vector<std::string> kernels;   // empty or "*" = all
    // The kernel behaviours the bug needs: axis -> the alternatives it shows
    // under (fakekvm/kernel_axes.h), so that it is expected under every
    // profile that has them, whatever the profile is called.
    std::vector<std::pair<std::string, std::vector<std::string>>> when;
    std::string fix_policy;             // where it is fixed ("" = same policy)
    std::string fix_kernel;             // ("" = same kernel variant)
    long line = 0;

    bool covers(const std::string& scenario_name, const std::string& policy, const harness::KernelProfile& kernel) const;
    // The configuration the bug is shown under: its first policy and kernel
    // variant ("*" meaning qemu-levels and init-apic-events).
    std::string representative_policy() const;
    std::string representative_kernel() const;
};

struct Catalogue {
    std::string file;
    std::vector<BugEntry> bugs;
    // Entries naming only policies of plugins (`plugin_policies`), which may
    // not be loaded: they join `expected` for a loaded one, and stay out of
    // `bugs`, whose entries all name built-ins.
    std::vector<BugEntry> plugin_bugs;
    const BugEntry* find(const std::string& name) const;
    std::vector<const BugEntry*> expected(const std::string& scenario, const std::string& policy, const harness::KernelProfile& kernel) const;
    // By kernel variant or profile name.
    std::vector<const BugEntry*> expected(const std::string& scenario, const std::string& policy, const std::string& kernel) const;
};

// Throws harness::InputError naming the file and line of a bad entry
// (unknown policy, kernel variant, scenario or property).
Catalogue load_catalogue(const std::string& path, const std::string& scenario_dir);
// The same from the file's text; `path` names it in errors.
Catalogue parse_catalogue(const std::string& text, const std::string& path, const std::string& scenario_dir);

}  // namespace regsync::explore

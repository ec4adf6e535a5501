#include "harness/kernel_profile.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>

#include "fakekvm/kernel_axes.h"
#include "harness/input_error.h"
#include "harness/input_file.h"
#include "harness/limits.h"
#include "harness/toml_input.h"
#include "harness/scenario.h"

namespace regsync::harness {

namespace {
long line_of(const toml::node* n) { return n ? static_cast<long>(n->source().begin.line) : 1; }

std::vector<std::pair<std::string, std::string>> axes_of(const fakekvm::KernelConfig& k) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& a : fakekvm::kernel_axes()) out.emplace_back(a.name, fakekvm::alternative_of(a, k));
    return out;
}
}  // namespace

KernelProfile parse_kernel_profile(const std::string& text, const std::string& file) {
    const toml::table root = parse_toml(text, file);
    KernelProfile p;
    p.file = file;
    p.name = std::filesystem::path(file).stem().string();
    fakekvm::KernelConfig k;
    std::vector<std::string> given;
    for (const auto& [key, node] : root) {
        const std::string name(key.str());
        const auto* str = node.as_string();
        if (name == "name" || name == "description" || name == "source") {
            if (!str) throw InputError::at(file, line_of(&node), "'" + name + "' must be a string");
            (name == "name" ? p.name : name == "description" ? p.description : p.source) = str->get();
            continue;
        }
        const auto* axis = fakekvm::find_axis(name);
        if (!axis) {
            std::string known;
            for (const auto& a : fakekvm::kernel_axes()) known += (known.empty() ? "" : ", ") + std::string(a.name);
            throw InputError::at(file, line_of(&node), "unknown key '" + name + "' (name, description, source, or an axis: " + known + ")");
        }
        std::string alts;
        for (const auto& a : axis->alternatives) alts += (alts.empty() ? "" : ", ") + std::string(a.name);
        if (!str) throw InputError::at(file, line_of(&node), "axis '" + name + "' takes one of " + alts);
        const auto* alt = fakekvm::find_alternative(*axis, str->get());
        if (!alt) throw InputError::at(file, line_of(&node), "axis '" + name + "': unknown alternative '" + str->get() + "' (" + alts + ")");
        alt->apply(k);
        given.push_back(name);
        p.axes.emplace_back(name, std::string(alt->name));
    }
    for (const auto& a : fakekvm::kernel_axes())
        if (std::find(given.begin(), given.end(), a.name) == given.end())
            throw InputError::at(file, 1, "the profile does not choose axis '" + std::string(a.name) + "' (a profile picks one alternative per axis)");
    p.config = k;
    // In kernel_axes() order, with the names the file gave (two alternatives
    // may act alike in the fake: ignored and blocked-only).
    std::vector<std::pair<std::string, std::string>> ordered;
    for (const auto& a : fakekvm::kernel_axes())
        for (const auto& [n, alt] : p.axes)
            if (n == a.name) ordered.emplace_back(n, alt);
    p.axes = std::move(ordered);
    return p;
}

static std::optional<KernelProfile> find_kernel_unnamed(const std::string& name_or_path, const std::string& dir);

std::optional<KernelProfile> find_kernel(const std::string& name_or_path, const std::string& dir) {
    auto named = find_kernel_unnamed(name_or_path, dir);
    if (named) named->config.name = name_or_path;  // what a trace will name to find it again
    return named;
}

static std::optional<KernelProfile> find_kernel_unnamed(const std::string& name_or_path, const std::string& dir) {
    // The built-in variants first: their names stay valid as aliases.
    for (const auto& v : fakekvm::kernel_variants())
        if (v.name == name_or_path) return KernelProfile{std::string(v.name), std::string(v.description), "built-in variant", "", v.config, axes_of(v.config)};
    std::filesystem::path p = name_or_path;
    if (!std::filesystem::exists(p) && p.extension() != ".toml") p = std::filesystem::path(dir) / (name_or_path + ".toml");
    const auto text = read_input_file(p.string(), limits::kTomlBytes, "kernel profile");
    if (!text) return std::nullopt;
    return parse_kernel_profile(*text, p.string());
}

KernelProfile resolve_kernel(const std::string& name_or_path, const std::string& dir) {
    auto k = find_kernel(name_or_path, dir);
    if (!k) throw InputError("unknown kernel variant or profile '" + name_or_path + "' (see 'regsync list')");
    return *k;
}

std::vector<std::string> bundled_kernels(const std::string& dir) { return toml_names(dir); }

}  // namespace regsync::harness

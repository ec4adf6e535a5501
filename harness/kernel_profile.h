// Kernel profiles: one alternative per kernel axis (fakekvm/kernel_axes.h),
// in a small TOML file (kernels/*.toml), or one of the built-in variant
// names kept as aliases. `--kernel NAME|FILE` resolves through here.
#pragma once
#include "harness/data_dirs.h"
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fakekvm/kernel_config.h"

namespace regsync::harness {

struct KernelProfile {
    std::string name, description, source;
    std::string file;  // "" for a built-in variant
    fakekvm::KernelConfig config;
    std::vector<std::pair<std::string, std::string>> axes;  // axis -> alternative, in kernel_axes() order
};

// Parses a profile; throws InputError naming the file and line.
KernelProfile parse_kernel_profile(const std::string& text, const std::string& file);
// A built-in variant name, a profile NAME in `dir` (NAME.toml), or a
// FILE; nullopt when it is none of them. A malformed file throws.
std::optional<KernelProfile> find_kernel(const std::string& name_or_path, const std::string& dir = data_kernel_dir());
// The same, throwing InputError for an unknown name.
KernelProfile resolve_kernel(const std::string& name_or_path, const std::string& dir = data_kernel_dir());
// The profile names in `dir` (sorted).
std::vector<std::string> bundled_kernels(const std::string& dir = data_kernel_dir());

}  // namespace regsync::harness

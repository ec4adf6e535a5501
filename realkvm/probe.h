// Differential conformance of the fake kernel against the real one: each
// experiment is one short sequence of vCPU ioctls, run unchanged on a fake
// VM (per kernel variant) and on /dev/kvm, whose result is compared as text.
#pragma once
#include <utility>

#include "fakekvm/kernel_config.h"
#include "harness/kernel_profile.h"
#include <string>
#include <vector>

namespace regsync::realkvm {

struct ProbeRow {
    std::string behaviour;
    std::vector<std::string> fake;  // one per variant, in ProbeReport::variants order
    std::string real;               // empty when /dev/kvm is unavailable
    bool agree = false;             // the real result equals the default variant's
    std::string matches;            // otherwise, the variant the real kernel behaves like
};

struct ProbeReport {
    std::vector<std::string> variants;              // the fake's columns: variant names, then any extra profiles
    std::vector<fakekvm::KernelConfig> configs;     // the kernel each column runs
    std::vector<ProbeRow> rows;
    std::string unavailable;  // why the real side did not run, if it did not
};

// Every row on the fake under each built-in x86 variant and each of
// `extra` (name, configuration), and on /dev/kvm.
ProbeReport run_probe(const std::vector<std::pair<std::string, fakekvm::KernelConfig>>& extra = {});

// The kernel profile the real kernel shows: every combination of one
// alternative per axis runs as a fake column, and the first under which
// every row gives the real kernel's answer is the profile. `unexplained`
// names the rows that no combination fits (then the closest is given);
// `undecided` the axes no row tells apart (Book-E TSR on x86).
struct MeasuredProfile {
    harness::KernelProfile profile;
    std::vector<std::string> unexplained, undecided;
    std::string unavailable;  // no usable /dev/kvm
    ProbeReport report;       // every combination's column
    std::size_t column = 0;   // the profile's column in it
    std::size_t builtin_columns = 0;  // the built-in variants' columns come first
};
MeasuredProfile measure_profile(const std::string& kernel_release);
// The profile as a kernels/*.toml file.
std::string profile_toml(const harness::KernelProfile& p);

}  // namespace regsync::realkvm

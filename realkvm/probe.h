// Differential conformance of the fake kernel against the real one: each
// experiment is one short sequence of vCPU ioctls, run unchanged on a fake
// VM (per kernel variant) and on /dev/kvm, whose result is compared as text.
#pragma once
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
    std::vector<std::string> variants;
    std::vector<ProbeRow> rows;
    std::string unavailable;  // why the real side did not run, if it did not
};

ProbeReport run_probe();

}  // namespace regsync::realkvm

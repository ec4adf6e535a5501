// A kernel as a combination of independent behaviours (axes), each with
// named alternatives and the kernel change that brought or removed it. A
// kernel profile picks one alternative per axis (harness/kernel_profile.h
// reads profiles from kernels/*.toml); the fake's KernelConfig follows.
#pragma once
#include <string_view>
#include <vector>

#include "fakekvm/kernel_config.h"
#include "model/arch.h"

namespace regsync::fakekvm {

struct AxisAlternative {
    std::string_view name;
    std::string_view source;  // the kernel commit or version, and where it was seen
    void (*apply)(KernelConfig&);
};

struct KernelAxis {
    std::string_view name;
    std::string_view description;
    std::vector<AxisAlternative> alternatives;
    // The architecture whose kernel code it is: a probe on a host of another
    // architecture cannot see it (KVM runs guests of the host's own).
    model::Arch arch = model::Arch::X86;
};

const std::vector<KernelAxis>& kernel_axes();
const KernelAxis* find_axis(std::string_view name);
const AxisAlternative* find_alternative(const KernelAxis& a, std::string_view name);
// Which alternative of `axis` a configuration has (the first whose apply()
// leaves the configuration unchanged).
std::string_view alternative_of(const KernelAxis& axis, const KernelConfig& k);

}  // namespace regsync::fakekvm

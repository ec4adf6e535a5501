// Kernel variants the fake can model, selected by name.
#pragma once
#include <optional>
#include <string_view>
#include <vector>

namespace regsync::fakekvm {

enum class InitSipi {
    // Before Linux 3.10: the sender writes the target's mp_state =
    // INIT_RECEIVED directly, racing with the target's HLT emulation.
    MpState,
    // Since 3.10 ("KVM: x86: Rework INIT and SIPI handling", seed 003):
    // pending KVM_APIC_INIT/KVM_APIC_SIPI consumed by the target itself in
    // kvm_apic_accept_events().
    ApicEvents,
};

struct KernelConfig {
    InitSipi init_sipi = InitSipi::ApicEvents;
    std::uint64_t tsc_per_tick = 1000;  // guest TSC cycles per virtual-clock tick
};

struct KernelVariant {
    std::string_view name;
    std::string_view description;
    KernelConfig config;
};

const std::vector<KernelVariant>& kernel_variants();
std::optional<KernelConfig> kernel_variant(std::string_view name);

}  // namespace regsync::fakekvm

#include "fakekvm/kernel_config.h"

namespace regsync::fakekvm {

const std::vector<KernelVariant>& kernel_variants() {
    static const std::vector<KernelVariant> v = {
        {"init-apic-events", "Linux >= 3.10: INIT/SIPI as pending APIC events (default)",
         KernelConfig{InitSipi::ApicEvents, 1000}},
        {"init-mp-state", "Linux < 3.10: INIT writes the target's mp_state directly",
         KernelConfig{InitSipi::MpState, 1000}},
    };
    return v;
}

std::optional<KernelConfig> kernel_variant(std::string_view name) {
    for (const auto& k : kernel_variants())
        if (k.name == name) return k.config;
    return std::nullopt;
}

}  // namespace regsync::fakekvm

#include "properties/property.h"

namespace regsync::properties {

std::string_view to_string(Property p) {
    switch (p) {
        case Property::LostKernelWrite: return "lost-kernel-write";
        case Property::LostUserspaceWrite: return "lost-userspace-write";
        case Property::LostInit: return "lost-init";
        case Property::TscJumpBack: return "tsc-jump-back";
        case Property::SnapshotFidelity: return "snapshot-fidelity";
        case Property::DirtyEntry: return "dirty-entry";
    }
    return "?";
}

std::string_view describe(Property p) {
    switch (p) {
        case Property::LostKernelWrite: return "no kernel-side change (guest, timer, INIT) is overwritten by a stale userspace copy";
        case Property::LostUserspaceWrite: return "every intended userspace write reaches the kernel and is not replaced by a stale value";
        case Property::LostInit: return "every INIT is acted on; an AP starts at the SIPI vector once a SIPI follows";
        case Property::TscJumpBack: return "guest TSC reads never decrease except across an intended TSC write";
        case Property::SnapshotFidelity: return "savevm captures the kernel state; loadvm restores it before any vCPU runs";
        case Property::DirtyEntry: return "no vCPU enters KVM_RUN while an intended write for it is not in the kernel";
    }
    return "?";
}

std::optional<Property> property_from_string(std::string_view s) {
    for (int i = 0; i < kPropertyCount; ++i)
        if (to_string(static_cast<Property>(i)) == s) return static_cast<Property>(i);
    return std::nullopt;
}

}  // namespace regsync::properties

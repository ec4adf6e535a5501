// The properties the oracle checks, by name.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace regsync::properties {

enum class Property : std::uint8_t {
    LostKernelWrite,     // a kernel-side change overwritten by a stale userspace writeback
    LostUserspaceWrite,  // an intended userspace write never reached the kernel, or was replaced
    LostInit,            // an INIT (and SIPI) that was sent was never acted on
    TscJumpBack,         // the guest saw its TSC decrease without an intended TSC write
    SnapshotFidelity,    // savevm captured, or loadvm restored, something else than the kernel state
    DirtyEntry,          // KVM_RUN entered while an intended write was not yet in the kernel
};
inline constexpr int kPropertyCount = 6;

using PropertySet = std::uint32_t;
inline constexpr PropertySet kAllProperties = (1u << kPropertyCount) - 1;
inline constexpr PropertySet bit(Property p) { return 1u << static_cast<unsigned>(p); }

std::string_view to_string(Property p);
std::string_view describe(Property p);
std::optional<Property> property_from_string(std::string_view s);

}  // namespace regsync::properties

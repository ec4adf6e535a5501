#pragma once
#include <optional>
#include <string_view>

namespace regsync::model {

enum class Arch { X86, PpcBookE };

inline constexpr std::string_view to_string(Arch a) { return a == Arch::X86 ? "x86" : "ppc-booke"; }
inline std::optional<Arch> arch_from_string(std::string_view s) {
    if (s == "x86") return Arch::X86;
    if (s == "ppc-booke" || s == "ppc") return Arch::PpcBookE;
    return std::nullopt;
}

}  // namespace regsync::model

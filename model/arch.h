#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace regsync::model {

// Adding an architecture: a value here, its catalogue (model/<arch>.cpp),
// its kernel side (fakekvm/<arch>.cpp) and its QEMU target code
// (model/policies/qemu_<arch>.cpp); docs/porting.md lists every step.
enum class Arch { X86, PpcBookE, Arm64, Riscv64 };
inline constexpr Arch kArches[] = {Arch::X86, Arch::PpcBookE, Arch::Arm64, Arch::Riscv64};

inline constexpr std::string_view to_string(Arch a) {
    switch (a) {
        case Arch::X86: return "x86";
        case Arch::PpcBookE: return "ppc-booke";
        case Arch::Arm64: return "arm64";
        case Arch::Riscv64: return "riscv64";
    }
    return "?";
}
// An architecture as a bit of a set (PolicyInfo::arches).
inline constexpr std::uint32_t arch_bit(Arch a) { return 1u << static_cast<unsigned>(a); }
// "x86, ppc-booke, arm64, riscv64": for the messages that list them.
inline std::string arch_names() {
    std::string s;
    for (auto a : kArches) s += (s.empty() ? "" : ", ") + std::string(to_string(a));
    return s;
}
inline std::optional<Arch> arch_from_string(std::string_view s) {
    if (s == "x86") return Arch::X86;
    if (s == "ppc-booke" || s == "ppc") return Arch::PpcBookE;
    if (s == "arm64" || s == "aarch64") return Arch::Arm64;
    if (s == "riscv64") return Arch::Riscv64;
    return std::nullopt;
}

}  // namespace regsync::model

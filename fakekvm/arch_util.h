// Small helpers shared by the architectures' own kernel files.
#pragma once
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <linux/kvm.h>

namespace regsync::fakekvm::arch_util {

// A decimal or 0x number, all of the word; std::invalid_argument naming `what`.
inline std::uint64_t number(const std::string& w, const char* what) {
    std::size_t used = 0;
    unsigned long long v = 0;
    try {
        if (w.empty() || w[0] == '-' || w[0] == '+') throw std::invalid_argument(w);
        v = std::stoull(w, &used, 0);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != w.size() || w.empty()) throw std::invalid_argument(std::string("bad ") + what + " '" + w + "' (want a decimal or 0x number)");
    return v;
}

inline int vcpu_operand(const std::string& w, std::size_t vcpus) {
    const auto v = number(w, "vCPU index");
    if (v >= vcpus) throw std::invalid_argument("vCPU " + w + " does not exist (scenario has " + std::to_string(vcpus) + ")");
    return static_cast<int>(v);
}

inline void operands(const std::vector<std::string>& w, std::size_t lo, std::size_t hi) {
    if (w.size() - 1 < lo || w.size() - 1 > hi)
        throw std::invalid_argument("guest step '" + w[0] + "' takes " + (lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi)) +
                                    " operand(s)");
}

// KVM_{GET,SET}_ONE_REG's user buffer, by the size the id encodes.
inline bool one_reg_u64(const kvm_one_reg& o) { return (o.id & KVM_REG_SIZE_MASK) == KVM_REG_SIZE_U64; }
inline std::uint64_t one_reg_read(const kvm_one_reg& o) {
    std::uint64_t v = 0;
    std::memcpy(&v, reinterpret_cast<const void*>(o.addr), sizeof v);
    return v;
}
inline void one_reg_write(const kvm_one_reg& o, std::uint64_t v) { std::memcpy(reinterpret_cast<void*>(o.addr), &v, sizeof v); }

}  // namespace regsync::fakekvm::arch_util

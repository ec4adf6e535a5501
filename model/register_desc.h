// One register as the catalogue describes it: how wide, which writeback level
// owns it, which bits the kernel changes on its own, and which ioctl reaches it.
#pragma once
#include <cstdint>
#include <string_view>

#include "model/sync_level.h"

namespace regsync::model {

// How userspace reaches the register (the kernel's ioctl families).
enum class Access : std::uint8_t { Regs, Sregs, Msrs, OneReg, MpState, VcpuEvents };

inline constexpr const char* to_string(Access a) {
    switch (a) {
        case Access::Regs: return "REGS";
        case Access::Sregs: return "SREGS";
        case Access::Msrs: return "MSRS";
        case Access::OneReg: return "ONE_REG";
        case Access::MpState: return "MP_STATE";
        case Access::VcpuEvents: return "VCPU_EVENTS";
    }
    return "?";
}

struct RegisterDesc {
    std::string_view name;
    Access access;
    unsigned width;             // bits
    SyncLevel level;            // lowest writeback level that puts it
    std::uint64_t async_mask;   // bits the kernel changes while userspace is not looking
    std::uint64_t id;           // MSR index, ONE_REG id, or field index in the ioctl struct
    std::uint64_t reset_value;  // architected value after RESET
    bool time_varying = false;  // value is a function of virtual time (IA32_TSC)

    constexpr std::uint64_t mask() const { return width >= 64 ? ~0ULL : ((1ULL << width) - 1); }
};

}  // namespace regsync::model

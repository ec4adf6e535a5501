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
    // A write moves the register of every vCPU of the VM, not only the one
    // written (arm64 KVM_REG_ARM_TIMER_CNT: the VM-wide timer_data.voffset
    // since 47053904e182, 6.3, and every vCPU's CNTVOFF before it; riscv
    // timer `time`: kvm->arch.timer.time_delta).
    bool vm_scope = false;
    // Bits the kernel computes when userspace reads the register and drops
    // when userspace writes it (arm64 CNTV_CTL.ISTATUS: read_timer_ctl()
    // ORs it in, kvm_arm_timer_write() strips it). Writing them back stale
    // loses nothing: the kernel or the hardware recomputes them.
    std::uint64_t computed_mask = 0;
    // Writes are dropped once the VM's counter offset was set by
    // KVM_ARM_SET_COUNTER_OFFSET (30ec7997d175, 6.4): sticky for the VM.
    bool offset_lockable = false;
    // The kernel changes it on its own only for a guest's request (another
    // vCPU's PSCI CPU_ON or SBI HART_START): while the VM is paused it
    // cannot change, so a snapshot must hold exactly the kernel's value.
    bool stable_while_paused = false;
    // The architecture's reset leaves the register as it is (arm64
    // kvm_timer_vcpu_reset() touches CTL, not CVAL): no reset value to put.
    bool reset_kept = false;

    constexpr std::uint64_t mask() const { return width >= 64 ? ~0ULL : ((1ULL << width) - 1); }
    // The bits a snapshot taken with every vCPU paused must hold as the
    // kernel had them: not those the kernel changes on its own meanwhile
    // (timers), unless only a guest could change them.
    constexpr std::uint64_t snapshot_mask() const { return mask() & ~(stable_while_paused ? 0 : async_mask); }
};

}  // namespace regsync::model

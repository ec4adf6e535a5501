// kvm_arch_get_registers / kvm_arch_put_registers: which ioctls move which
// registers between CPUState::env and the kernel, driven by the catalogue.
// Struct-based families (REGS, SREGS, VCPU_EVENTS) move whole structs, as the
// real ioctls do: asking for one REGS field writes every REGS field.
#pragma once
#include <array>
#include <vector>

#include "model/catalogue.h"
#include "model/cpu_state.h"
#include "model/sync_level.h"

namespace regsync::model {

// The order in which ioctl families are issued. It matters: on kernels
// >= 3.10 KVM_GET_MP_STATE may reset the vCPU (kvm_apic_accept_events).
struct SyncOrder {
    std::vector<Access> get;
    std::vector<Access> put;
};
// target-i386/kvm.c in 2013: regs, sregs, msrs, mp_state, vcpu events.
const SyncOrder& qemu2013_order();
// target/i386/kvm/kvm.c today: get vcpu events, mp_state ("KVM_GET_MPSTATE
// can modify CS and RIP"), regs, sregs, msrs; put sregs, regs, msrs,
// vcpu events, mp_state.
const SyncOrder& qemu_today_order();

// When KVM_SET_VCPU_EVENTS carries KVM_VCPUEVENT_VALID_SIPI_VECTOR (with
// env->sipi_vector, which KVM_GET_VCPU_EVENTS always reports as 0).
enum class SipiVectorRule : std::uint8_t {
    AtReset,         // QEMU until 2017: at every RESET and FULL put
    IfSipiReceived,  // 4fadfa0030 (2017): only when env's mp_state is SIPI_RECEIVED
};

// Flags of KVM_SET_VCPU_EVENTS beyond the level rule.
struct PutOptions {
    SyncLevel level = SyncLevel::Runtime;
    bool valid_smm = false;     // KVM_VCPUEVENT_VALID_SMM (QEMU: has_msr_smbase)
    bool latched_init = false;  // events.smi.latched_init when valid_smm
    SipiVectorRule sipi_vector = SipiVectorRule::AtReset;
};

class ArchSync {
public:
    explicit ArchSync(const Catalogue& c);

    // Registers whose catalogue level is at or below `level`.
    RegMask level_mask(SyncLevel level) const;
    RegMask all() const;
    RegMask access_mask(Access a) const;
    // Every register moved together with those in `mask` by the ioctls
    // that move them (whole structs for REGS, SREGS and VCPU_EVENTS).
    RegMask ioctl_closure(RegMask mask) const;

    // Fetch the registers in `mask`. GET_VCPU_EVENTS also refreshes
    // cpu.latched_init (smi.latched_init).
    void get(CPUState& cpu, RegMask mask, const SyncOrder& order = qemu2013_order()) const;
    // Write back the registers in `mask`. VALID_NMI_PENDING only at RESET
    // and above, as in QEMU.
    void put(CPUState& cpu, RegMask mask, const PutOptions& opt, const SyncOrder& order = qemu2013_order()) const;

    void kvm_arch_get_registers(CPUState& cpu) const { get(cpu, all()); }
    void kvm_arch_put_registers(CPUState& cpu, SyncLevel level) const { put(cpu, level_mask(level), PutOptions{level}); }

    const Catalogue& cat() const { return *cat_; }
    // A planted fault in the families moved and their order (model/mutation.h).
    void set_mutation(struct MutationProbe* p) { mutation_ = p; }

private:
    void get_family(CPUState& cpu, Access a, RegMask mask) const;
    void put_family(CPUState& cpu, Access a, RegMask mask, const PutOptions& opt) const;
    const Catalogue* cat_;
    struct MutationProbe* mutation_ = nullptr;
    // Computed once from the catalogue: they are asked at every sync.
    std::array<RegMask, 6> access_masks_{};  // by Access
    std::array<RegMask, 4> level_masks_{};   // by SyncLevel
};

}  // namespace regsync::model

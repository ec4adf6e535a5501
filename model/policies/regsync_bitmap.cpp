#include "model/policies/regsync_bitmap.h"

namespace regsync::model {

RegMask RegsyncBitmap::regs_of(const ArchSync& arch, std::uint32_t bits) {
    RegMask m = 0;
    if (bits & RUNTIME_BIT) m |= arch.level_mask(SyncLevel::Runtime);
    if (bits & RESET_BIT) m |= arch.level_mask(SyncLevel::Reset) & ~arch.level_mask(SyncLevel::Runtime);
    if (bits & FULL_BIT) m |= arch.level_mask(SyncLevel::Full) & ~arch.level_mask(SyncLevel::Reset);
    return m;
}

SyncLevel RegsyncBitmap::highest(std::uint32_t bits) {
    return (bits & FULL_BIT) ? SyncLevel::Full : (bits & RESET_BIT) ? SyncLevel::Reset : SyncLevel::Runtime;
}

void RegsyncBitmap::synchronize_state(CPUState& cpu, const ArchSync& arch) {
    // "Do not sync regs that are already dirty"
    const std::uint32_t regs_to_get = KVM_REGSYNC_FULL_STATE & ~cpu.kvm_vcpu_dirty;
    if (regs_to_get) {
        arch.get(cpu, regs_of(arch, regs_to_get));
        cpu.kvm_vcpu_dirty |= regs_to_get;
    }
}

void RegsyncBitmap::post_reset(CPUState& cpu, const ArchSync& arch) {
    arch.kvm_arch_put_registers(cpu, SyncLevel::Reset);
    cpu.kvm_vcpu_dirty &= ~KVM_REGSYNC_RESET_STATE;
}

void RegsyncBitmap::post_init(CPUState& cpu, const ArchSync& arch) {
    arch.kvm_arch_put_registers(cpu, SyncLevel::Full);
    cpu.kvm_vcpu_dirty &= ~KVM_REGSYNC_FULL_STATE;
}

void RegsyncBitmap::pre_run(CPUState& cpu, const ArchSync& arch) {
    if (!cpu.kvm_vcpu_dirty) return;
    if (fixed_) {
        arch.put(cpu, regs_of(arch, cpu.kvm_vcpu_dirty), PutOptions{highest(cpu.kvm_vcpu_dirty)});
        cpu.kvm_vcpu_dirty = 0;
    } else {
        arch.kvm_arch_put_registers(cpu, SyncLevel::Runtime);
        cpu.kvm_vcpu_dirty &= ~KVM_REGSYNC_RUNTIME_STATE;
    }
}

}  // namespace regsync::model

#include "model/policies/qemu_levels.h"

namespace regsync::model {

void QemuLevels::synchronize_state(CPUState& cpu, const ArchSync& arch) {
    if (!cpu.kvm_vcpu_dirty) {
        arch.kvm_arch_get_registers(cpu);
        cpu.kvm_vcpu_dirty = 1;
    }
}

void QemuLevels::post_reset(CPUState& cpu, const ArchSync& arch) {
    arch.kvm_arch_put_registers(cpu, SyncLevel::Reset);
    cpu.kvm_vcpu_dirty = 0;
}

void QemuLevels::post_init(CPUState& cpu, const ArchSync& arch) {
    arch.kvm_arch_put_registers(cpu, SyncLevel::Full);
    cpu.kvm_vcpu_dirty = 0;
}

void QemuLevels::pre_run(CPUState& cpu, const ArchSync& arch) {
    if (cpu.kvm_vcpu_dirty) {
        arch.kvm_arch_put_registers(cpu, SyncLevel::Runtime);
        cpu.kvm_vcpu_dirty = 0;
    }
}

}  // namespace regsync::model

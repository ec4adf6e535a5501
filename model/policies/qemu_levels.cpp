#include "model/policies/qemu_levels.h"

namespace regsync::model {

void QemuLevels::synchronize_state(CPUState& cpu, const ArchSync& arch) {
    if (!cpu.kvm_vcpu_dirty) {
        get_registers(cpu, arch);
        cpu.kvm_vcpu_dirty = 1;
    }
}

void QemuLevels::post_reset(CPUState& cpu, const ArchSync& arch) {
    put_registers(cpu, arch, SyncLevel::Reset);
    cpu.kvm_vcpu_dirty = 0;
}

void QemuLevels::post_init(CPUState& cpu, const ArchSync& arch) {
    put_registers(cpu, arch, SyncLevel::Full);
    cpu.kvm_vcpu_dirty = 0;
}

void QemuLevels::pre_run(CPUState& cpu, const ArchSync& arch) {
    if (cpu.kvm_vcpu_dirty) {
        put_registers(cpu, arch, SyncLevel::Runtime);
        cpu.kvm_vcpu_dirty = 0;
    }
}

}  // namespace regsync::model

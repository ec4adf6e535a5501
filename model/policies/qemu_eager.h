// `qemu-0.12-eager`: kvm-all.c before the writeback rework (the '-' lines
// of seed 000). kvm_arch_put_registers(env) has no level: every writeback
// puts all state, including the TSC and the paravirtual MSRs, also in
// kvm_cpu_exec at runtime; kvm_reset_vcpu() and vCPU init put explicitly
// (modelled by the post-reset and post-init hooks).
#pragma once
#include "model/policies/qemu_levels.h"

namespace regsync::model {

class QemuEager final : public QemuLevels {
public:
    std::string_view name() const override { return "qemu-0.12-eager"; }

protected:
    void put_registers(CPUState& cpu, const ArchSync& arch, SyncLevel) override {
        arch.put(cpu, arch.all(), PutOptions{SyncLevel::Full});
    }
};

}  // namespace regsync::model

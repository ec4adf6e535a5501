// `ppc-onereg-tsr`: qemu-levels, except that TSR is never written back
// blindly (seed 002, Alexander Graf 24 Jan 2013: "a special 'write to clear'
// ONE_REG register ... and a big hammer 'set' for reset only", Scott Wood:
// "a write-to-set version as well"). Userspace changes TSR only through
// KVM_REG_PPC_OR_TSR / KVM_REG_PPC_CLEAR_TSR, by difference at runtime and
// exactly at reset and loadvm; as today's target/ppc does.
#pragma once
#include "model/policies/qemu_levels.h"

namespace regsync::model {

class PpcOneregTsr final : public QemuLevels {
public:
    std::string_view name() const override { return "ppc-onereg-tsr"; }

protected:
    void get_registers(CPUState& cpu, const ArchSync& arch) override;
    void put_registers(CPUState& cpu, const ArchSync& arch, SyncLevel level) override;
};

}  // namespace regsync::model

// An in-process model of KVM for one VM with several vCPUs.
#pragma once
#include <memory>
#include <vector>

#include "fakekvm/arch_vcpu.h"
#include "fakekvm/fake_vcpu.h"
#include "fakekvm/kernel_config.h"
#include "model/arch.h"
#include "model/kvm_backend.h"
#include "sim/world.h"

namespace regsync::fakekvm {

struct VcpuSetup {
    bool bsp = false;
    GuestImage image;
    model::RegisterValues initial{};  // kernel register state at creation
};

class FakeVm final : public model::KvmVm {
public:
    FakeVm(sim::World& world, model::Arch arch, KernelConfig config, std::vector<VcpuSetup> vcpus);

    model::Arch arch() const override { return arch_; }
    int vcpu_count() const override { return static_cast<int>(vcpus_.size()); }
    FakeVcpu& vcpu(int index) override { return *vcpus_[static_cast<std::size_t>(index)]; }

    sim::World& world() { return world_; }
    const KernelConfig& config() const { return config_; }
    // kvm_synchronize_tsc(): the offset a host write of IA32_TSC = v gives
    // the vCPU (KernelConfig::tsc_sync_window).
    std::int64_t synchronize_tsc(std::uint64_t v);
    std::uint64_t state_hash() const;  // every vCPU's and the VM-wide TSC state
    const model::Catalogue& cat() const { return *cat_; }
    // The architecture's VM-wide kernel state (arm64, riscv64), else null.
    ArchVm* arch_vm() { return arch_vm_.get(); }
    // A VM ioctl (KVM_ARM_SET_COUNTER_OFFSET): -ENOTTY where none is modelled.
    int vm_ioctl(unsigned long request, void* arg);

private:
    sim::World& world_;
    model::Arch arch_;
    KernelConfig config_;
    // The VM-wide TSC state of kvm_synchronize_tsc(): the last host write
    // and when (in guest cycles), and the offset of the current generation.
    std::uint64_t last_tsc_write_ = 0, last_tsc_cycles_ = 0;
    std::int64_t cur_tsc_offset_ = 0;
    const model::Catalogue* cat_;
    std::unique_ptr<ArchVm> arch_vm_;  // before the vCPUs, which keep a part of it
    std::vector<std::unique_ptr<FakeVcpu>> vcpus_;
};

}  // namespace regsync::fakekvm

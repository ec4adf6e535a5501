// An in-process model of KVM for one VM with several vCPUs.
#pragma once
#include <memory>
#include <vector>

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
    const model::Catalogue& cat() const { return *cat_; }

private:
    sim::World& world_;
    model::Arch arch_;
    KernelConfig config_;
    const model::Catalogue* cat_;
    std::vector<std::unique_ptr<FakeVcpu>> vcpus_;
};

}  // namespace regsync::fakekvm

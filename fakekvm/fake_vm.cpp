#include "fakekvm/fake_vm.h"

namespace regsync::fakekvm {

FakeVm::FakeVm(sim::World& world, model::Arch arch, KernelConfig config, std::vector<VcpuSetup> vcpus)
    : world_(world), arch_(arch), config_(config), cat_(&model::catalogue(arch)) {
    for (std::size_t i = 0; i < vcpus.size(); ++i) {
        auto v = std::make_unique<FakeVcpu>(*this, static_cast<int>(i), vcpus[i].bsp, std::move(vcpus[i].image));
        v->init_state(vcpus[i].initial);
        vcpus_.push_back(std::move(v));
    }
}

}  // namespace regsync::fakekvm

// A fake VM driven inline (no fibers) for kernel-semantics tests: each test
// is a short story of ioctls, like a KVM selftest.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "fakekvm/fake_vm.h"
#include "model/catalogue.h"
#include "sim/world.h"

namespace regsync::testing {

struct InlineVm {
    sim::InlineScheduler sched;
    sim::World world{sched};
    fakekvm::FakeVm vm;

    InlineVm(model::Arch arch, fakekvm::InitSipi variant, std::vector<fakekvm::VcpuSetup> vcpus, fakekvm::KernelConfig cfg = {})
        : vm(world, arch, with_variant(cfg, variant), std::move(vcpus)) {}
    static fakekvm::KernelConfig with_variant(fakekvm::KernelConfig c, fakekvm::InitSipi v) {
        c.init_sipi = v;
        return c;
    }

    const model::Catalogue& cat() const { return vm.cat(); }
    model::RegIndex reg(const char* name) const { return *cat().find(name); }

    std::vector<sim::Event> events_of(sim::EventKind k) const {
        std::vector<sim::Event> out;
        std::copy_if(world.events().begin(), world.events().end(), std::back_inserter(out), [k](const sim::Event& e) { return e.kind == k; });
        return out;
    }
};

inline fakekvm::VcpuSetup x86_vcpu(bool bsp, fakekvm::GuestImage image = {}) {
    const auto& cat = model::catalogue(model::Arch::X86);
    auto regs = cat.reset_values(bsp);
    regs[static_cast<std::size_t>(cat.mp_state)] = KVM_MP_STATE_RUNNABLE;
    return {bsp, std::move(image), regs};
}

inline fakekvm::VcpuSetup ppc_vcpu(fakekvm::GuestImage image = {}) {
    return {true, std::move(image), model::catalogue(model::Arch::PpcBookE).reset_values(true)};
}

}  // namespace regsync::testing

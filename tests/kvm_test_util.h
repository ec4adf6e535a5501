// A fake VM driven inline (no fibers) for kernel-semantics tests: each test
// is a short story of ioctls, like a KVM selftest.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
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

namespace regsync::testing {

// A guest step's words, as the scenario parser splits them.
inline std::vector<std::string> step_words(const std::string& text) {
    std::vector<std::string> w;
    std::istringstream in(text);
    for (std::string x; in >> x;) w.push_back(x);
    return w;
}

// arm64 and riscv64 vCPUs as QEMU creates them: the boot CPU RUNNABLE, the
// others STOPPED (reset_values), with the given registers overridden.
inline fakekvm::VcpuSetup onereg_vcpu(model::Arch arch, bool bsp, fakekvm::GuestImage image = {}) {
    return {bsp, std::move(image), model::catalogue(arch).reset_values(bsp)};
}

// KVM_{GET,SET}_ONE_REG of a 64-bit register.
inline int get_one_reg(fakekvm::FakeVcpu& v, std::uint64_t id, std::uint64_t& out) {
    struct kvm_one_reg o{id, reinterpret_cast<__u64>(&out)};
    return v.ioctl(KVM_GET_ONE_REG, &o);
}
inline std::uint64_t one_reg(fakekvm::FakeVcpu& v, std::uint64_t id) {
    std::uint64_t x = ~0ULL;
    EXPECT_EQ(get_one_reg(v, id, x), 0) << std::hex << id;
    return x;
}
inline int set_one_reg(fakekvm::FakeVcpu& v, std::uint64_t id, std::uint64_t val) {
    struct kvm_one_reg o{id, reinterpret_cast<__u64>(&val)};
    return v.ioctl(KVM_SET_ONE_REG, &o);
}
inline std::uint32_t mp_state(fakekvm::FakeVcpu& v) {
    struct kvm_mp_state mp{};
    v.ioctl(KVM_GET_MP_STATE, &mp);
    return mp.mp_state;
}

}  // namespace regsync::testing

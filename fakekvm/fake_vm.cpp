#include "fakekvm/fake_vm.h"

#include "sim/rng.h"

namespace regsync::fakekvm {

FakeVm::FakeVm(sim::World& world, model::Arch arch, KernelConfig config, std::vector<VcpuSetup> vcpus)
    : world_(world), arch_(arch), config_(config), cat_(&model::catalogue(arch)) {
    for (std::size_t i = 0; i < vcpus.size(); ++i) {
        auto v = std::make_unique<FakeVcpu>(*this, static_cast<int>(i), vcpus[i].bsp, std::move(vcpus[i].image));
        v->init_state(vcpus[i].initial);
        vcpus_.push_back(std::move(v));
    }
}

std::uint64_t FakeVm::state_hash() const {
    std::uint64_t h = sim::hash_combine(last_tsc_write_, last_tsc_cycles_);
    h = sim::hash_combine(h, static_cast<std::uint64_t>(cur_tsc_offset_));
    for (const auto& v : vcpus_) h = sim::hash_combine(h, v->state_hash());
    return h;
}

std::int64_t FakeVm::synchronize_tsc(std::uint64_t v) {
    const std::uint64_t now = world_.now() * config_.tsc_per_tick;
    const std::int64_t offset = static_cast<std::int64_t>(v) - static_cast<std::int64_t>(now);
    if (config_.tsc_sync_window == 0) return offset;
    world_.write(sim::Obj::kClock);  // the VM-wide generation: every vCPU's TSC write depends on it
    const std::uint64_t expected = last_tsc_write_ + (now - last_tsc_cycles_);
    const std::uint64_t dist = v > expected ? v - expected : expected - v;
    const bool matched = v == 0 || dist < config_.tsc_sync_window;
    last_tsc_write_ = v;
    last_tsc_cycles_ = now;
    if (matched) return cur_tsc_offset_;
    cur_tsc_offset_ = offset;  // a new generation
    return offset;
}

}  // namespace regsync::fakekvm

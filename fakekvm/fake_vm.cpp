#include "fakekvm/fake_vm.h"

#include <cerrno>

#include "sim/rng.h"

namespace regsync::fakekvm {

FakeVm::FakeVm(sim::World& world, model::Arch arch, KernelConfig config, std::vector<VcpuSetup> vcpus)
    : world_(world), arch_(arch), config_(config), cat_(&model::catalogue(arch)) {
    arch_vm_ = make_arch_vm(*this);
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
    if (arch_vm_) h = sim::hash_combine(h, arch_vm_->state_hash());
    return h;
}

int FakeVm::vm_ioctl(unsigned long request, void* arg) { return arch_vm_ ? arch_vm_->vm_ioctl(request, arg) : -ENOTTY; }

std::unique_ptr<ArchVm> make_arch_vm(FakeVm& vm) {
    switch (vm.arch()) {
        case model::Arch::Arm64: return make_arm64_vm(vm);
        case model::Arch::Riscv64: return make_riscv64_vm(vm);
        default: return nullptr;
    }
}

std::optional<GuestStep> parse_arch_step(model::Arch arch, const std::vector<std::string>& words, std::size_t vcpus) {
    switch (arch) {
        case model::Arch::Arm64: return parse_arm64_step(words, vcpus);
        case model::Arch::Riscv64: return parse_riscv64_step(words, vcpus);
        default: return std::nullopt;
    }
}

std::string_view arch_writer_function(model::Arch arch, sim::Writer w) {
    switch (arch) {
        case model::Arch::Arm64: return arm64_writer_function(w);
        case model::Arch::Riscv64: return riscv64_writer_function(w);
        default: return "";
    }
}

bool requests_system_reset(model::Arch arch, const GuestStep& s) {
    switch (arch) {
        case model::Arch::Arm64: return arm64_requests_system_reset(s);
        case model::Arch::Riscv64: return riscv64_requests_system_reset(s);
        default: return false;
    }
}

std::string arch_step_names(model::Arch arch) {
    switch (arch) {
        case model::Arch::Arm64: return "read_cnt, wfi, arm_timer, psci_cpu_on, psci_cpu_off, psci_system_reset";
        case model::Arch::Riscv64: return "rdtime, wfi, set_timer, sbi_hart_start, sbi_hart_stop, sbi_ipi, sbi_system_reset";
        default: return "";
    }
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

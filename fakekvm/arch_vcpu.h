// The kernel side of an architecture beyond the x86 and Book-E code built
// into FakeVcpu: its ioctls, its guest steps, its requests serviced in the
// KVM_RUN loop, its timers. An architecture implements ArchVm (VM-wide
// state: counter offsets) and ArchVcpu (one vCPU's) in its own file
// (fakekvm/arm64.cpp, fakekvm/riscv64.cpp) and registers in make_arch_vm().
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fakekvm/guest_program.h"
#include "model/catalogue.h"
#include "sim/event.h"

namespace regsync::fakekvm {

class FakeVcpu;
class FakeVm;

class ArchVcpu {
public:
    virtual ~ArchVcpu() = default;
    // A vCPU ioctl the architecture answers itself (ONE_REG, MP_STATE, its
    // own); nullopt: not its own. Runs under vcpu->mutex.
    virtual std::optional<int> ioctl(unsigned long request, void* arg) = 0;
    // check_vcpu_requests() in each pass of the KVM_RUN loop, before the
    // guest runs (a pending reset).
    virtual void run_loop_requests() {}
    // What ends kvm_vcpu_block() besides a signal: a start request, an
    // interrupt. Read-only; the caller records the footprint.
    virtual bool wake_condition() const = 0;
    virtual void wake_footprint() const {}
    // A guest step of this architecture; returns the KVM_EXIT_* reason or 0.
    virtual int guest_step(const GuestStep& s) = 0;
    // WFI: sleep until an interrupt or a signal.
    virtual void halt() = 0;
    // A time-varying register (a counter): read and userspace write.
    virtual std::uint64_t counter(model::RegIndex r) const = 0;
    virtual void set_counter(model::RegIndex r, std::uint64_t v, sim::Writer who) = 0;
    // Once per tick of the virtual clock: the timers.
    virtual void clock_tick() {}
    virtual std::uint64_t state_hash() const = 0;
};

class ArchVm {
public:
    virtual ~ArchVm() = default;
    virtual std::unique_ptr<ArchVcpu> make_vcpu(FakeVcpu& v) = 0;
    // A VM ioctl (KVM_ARM_SET_COUNTER_OFFSET); -ENOTTY when not its own.
    virtual int vm_ioctl(unsigned long request, void* arg) = 0;
    virtual std::uint64_t state_hash() const = 0;
};

// nullptr for x86 and Book-E.
std::unique_ptr<ArchVm> make_arch_vm(FakeVm& vm);
std::unique_ptr<ArchVm> make_arm64_vm(FakeVm& vm);
std::unique_ptr<ArchVm> make_riscv64_vm(FakeVm& vm);

// Scenario text for the architecture's own guest steps ("psci_cpu_on 1
// 0x40100000"): the step, or nullopt when `op` is not one of them. Throws
// std::invalid_argument with the problem for a malformed one. `vcpus` is
// the scenario's vCPU count.
std::optional<GuestStep> parse_arch_step(model::Arch arch, const std::vector<std::string>& words, std::size_t vcpus);
std::optional<GuestStep> parse_arm64_step(const std::vector<std::string>& words, std::size_t vcpus);
std::optional<GuestStep> parse_riscv64_step(const std::vector<std::string>& words, std::size_t vcpus);
// Whether a guest step asks the machine for a system reset (an exit with
// KVM_SYSTEM_EVENT_RESET).
bool requests_system_reset(model::Arch arch, const GuestStep& s);
bool arm64_requests_system_reset(const GuestStep& s);
bool riscv64_requests_system_reset(const GuestStep& s);
// The names of the architecture's own steps, for an error message.
std::string arch_step_names(model::Arch arch);
// The kernel functions behind a kernel-side write of `w` on this
// architecture (regsync explain), or "" for the x86 and Book-E wording.
std::string_view arch_writer_function(model::Arch arch, sim::Writer w);
std::string_view arm64_writer_function(sim::Writer w);
std::string_view riscv64_writer_function(sim::Writer w);

}  // namespace regsync::fakekvm

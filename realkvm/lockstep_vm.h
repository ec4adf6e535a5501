// The fake kernel and a real VM in lockstep behind the ioctl surface the
// VMM model uses (regsync kvm-replay). The fake answers the VMM, so a
// trace's decisions replay exactly and the VMM does what the trace recorded;
// every vCPU ioctl also goes to the real kernel, in the same order (the
// simulation is the sequencer), and every state read is compared.
//
// The fake and the real guest represent some values differently (where the
// code is: rip and CS; the TSC's epoch), so a put carries, register by
// register, the real value read when the fake last held the value being put:
// a stale writeback on the fake is the same stale writeback on the real
// kernel. A value never read (a monitor write, a reset value) is put as it
// is. A real KVM_SET_SREGS is a read-modify-write of the kernel's struct: the
// catalogue names only some of its fields.
//
// Guest code: before the fake runs a guest step, the real vCPU runs the
// same step's real instructions one KVM_RUN at a time (on its own OS
// thread, KVM_GUESTDBG_SINGLESTEP), so both guests are at the same step
// whenever the VMM looks, and guest steps interleave across vCPUs as in the
// trace. At a HLT the real vCPU runs freely (HLT blocks in the kernel until
// INIT, SIPI or a kick) until the fake's guest goes on. Every real KVM_RUN
// is bounded: after 2 s the vCPU is kicked and the divergence noted.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness/scenario.h"
#include "model/catalogue.h"
#include "model/kvm_backend.h"
#include "sim/event.h"

#include "fakekvm/guest_program.h"
#include "fakekvm/guest_step_observer.h"

namespace regsync::fakekvm {
class FakeVm;
}

namespace regsync::realkvm {

class RealVm;
class LockstepVcpu;

// One register of one state read: the fake's value against the kernel's.
struct RegisterComparison {
    model::RegIndex reg = -1;
    std::uint64_t fake = 0, real = 0;
    // Why they may differ: "" (equal), "time" (IA32_TSC, the deadline),
    // "layout" (rip, CS: where the real code is), "scratch" (rax, rcx, rdx:
    // the real code's port writes and RDTSC use them), or "DIFFERS".
    std::string why;
};

// A step of the replay that observed state.
struct Observation {
    std::size_t position = 0;  // events the fake had logged by then
    std::uint32_t step = 0;
    sim::ActorId actor = sim::kNoActor;
    int vcpu = -1;
    std::string what;  // the ioctl, or "KVM_RUN exit"
    std::vector<RegisterComparison> regs;
    std::string fake_exit, real_exit;  // KVM_RUN only
    // When the two guests are not at the same step: where each is. The
    // real guest runs unsynchronised within a KVM_RUN (a kick lands where
    // it lands), so registers may differ for that reason alone.
    std::string progress;
};

// A guest RDTSC on a real vCPU, from the guest's RDTSC log: it happened
// after the KVM_RUN that ran it began (`from`) and before its exit (`to`),
// both as positions in the fake's event log.
struct RealTscRead {
    int vcpu = -1;
    std::uint64_t value = 0;
    std::size_t from = 0, to = 0;
};

struct LockstepResult {
    std::vector<Observation> observations;
    // What the real kernel showed, to be merged into the fake's event log at
    // the given positions for the oracle: userspace writes as put, kernel-side
    // changes as first seen by a state read, guest entries after SIPI.
    std::vector<std::pair<std::size_t, sim::Event>> real_events;
    std::vector<RealTscRead> tsc_reads;
    std::vector<model::RegisterValues> real_initial;  // each vCPU before the VMM's first put
    // Translated-value history (position, vcpu, reg, fake, real), so that
    // the VMM's intents can be put in the real kernel's terms; position 0:
    // where each vCPU's code starts.
    struct Pair {
        std::size_t position;
        int vcpu;
        model::RegIndex reg;
        std::uint64_t fake, real;
    };
    std::vector<Pair> pairs;
    std::vector<std::string> notes;  // divergences of the real run
};

class LockstepVm final : public model::KvmVm, public fakekvm::GuestStepObserver {
public:
    // nullptr and why when the scenario cannot run on real vCPUs (not x86,
    // code that real mode cannot encode) or no real VM can be created.
    static std::unique_ptr<LockstepVm> create(const harness::Scenario& s, std::string& why);
    ~LockstepVm() override;

    // ExecutionOptions::backend: wraps the execution's fake VM.
    model::KvmVm& attach(fakekvm::FakeVm& fake);

    // Real time per tick of the virtual clock (0: none): before each ioctl
    // the replay sleeps for the ticks since the last one, so that what is
    // seconds apart in the scenario is seconds apart on the real kernel
    // (kvm_synchronize_tsc() tells a TSC write by how stale it is).
    void set_tick(std::chrono::microseconds t) { tick_ = t; }
    void pace();

    model::Arch arch() const override { return model::Arch::X86; }
    int vcpu_count() const override { return static_cast<int>(vcpus_.size()); }
    model::KvmVcpu& vcpu(int index) override;
    void before_guest_step(int vcpu, std::size_t program, std::size_t step) override;
    void blocking(int vcpu) override;

    // After the run (`end_position`: the size of its event log, `end_step`
    // its last step): stops the real vCPUs and hands over what was seen.
    LockstepResult finish(std::size_t end_position, std::uint32_t end_step);

private:
    friend class LockstepVcpu;
    LockstepVm() = default;
    std::size_t position() const;
    // Where a vCPU's guest is, as "program P step K" (or "elsewhere").
    std::string fake_progress(int vcpu) const;
    std::string real_progress(int vcpu, const model::RegisterValues& real) const;
    std::uint64_t to_real(int vcpu, model::RegIndex r, std::uint64_t fake) const;
    void learn(int vcpu, model::RegIndex r, std::uint64_t fake, std::uint64_t real);

    struct Program {
        int vcpu;
        std::size_t index;
        std::uint64_t fake_entry, real_base, real_size;
        std::vector<std::uint16_t> offsets;  // where each step's real code begins
        std::vector<fakekvm::GuestOp> ops;
        int first_slot = 0;  // its first RDTSC log slot
    };
    const Program& program(int vcpu, std::size_t index) const;
    // (program, offset in its real code) of a real pc, if in a program.
    std::optional<std::pair<std::size_t, std::uint64_t>> locate(int vcpu, std::uint64_t pc) const;
    std::vector<Program> programs_;
    const model::Catalogue* cat_ = nullptr;
    std::chrono::microseconds tick_{0};
    std::uint64_t paced_ = 0;  // virtual time the real run has caught up with
    std::unique_ptr<RealVm> real_;
    fakekvm::FakeVm* fake_ = nullptr;
    std::vector<std::unique_ptr<LockstepVcpu>> vcpus_;
    LockstepResult out_;
};

// Registers whose fake and real values differ by representation.
bool is_translated(const model::Catalogue& c, model::RegIndex r);
// rax, rcx, rdx: the real code's port writes and RDTSC use them as scratch
// (the fake's abstract steps do not), so a change the real guest makes to
// them is not reported as a kernel-side write.
bool is_scratch(const model::Catalogue& c, model::RegIndex r);

}  // namespace regsync::realkvm

// Told before the fake executes each guest step, so that a real vCPU
// running the same code can follow step by step (realkvm/lockstep_vm.h).
#pragma once
#include <cstddef>

namespace regsync::fakekvm {

class GuestStepObserver {
public:
    virtual ~GuestStepObserver() = default;
    // `program` indexes the vCPU's guest image; `step` is the step about to
    // run, or the program's size for the idle HLT past its end.
    virtual void before_guest_step(int vcpu, std::size_t program, std::size_t step) = 0;
    // The vCPU is about to block in the kernel (kvm_vcpu_block: HLT, or
    // waiting for SIPI) until an event or a signal.
    virtual void blocking(int vcpu) = 0;
};

}  // namespace regsync::fakekvm

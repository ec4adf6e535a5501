// Abstract guest code: what a vCPU does inside KVM_RUN. Steps live at
// addresses (entry + i * step size) so that the guest's program counter IS
// the kernel's pc register: a reset or SIPI that moves pc moves the guest.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace regsync::fakekvm {

enum class GuestOp : std::uint8_t {
    Nop,
    Write,     // write reg = value (a guest instruction changing a register)
    Rdtsc,     // read the TSC into edx:eax and remember it
    AckTsr,    // write-one-to-clear bits of Book-E TSR (mtspr TSR)
    SendInit,  // ICR write: INIT to vCPU target
    SendSipi,  // ICR write: STARTUP with vector to vCPU target
    Hlt,
    Io,        // OUT to port: exits to userspace with KVM_EXIT_IO
    ArmDeadline,  // wrmsr IA32_TSCDEADLINE = TSC + value (LAPIC timer in TSC-deadline mode)
    Hypercall, // exits to userspace with KVM_EXIT_HYPERCALL, nr = value; the
               // VMM answers in a GPR through its register cache (as s390
               // DIAG handlers do), not through kvm_run
    Arch,      // a step of the architecture's own (arch_op: fakekvm/<arch>.cpp),
               // such as a PSCI or SBI call the kernel handles
};

struct GuestStep {
    GuestOp op = GuestOp::Nop;
    std::int16_t reg = -1;
    std::uint64_t value = 0;  // Write value, AckTsr bits, Io value, SIPI vector
    int target = -1;          // SendInit/SendSipi
    std::uint16_t port = 0;
    std::uint8_t arch_op = 0;  // GuestOp::Arch: which of the architecture's steps
    std::uint64_t value2 = 0;  // its second operand (PSCI CPU_ON context, HART_START opaque)
};

struct GuestProgram {
    std::uint64_t entry = 0;
    std::vector<GuestStep> steps;
};

// All code one vCPU can execute.
using GuestImage = std::vector<GuestProgram>;

std::string to_string(const GuestStep& s);

}  // namespace regsync::fakekvm

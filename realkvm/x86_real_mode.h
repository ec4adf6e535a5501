// Real x86 machine code for the abstract guest steps (fakekvm/guest_program.h),
// for running scenarios on real vCPUs.
//
// Mode: 16-bit real mode, chosen because an AP started by SIPI begins there
// (CS = vector << 8, IP = 0) and a BSP needs no descriptor tables. The host
// sets, through KVM_SET_SREGS before the first KVM_RUN: DS = 0 (the RDTSC
// log below 64 KiB) and ES base = 0xfee00000 (the local APIC page, reached
// with an es: override; real mode cannot address it otherwise). 32-bit
// operands use the 0x66 prefix; values are truncated to 32 bits.
//
//   nop                 90
//   write reg v         66 b8+r imm32           (eax..edi only)
//   rdtsc               0f 31; 66 a3 slot; 66 89 16 slot+4   (edx:eax to the next 8-byte slot of the log)
//   arm_tsc_deadline d  0f 31; 66 05 imm32; 66 83 d2 00; 66 b9 e0 06 00 00; 0f 30
//   send_init t         SVR = 0x1ff; ICR high = t << 24; ICR low = 0x4500 (INIT, assert)
//   send_sipi t v       SVR = 0x1ff; ICR high = t << 24; ICR low = 0x4600 | v (STARTUP)
//   hlt                 f4
//   io port v           ba port16; 66 b8 imm32; 66 ef   (OUT dx, eax: KVM_EXIT_IO, 4 bytes)
//   hypercall nr        as io to kHypercallPort: KVM handles VMCALL in the
//                       kernel and does not exit to userspace with it
//   (end of program)    f4; eb fd               (HLT forever, as in the fake)
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fakekvm/guest_program.h"

namespace regsync::realkvm {

inline constexpr std::uint16_t kHypercallPort = 0x511;
inline constexpr std::uint16_t kRdtscLog = 0x500;       // DS:0x500.., 8 bytes per RDTSC
inline constexpr std::uint64_t kApicBase = 0xfee00000;  // ES base

// What the guest's RDTSC numbered `slot` stored in the log (guest memory
// from GPA 0).
inline std::uint64_t rdtsc_log_slot(const std::uint8_t* guest_memory, int slot) {
    std::uint64_t v;
    std::memcpy(&v, guest_memory + kRdtscLog + 8 * slot, sizeof v);
    return v;
}

struct Encoded {
    std::vector<std::uint8_t> bytes;
    std::vector<std::uint16_t> step_offsets;  // where each abstract step begins
};

// Throws std::invalid_argument naming the step that real mode cannot encode
// (a register other than eax..edi, ack_tsr). `first_rdtsc_slot` numbers the
// RDTSC log slots across programs.
Encoded encode_real_mode(const std::vector<fakekvm::GuestStep>& steps, int& first_rdtsc_slot);

}  // namespace regsync::realkvm

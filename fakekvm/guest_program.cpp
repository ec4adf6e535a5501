#include "fakekvm/guest_program.h"

#include <cstdio>

namespace regsync::fakekvm {

std::string to_string(const GuestStep& s) {
    char buf[96];
    switch (s.op) {
        case GuestOp::Nop: return "nop";
        case GuestOp::Write: std::snprintf(buf, sizeof buf, "write reg%d 0x%llx", s.reg, static_cast<unsigned long long>(s.value)); return buf;
        case GuestOp::Rdtsc: return "rdtsc";
        case GuestOp::AckTsr: std::snprintf(buf, sizeof buf, "ack_tsr 0x%llx", static_cast<unsigned long long>(s.value)); return buf;
        case GuestOp::SendInit: std::snprintf(buf, sizeof buf, "send_init %d", s.target); return buf;
        case GuestOp::SendSipi: std::snprintf(buf, sizeof buf, "send_sipi %d 0x%llx", s.target, static_cast<unsigned long long>(s.value)); return buf;
        case GuestOp::Hlt: return "hlt";
        case GuestOp::ArmDeadline: std::snprintf(buf, sizeof buf, "arm_tsc_deadline %llu", static_cast<unsigned long long>(s.value)); return buf;
        case GuestOp::Hypercall: std::snprintf(buf, sizeof buf, "hypercall 0x%llx", static_cast<unsigned long long>(s.value)); return buf;
        case GuestOp::Io: std::snprintf(buf, sizeof buf, "io 0x%x 0x%llx", s.port, static_cast<unsigned long long>(s.value)); return buf;
        case GuestOp::Arch:
            std::snprintf(buf, sizeof buf, "arch_op %u %d 0x%llx 0x%llx", s.arch_op, s.target, static_cast<unsigned long long>(s.value),
                          static_cast<unsigned long long>(s.value2));
            return buf;
    }
    return "?";
}

}  // namespace regsync::fakekvm

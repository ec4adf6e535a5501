#include "realkvm/x86_real_mode.h"

#include <stdexcept>

#include "model/catalogue.h"

namespace regsync::realkvm {

namespace {

struct Out {
    std::vector<std::uint8_t>& b;
    void u8(unsigned v) { b.push_back(static_cast<std::uint8_t>(v)); }
    void u16(unsigned v) {
        u8(v & 0xff);
        u8((v >> 8) & 0xff);
    }
    void u32(std::uint64_t v) {
        u16(static_cast<unsigned>(v & 0xffff));
        u16(static_cast<unsigned>((v >> 16) & 0xffff));
    }
    void mov_r32(int r, std::uint64_t v) {  // 66 b8+r imm32
        u8(0x66);
        u8(0xb8 + static_cast<unsigned>(r));
        u32(v);
    }
    void apic_write(unsigned offset, std::uint32_t v) {  // mov dword es:[offset], imm32
        u8(0x26);
        u8(0x66);
        u8(0xc7);
        u8(0x06);
        u16(offset);
        u32(v);
    }
};

// kvm_regs order of the catalogue against the x86 register numbers.
int reg_number(std::int16_t reg) {
    const auto& cat = model::catalogue(model::Arch::X86);
    static const char* names[8] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi"};
    for (int i = 0; i < 8; ++i)
        if (cat.find(names[i]) == reg) return i;
    return -1;
}

}  // namespace

Encoded encode_real_mode(const std::vector<fakekvm::GuestStep>& steps, int& slot) {
    using fakekvm::GuestOp;
    Encoded e;
    Out o{e.bytes};
    for (const auto& s : steps) {
        e.step_offsets.push_back(static_cast<std::uint16_t>(e.bytes.size()));
        switch (s.op) {
            case GuestOp::Nop: o.u8(0x90); break;
            case GuestOp::Write: {
                const auto& cat = model::catalogue(model::Arch::X86);
                const auto& d = cat[s.reg];
                if (d.name == "cr3") {
                    o.mov_r32(0, s.value);
                    o.u8(0x0f), o.u8(0x22), o.u8(0xd8);  // mov cr3, eax
                    break;
                }
                if (d.access == model::Access::Msrs) {  // IA32_TSC too: a guest WRMSR
                    o.mov_r32(1, static_cast<std::uint32_t>(d.id));  // ecx = the MSR
                    o.mov_r32(0, s.value & 0xffffffffULL);
                    o.mov_r32(2, s.value >> 32);
                    o.u8(0x0f), o.u8(0x30);  // wrmsr
                    break;
                }
                const int r = reg_number(s.reg);
                if (r < 0)
                    throw std::invalid_argument("'write " + std::string(d.name) + "': real mode writes eax..edi, cr3 and MSRs only (" +
                                                std::string(model::to_string(d.access)) + " state is not a guest instruction)");
                o.mov_r32(r, s.value);
                break;
            }
            case GuestOp::Rdtsc: {
                const unsigned at = kRdtscLog + 8u * static_cast<unsigned>(slot++);
                o.u8(0x0f), o.u8(0x31);                        // rdtsc
                o.u8(0x66), o.u8(0xa3), o.u16(at);             // mov [at], eax
                o.u8(0x66), o.u8(0x89), o.u8(0x16), o.u16(at + 4);  // mov [at+4], edx
                break;
            }
            case GuestOp::ArmDeadline:
                o.u8(0x0f), o.u8(0x31);                         // rdtsc
                o.u8(0x66), o.u8(0x05), o.u32(s.value);         // add eax, imm32
                o.u8(0x66), o.u8(0x83), o.u8(0xd2), o.u8(0x00);  // adc edx, 0
                o.mov_r32(1, 0x6e0);                            // ecx = MSR_IA32_TSCDEADLINE
                o.u8(0x0f), o.u8(0x30);                         // wrmsr
                break;
            case GuestOp::SendInit:
            case GuestOp::SendSipi:
                o.apic_write(0xf0, 0x1ff);  // SVR: software-enable the local APIC first, as an OS does
                o.apic_write(0x310, static_cast<std::uint32_t>(s.target) << 24);  // ICR high: destination
                o.apic_write(0x300, s.op == GuestOp::SendInit ? 0x4500u : 0x4600u | static_cast<std::uint32_t>(s.value & 0xff));
                break;
            case GuestOp::Hlt: o.u8(0xf4); break;
            case GuestOp::Io:
            case GuestOp::Hypercall:
                o.u8(0xba), o.u16(s.op == GuestOp::Io ? s.port : kHypercallPort);  // mov dx, port
                o.mov_r32(0, s.value);                                              // mov eax, value
                o.u8(0x66), o.u8(0xef);                                             // out dx, eax
                break;
            case GuestOp::AckTsr: throw std::invalid_argument("'" + fakekvm::to_string(s) + "' is a Book-E step");
            case GuestOp::Arch: throw std::invalid_argument("'" + fakekvm::to_string(s) + "' is not an x86 step");
        }
    }
    o.u8(0xf4), o.u8(0xeb), o.u8(0xfd);  // hlt; jmp back to the hlt
    return e;
}

}  // namespace regsync::realkvm

// The register catalogue of one architecture, as data.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "model/arch.h"
#include "model/register_desc.h"

namespace regsync::model {

using RegIndex = std::int16_t;
inline constexpr std::size_t kMaxRegs = 64;

// A register file indexed by catalogue position: a plain value type.
using RegisterValues = std::array<std::uint64_t, kMaxRegs>;

struct Catalogue {
    Arch arch;
    std::vector<RegisterDesc> regs;
    RegIndex pc;        // x86: rip (pc = cs.base + rip); ppc: pc
    RegIndex cs_base;   // x86 only, -1 elsewhere
    RegIndex mp_state;  // x86 only
    RegIndex tsc;       // x86 only
    RegIndex tsr;       // ppc only
    RegIndex tsc_deadline;  // x86 only
    // Looked up once: the hot paths name these registers.
    RegIndex ret = -1;                 // hypercall result: x86 rax, ppc r3
    RegIndex rdx = -1;                 // x86: RDTSC's high half
    RegIndex exception_injected = -1;  // x86 kvm_vcpu_events
    RegIndex nmi_pending = -1;
    RegIndex tcr = -1, dec = -1;       // Book-E timer control and decrementer
    RegIndex tsc_adjust = -1;          // x86 IA32_TSC_ADJUST
    // What a start request (arm64 PSCI CPU_ON, riscv SBI HSM HART_START)
    // leaves pending on its target: a reset whose payload sets these
    // registers, serviced by the target (KVM_REQ_VCPU_RESET). -1: none.
    struct StartPayload {
        RegIndex pc = -1, arg0 = -1, arg1 = -1;
    } start_payload{};
    // What the architecture calls a start request, for messages.
    std::string_view start_request = "";
    // The MP states a vCPU waits in for a start request (arm64 and riscv
    // KVM_MP_STATE_STOPPED); 0 where INIT/SIPI plays that part.
    std::uint64_t stopped_mp_state = 0;

    std::optional<RegIndex> find(std::string_view name) const;
    const RegisterDesc& operator[](RegIndex i) const { return regs[static_cast<std::size_t>(i)]; }
    std::size_t size() const { return regs.size(); }
    RegisterValues reset_values(bool bsp) const;
    // Where the guest executes: x86 cs.base + rip, Book-E pc.
    std::uint64_t guest_pc(const RegisterValues& v) const;
    std::uint64_t reset_pc() const { return guest_pc(reset_values(true)); }
};

const Catalogue& catalogue(Arch a);
// Each architecture's own file (model/arm64.cpp, model/riscv64.cpp).
Catalogue make_arm64_catalogue();
Catalogue make_riscv64_catalogue();

// Book-E TSR bits (Power ISA 2.06, Book III-E).
namespace tsr {
inline constexpr std::uint64_t ENW = 1ULL << 31;  // enable next watchdog
inline constexpr std::uint64_t WIS = 1ULL << 30;  // watchdog interrupt status
inline constexpr std::uint64_t DIS = 1ULL << 27;  // decrementer interrupt status
inline constexpr std::uint64_t FIS = 1ULL << 26;  // fixed-interval interrupt status
inline constexpr std::uint64_t WRS_MASK = 3ULL << 28;  // watchdog reset status
std::optional<std::uint64_t> bit_from_name(std::string_view n);
}  // namespace tsr

}  // namespace regsync::model

// Small helpers shared by the architectures' own kernel files.
#pragma once
#include <linux/kvm.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "fakekvm/fake_vm.h"
#include "sim/footprint.h"
#include "sim/rng.h"

namespace regsync::fakekvm::arch_util {

// The pending-reset latch of a start request (arm64 PSCI CPU_ON, riscv SBI
// HSM HART_START): the payload (vcpu->arch.reset_state) and
// KVM_REQ_VCPU_RESET, kept apart because arm64's KVM_ARM_VCPU_INIT takes
// the one and leaves the other.
struct StartLatch {
    struct Payload {
        std::uint64_t pc = 0, arg = 0;
    };
    Payload payload;
    bool payload_valid = false;  // reset_state.reset
    bool requested = false;      // KVM_REQ_VCPU_RESET

    // On `target` as the sender's kernel code does it, under the target's
    // mp_state_lock (not vcpu->mutex): false when the target is not STOPPED.
    bool request(FakeVcpu& target, int from, std::uint64_t pc, std::uint64_t arg) {
        auto& w = target.vm().world();
        const auto mp = target.vm().cat().mp_state;
        if (target.get(mp) != KVM_MP_STATE_STOPPED) return false;
        w.write(sim::Obj::vcpu(target.index(), sim::Obj::kResetRequest));
        payload = {pc, arg};
        payload_valid = requested = true;
        target.set(mp, KVM_MP_STATE_RUNNABLE, sim::Writer::Init);  // and a wake-up: the block predicate sees it
        w.emit({.kind = sim::EventKind::StartRequested, .vcpu = static_cast<std::int16_t>(from),
                .aux = static_cast<std::uint32_t>(target.index()), .value = pc});
        return true;
    }
    // kvm_check_request(KVM_REQ_VCPU_RESET): true once per request.
    bool take_request(FakeVcpu& v) {
        auto& w = v.vm().world();
        w.read(sim::Obj::vcpu(v.index(), sim::Obj::kResetRequest));
        if (!requested) return false;
        w.write(sim::Obj::vcpu(v.index(), sim::Obj::kResetRequest));
        requested = false;
        return true;
    }
    // The payload, consumed by the reset that applies it.
    std::optional<Payload> take_payload(FakeVcpu& v) {
        v.vm().world().write(sim::Obj::vcpu(v.index(), sim::Obj::kResetRequest));
        if (!payload_valid) return std::nullopt;
        payload_valid = false;
        return payload;
    }
    std::uint64_t hash() const { return sim::hash_combine(sim::hash_combine(payload.pc, payload.arg), payload_valid | requested << 1); }
};

// A decimal or 0x number, all of the word; std::invalid_argument naming `what`.
inline std::uint64_t number(const std::string& w, const char* what) {
    std::size_t used = 0;
    unsigned long long v = 0;
    try {
        if (w.empty() || w[0] == '-' || w[0] == '+') throw std::invalid_argument(w);
        v = std::stoull(w, &used, 0);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != w.size() || w.empty()) throw std::invalid_argument(std::string("bad ") + what + " '" + w + "' (want a decimal or 0x number)");
    return v;
}

inline int vcpu_operand(const std::string& w, std::size_t vcpus) {
    const auto v = number(w, "vCPU index");
    if (v >= vcpus) throw std::invalid_argument("vCPU " + w + " does not exist (scenario has " + std::to_string(vcpus) + ")");
    return static_cast<int>(v);
}

inline void operands(const std::vector<std::string>& w, std::size_t lo, std::size_t hi) {
    if (w.size() - 1 < lo || w.size() - 1 > hi)
        throw std::invalid_argument("guest step '" + w[0] + "' takes " + (lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi)) +
                                    " operand(s)");
}

// KVM_{GET,SET}_ONE_REG's user buffer, by the size the id encodes.
inline bool one_reg_u64(const kvm_one_reg& o) { return (o.id & KVM_REG_SIZE_MASK) == KVM_REG_SIZE_U64; }
inline std::uint64_t one_reg_read(const kvm_one_reg& o) {
    std::uint64_t v = 0;
    std::memcpy(&v, reinterpret_cast<const void*>(o.addr), sizeof v);
    return v;
}
inline void one_reg_write(const kvm_one_reg& o, std::uint64_t v) { std::memcpy(reinterpret_cast<void*>(o.addr), &v, sizeof v); }

}  // namespace regsync::fakekvm::arch_util

// INIT and SIPI delivery (arch/x86/kvm/lapic.c) in both kernel variants.
#pragma once
#include <cstdint>

namespace regsync::fakekvm {

class FakeVcpu;
class FakeVm;

class Lapic {
public:
    // Guest of `from` writes the ICR with delivery mode INIT / STARTUP.
    static void send_init(FakeVm& vm, int from, int to);
    static void send_sipi(FakeVm& vm, int from, int to, std::uint32_t vector);
    // kvm_apic_accept_events(): run in the target's own context (its KVM_RUN
    // loop, and KVM_GET_MP_STATE). Only for InitSipi::ApicEvents.
    static void accept_events(FakeVcpu& v);
    // kvm_vcpu_reset(vcpu, init_event = true) for INIT.
    static void vcpu_reset(FakeVcpu& v);
    // kvm_vcpu_deliver_sipi_vector(): CS = vector << 8, base vector << 12, rip 0.
    static void deliver_sipi_vector(FakeVcpu& v, std::uint32_t vector);
    static bool has_events(const FakeVcpu& v);
};

}  // namespace regsync::fakekvm

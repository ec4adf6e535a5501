#include "fakekvm/lapic.h"

#include "fakekvm/fake_vm.h"
#include "sim/footprint.h"

namespace regsync::fakekvm {

using sim::Obj;
using sim::Writer;

void Lapic::send_init(FakeVm& vm, int from, int to) {
    auto& w = vm.world();
    auto& t = vm.vcpu(to);
    w.emit({.kind = sim::EventKind::InitSent, .vcpu = static_cast<std::int16_t>(from), .aux = static_cast<std::uint32_t>(to)});
    if (vm.config().init_sipi == InitSipi::MpState) {
        // Pre-3.10 APIC_DM_INIT: blind store into the target's mp_state;
        // the store is all the kernel does with it until SIPI.
        t.set(vm.cat().mp_state, KVM_MP_STATE_INIT_RECEIVED, Writer::Init);
        w.emit({.kind = sim::EventKind::InitAccepted, .vcpu = static_cast<std::int16_t>(to)});
    } else {
        w.write(Obj::vcpu(to, Obj::kApicEvents));
        // __apic_accept_irq(), APIC_DM_INIT: "pending_events = (1UL <<
        // KVM_APIC_INIT)", a store that drops a SIPI still pending (the
        // probe sees it on the real kernel).
        if (t.apic_sipi_pending)
            w.emit({.kind = sim::EventKind::SipiDropped, .vcpu = static_cast<std::int16_t>(to), .aux = 1});
        t.apic_sipi_pending = false;
        t.apic_init_pending = true;
    }
    // kvm_vcpu_kick() follows: it forces a VM exit or ends kvm_vcpu_block()
    // but stays in the kernel. The target's run loop re-checks its state at
    // every step and its block predicate sees the change, so no more is needed.
}

void Lapic::send_sipi(FakeVm& vm, int from, int to, std::uint32_t vector) {
    auto& w = vm.world();
    auto& t = vm.vcpu(to);
    w.emit({.kind = sim::EventKind::SipiSent, .vcpu = static_cast<std::int16_t>(from), .aux = static_cast<std::uint32_t>(to), .value = vector});
    if (vm.config().init_sipi == InitSipi::MpState) {
        // Pre-3.10 APIC_DM_STARTUP: only a vCPU in INIT_RECEIVED takes it.
        if (const auto mp = t.get(vm.cat().mp_state); mp != KVM_MP_STATE_INIT_RECEIVED) {
            w.emit({.kind = sim::EventKind::SipiDropped, .vcpu = static_cast<std::int16_t>(to), .value = mp});
            return;
        }
        t.set(vm.cat().mp_state, KVM_MP_STATE_SIPI_RECEIVED, Writer::Init);
        t.apic_sipi_vector = vector;
    } else {
        w.write(Obj::vcpu(to, Obj::kApicEvents));
        t.apic_sipi_vector = vector;
        t.apic_sipi_pending = true;
    }
}

bool Lapic::has_events(const FakeVcpu& v) { return v.apic_init_pending || v.apic_sipi_pending; }

void Lapic::accept_events(FakeVcpu& v) {
    auto& vm = v.vm_;
    vm.world().read(Obj::vcpu(v.index(), Obj::kApicEvents));
    if (!has_events(v)) return;
    vm.world().write(Obj::vcpu(v.index(), Obj::kApicEvents));
    const auto mp = vm.cat().mp_state;
    const auto me = static_cast<std::int16_t>(v.index());
    if (v.apic_init_pending) {
        v.apic_init_pending = false;
        vm.world().emit({.kind = sim::EventKind::InitAccepted, .vcpu = me});
        vcpu_reset(v);
        // The BSP never waits for SIPI: it starts over directly (seed 003).
        v.set(mp, v.bsp() ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_INIT_RECEIVED, Writer::Init);
    }
    if (v.apic_sipi_pending) {
        v.apic_sipi_pending = false;
        // A SIPI to a vCPU not waiting for one is dropped, as on hardware.
        if (const auto state = v.get(mp); state == KVM_MP_STATE_INIT_RECEIVED) {
            vm.world().emit({.kind = sim::EventKind::SipiAccepted, .vcpu = me, .value = v.apic_sipi_vector});
            deliver_sipi_vector(v, v.apic_sipi_vector);
            v.set(mp, KVM_MP_STATE_RUNNABLE, Writer::Init);
        } else {
            vm.world().emit({.kind = sim::EventKind::SipiDropped, .vcpu = me, .value = state});
        }
    }
}

void Lapic::vcpu_reset(FakeVcpu& v) {
    const auto& cat = v.cat();
    const auto reset = cat.reset_values(v.bsp());
    for (std::size_t i = 0; i < cat.size(); ++i) {
        const auto& d = cat.regs[i];
        // INIT leaves MSRs (including the TSC), the APIC base and mp_state
        // (set by the caller) alone.
        if (d.access == model::Access::Msrs || d.access == model::Access::MpState || d.name == "apic_base") continue;
        v.set(static_cast<model::RegIndex>(i), reset[i], Writer::Init);
    }
}

void Lapic::deliver_sipi_vector(FakeVcpu& v, std::uint32_t vector) {
    const auto& cat = v.cat();
    v.set(*cat.find("cs.selector"), static_cast<std::uint64_t>(vector) << 8, Writer::Init);
    v.set(cat.cs_base, static_cast<std::uint64_t>(vector) << 12, Writer::Init);
    v.set(cat.pc, 0, Writer::Init);
}

}  // namespace regsync::fakekvm

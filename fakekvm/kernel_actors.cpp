#include "fakekvm/kernel_actors.h"

#include "fakekvm/fake_vm.h"
#include "model/catalogue.h"
#include "sim/rng.h"

namespace regsync::fakekvm {

void run_clock(FakeVm& vm, std::uint64_t ticks) {
    auto& w = vm.world();
    for (std::uint64_t i = 0; i < ticks; ++i) {
        w.sched().rest_next(sim::rest::kClock);  // i is now(): state
        w.sched().point();
        w.write(sim::Obj::kClock);
        w.tick();
        for (int v = 0; v < vm.vcpu_count(); ++v) vm.vcpu(v).timer_tick();
    }
}

void run_booke_timer(FakeVm& vm, int vcpu, const std::vector<TimerExpiry>& expiries) {
    auto& w = vm.world();
    auto& v = vm.vcpu(vcpu);
    const auto tsr = vm.cat().tsr;
    std::uint64_t k = 0;
    for (const auto& e : expiries) {
        const std::uint64_t rest = sim::hash_combine(sim::rest::kTimer, k++);
        // The guest arms its timers: none expires before it first runs.
        const auto due = [&] { return v.has_run && w.now() >= e.at_tick; };
        w.read(sim::Obj::vcpu(vcpu, sim::Obj::kTimer));
        w.read(sim::Obj::kClock);
        w.sched().rest_next(rest);
        if (!due()) w.sched().wait_until(due);
        w.sched().rest_next(rest);
        w.sched().point();
        w.read(sim::Obj::kClock);
        std::uint64_t bits = e.bits;
        if (bits == 0) {
            // Watchdog: first expiry sets ENW, the next (ENW already set) WIS.
            bits = (v.get(tsr) & model::tsr::ENW) ? model::tsr::WIS : model::tsr::ENW;
        }
        // kvmppc_set_tsr_bits(): an atomic OR into vcpu->arch.tsr, without vcpu->mutex.
        v.set(tsr, v.get(tsr) | bits, sim::Writer::Timer);
    }
}

}  // namespace regsync::fakekvm

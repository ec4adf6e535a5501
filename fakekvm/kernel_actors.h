// The kernel's asynchronous actors, each run as its own fiber: the virtual
// clock that drives the TSC, and the Book-E timer that sets TSR bits.
#pragma once
#include <cstdint>
#include <vector>

#include "sim/world.h"

namespace regsync::fakekvm {

class FakeVm;

// Advances virtual time one tick per step; the TSC follows it, and the
// LAPIC TSC-deadline timers that expire fire in the same step.
void run_clock(FakeVm& vm, std::uint64_t ticks);

struct TimerExpiry {
    std::uint64_t at_tick = 0;  // not before this virtual time, nor before the vCPU first runs
    std::uint64_t bits = 0;     // TSR bits set (DIS, FIS); 0 means watchdog
};

// Book-E timer of one vCPU (arch/powerpc/kvm/booke.c): the decrementer and
// fixed-interval timers set DIS/FIS; the watchdog sets ENW, then WIS.
void run_booke_timer(FakeVm& vm, int vcpu, const std::vector<TimerExpiry>& expiries);

}  // namespace regsync::fakekvm

// Partial-order reduction on small programs of plain actors, where the
// number of distinct behaviours is known by hand.
#include <gtest/gtest.h>

#include <boost/fiber/pooled_fixedsize_stack.hpp>

#include <functional>
#include <set>
#include <vector>

#include "sched/dpor.h"
#include "sched/fiber_scheduler.h"
#include "sim/world.h"

namespace regsync::testing {
namespace {

using sched::Reduction;
using sim::Obj;

struct Outcome {
    std::uint64_t schedules = 0;  // complete executions
    std::set<std::vector<int>> finals;
};

// Two writers race on one shared cell (each writes its id twice, the
// second write after a scheduling point); `bystanders` more actors each
// write only their own cell three times.
Outcome explore_program(int bystanders, Reduction red, std::uint32_t bound) {
    sched::Dpor dpor(red, bound);
    boost::fibers::pooled_fixedsize_stack stacks(64 * 1024);
    Outcome out;
    for (bool more = true; more;) {
        sched::FiberScheduler s(dpor.source(), 10000, stacks);
        sim::World w(s);
        s.attach(w);
        std::vector<int> cell(static_cast<std::size_t>(1 + bystanders), 0);
        std::vector<int> seen(2, -1);
        for (int id = 1; id <= 2; ++id)
            s.spawn("writer" + std::to_string(id), [&, id] {
                w.sched().point();
                w.write(Obj::kClock);  // any shared object
                cell[0] = id;
                w.sched().point();
                w.read(Obj::kClock);
                seen[static_cast<std::size_t>(id - 1)] = cell[0];
            });
        for (int b = 1; b <= bystanders; ++b)
            s.spawn("bystander" + std::to_string(b), [&, b] {
                for (int k = 0; k < 3; ++k) {
                    w.sched().point();
                    w.write(Obj::vcpu(b, 0));
                    ++cell[static_cast<std::size_t>(b)];
                }
            });
        const auto r = s.run();
        more = dpor.next(w.steps());
        if (r.end == sched::RunEnd::Pruned) continue;
        ++out.schedules;
        std::vector<int> fin{cell[0], seen[0], seen[1]};
        out.finals.insert(fin);
    }
    return out;
}

TEST(Dpor, CountDoesNotChangeWhenIndependentActorsAreAdded) {
    const auto base = explore_program(0, Reduction::Dpor, 100);
    for (int extra : {1, 2, 3}) {
        SCOPED_TRACE(extra);
        const auto more = explore_program(extra, Reduction::Dpor, 100);
        EXPECT_EQ(more.schedules, base.schedules);
        EXPECT_EQ(more.finals, base.finals);
    }
    // Plain enumeration grows with every bystander.
    EXPECT_LT(explore_program(0, Reduction::None, 100).schedules, explore_program(1, Reduction::None, 100).schedules);
}

TEST(Dpor, ReachesEveryOutcomeThatPlainEnumerationReaches) {
    for (int extra : {0, 1}) {
        const auto plain = explore_program(extra, Reduction::None, 100);
        for (auto red : {Reduction::Sleep, Reduction::Dpor}) {
            const auto reduced = explore_program(extra, red, 100);
            EXPECT_EQ(reduced.finals, plain.finals);
            EXPECT_LE(reduced.schedules, plain.schedules);
        }
    }
    // The writers' accesses conflict pairwise: four orders of the two
    // writes and the two reads are distinguishable (last writer, what each
    // read back), and DPOR runs one schedule for each. (Unbounded: under a
    // bound, even one never reached, a sleeper that may cost a preemption
    // more than the schedule it stands for stays awake.)
    const auto d = explore_program(0, Reduction::Dpor, sched::kUnbounded);
    EXPECT_EQ(d.finals.size(), d.schedules);
}

TEST(Dpor, ThePreemptionBoundLimitsEveryReduction) {
    for (auto red : {Reduction::None, Reduction::Sleep, Reduction::Dpor}) {
        const auto none = explore_program(0, red, 0);
        const auto all = explore_program(0, red, 100);
        EXPECT_LT(none.finals.size(), all.finals.size());
        EXPECT_GE(none.schedules, 1u);
    }
}

// Two actors take one mutex around a write each. The sections conflict
// when both write the shared cell; `outside`: actor 1 also writes a cell
// before its section, which actor 2 reads after its own.
Outcome explore_locks(Reduction red, bool sections_conflict, bool outside) {
    sched::Dpor dpor(red, sched::kUnbounded);
    boost::fibers::pooled_fixedsize_stack stacks(64 * 1024);
    constexpr std::uint32_t kMutex = Obj::kBql;
    Outcome out;
    for (bool more = true; more;) {
        sched::FiberScheduler s(dpor.source(), 10000, stacks);
        sim::World w(s);
        s.attach(w);
        bool held = false;
        int shared = 0, before = 0, seen = -1;
        const auto lock = [&] {
            w.sched().point();
            w.lock_attempt(kMutex);
            if (held) w.sched().wait_until([&] { return !held; });
            held = true;
            w.acquired(kMutex);
        };
        const auto unlock = [&] {
            w.released(kMutex);
            held = false;
        };
        s.spawn("one", [&] {
            if (outside) {
                w.sched().point();
                w.write(Obj::vcpu(1, 0));
                before = 1;
            }
            lock();
            w.write(sections_conflict ? Obj::vcpu(0, 1) : Obj::vcpu(1, 1));
            if (sections_conflict) shared = 1;
            unlock();
        });
        s.spawn("two", [&] {
            lock();
            w.write(sections_conflict ? Obj::vcpu(0, 1) : Obj::vcpu(2, 1));
            if (sections_conflict) shared = 2;
            unlock();
            if (outside) {
                w.sched().point();
                w.read(Obj::vcpu(1, 0));
                seen = before;
            }
        });
        const auto r = s.run();
        more = dpor.next(w.steps());
        if (r.end == sched::RunEnd::Pruned) continue;
        ++out.schedules;
        out.finals.insert({shared, seen});
    }
    return out;
}

TEST(LockAware, DoesNotReorderSectionsThatCommute) {
    const auto dpor = explore_locks(Reduction::Dpor, false, false);
    const auto aware = explore_locks(Reduction::LockAware, false, false);
    EXPECT_EQ(aware.finals, dpor.finals);
    EXPECT_EQ(aware.schedules, 1u);
    EXPECT_GE(dpor.schedules, 2u);  // which section took the mutex first
}

TEST(LockAware, ReordersSectionsWhoseDataConflict) {
    const auto dpor = explore_locks(Reduction::Dpor, true, false);
    const auto aware = explore_locks(Reduction::LockAware, true, false);
    EXPECT_EQ(aware.finals, dpor.finals);
    EXPECT_EQ(aware.finals.size(), 2u);  // the last writer is either actor
}

TEST(LockAware, FindsTheRaceTheMutexOrderHidesOutsideTheSections) {
    // One's write before its section races with two's read after its own:
    // the mutex orders them only in one lock order, so the lock order is not
    // happens-before, and the race is reversed on its own.
    for (auto red : {Reduction::LockAware, Reduction::LockAwareBpor}) {
        const auto dpor = explore_locks(Reduction::Dpor, false, true);
        const auto aware = explore_locks(red, false, true);
        EXPECT_EQ(aware.finals, dpor.finals);
        EXPECT_EQ(aware.finals.size(), 2u);  // two read 0 or 1
    }
}

}  // namespace
}  // namespace regsync::testing

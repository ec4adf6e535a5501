// The deterministic fiber scheduler: the decision source is the only source
// of nondeterminism, blocked actors are unwound at quiescence, nothing leaks
// from one execution into the next.
#include <gtest/gtest.h>

#include "sched/fiber_scheduler.h"
#include "sim/world.h"

namespace regsync::testing {
namespace {

using sched::FiberScheduler;
using sched::RandomDecisions;
using sched::ReplayDecisions;

boost::fibers::pooled_fixedsize_stack stacks() { return boost::fibers::pooled_fixedsize_stack(64 * 1024); }

// Three actors each log their id at every step; returns the interleaving.
std::vector<int> interleave(sched::DecisionSource& d, std::vector<sim::ActorId>* trail = nullptr) {
    FiberScheduler s(d, 1000, stacks());
    sim::World w(s);
    s.attach(w);
    std::vector<int> log;
    for (int a = 0; a < 3; ++a)
        s.spawn(std::string("a").append(std::to_string(a)), [&, a] {
            for (int i = 0; i < 4; ++i) {
                w.sched().point();
                log.push_back(a);
            }
        });
    auto r = s.run();
    EXPECT_EQ(r.end, sched::RunEnd::Quiescent);
    if (trail) *trail = r.decisions;
    return log;
}

TEST(Scheduler, SameSeedSameInterleavingDifferentSeedsDiffer) {
    RandomDecisions a(7), b(7);
    const auto first = interleave(a);
    EXPECT_EQ(first.size(), 12u);
    EXPECT_EQ(first, interleave(b));
    int distinct = 0;
    for (std::uint64_t seed = 1; seed < 20; ++seed) {
        RandomDecisions c(seed);
        distinct += interleave(c) != first;
    }
    EXPECT_GT(distinct, 10);
}

TEST(Scheduler, ReplayFollowsTheRecordedChoices) {
    RandomDecisions r(99);
    std::vector<sim::ActorId> trail;
    const auto original = interleave(r, &trail);
    ASSERT_FALSE(trail.empty());
    ReplayDecisions replay(trail);
    EXPECT_EQ(interleave(replay), original);
    EXPECT_FALSE(replay.diverged());
    EXPECT_TRUE(replay.exhausted());
}

TEST(Scheduler, ReplayOfAnActorThatIsNotEnabledIsADivergence) {
    ReplayDecisions replay({2, 2, 2, 2, 2, 7});
    interleave(replay);
    EXPECT_TRUE(replay.diverged());
}

TEST(Scheduler, WaitUntilBlocksUntilAnotherActorMakesThePredicateTrue) {
    for (std::uint64_t seed = 0; seed < 50; ++seed) {
        RandomDecisions d(seed);
        FiberScheduler s(d, 1000, stacks());
        sim::World w(s);
        s.attach(w);
        bool flag = false;
        std::vector<std::string> log;
        s.spawn("waiter", [&] {
            w.sched().wait_until([&] { return flag; });
            log.push_back("woke");
        });
        s.spawn("setter", [&] {
            w.sched().point();
            log.push_back("set");
            flag = true;
        });
        auto r = s.run();
        EXPECT_EQ(r.end, sched::RunEnd::Quiescent);
        EXPECT_EQ(log, (std::vector<std::string>{"set", "woke"}));
    }
}

struct Guard {
    int* live;
    explicit Guard(int* l) : live(l) { ++*live; }
    ~Guard() { --*live; }
};

TEST(Scheduler, QuiescenceUnwindsBlockedActorsAndNamesThem) {
    RandomDecisions d(1);
    FiberScheduler s(d, 1000, stacks());
    sim::World w(s);
    s.attach(w);
    int live = 0;
    s.spawn("halted-forever", [&] {
        Guard g(&live);
        w.sched().wait_until([] { return false; });
        ADD_FAILURE() << "a wait that can never end must not return";
    });
    s.spawn("finishes", [&] { w.sched().point(); });
    auto r = s.run();
    EXPECT_EQ(r.end, sched::RunEnd::Quiescent);
    EXPECT_EQ(r.blocked, std::vector<std::string>{"halted-forever"});
    EXPECT_EQ(live, 0);  // its stack was unwound
}

TEST(Scheduler, StepLimitEndsALivelock) {
    RandomDecisions d(1);
    FiberScheduler s(d, 200, stacks());
    sim::World w(s);
    s.attach(w);
    s.spawn("spinner", [&] {
        for (;;) w.sched().point();
    });
    auto r = s.run();
    EXPECT_EQ(r.end, sched::RunEnd::StepLimit);
    EXPECT_EQ(w.step(), 200u);
}

TEST(Scheduler, AnExceptionInAnActorEndsTheExecutionWithItsMessage) {
    RandomDecisions d(1);
    FiberScheduler s(d, 1000, stacks());
    sim::World w(s);
    s.attach(w);
    s.spawn("thrower", [&] { throw std::runtime_error("boom"); });
    s.spawn("waiter", [&] { w.sched().wait_until([] { return false; }); });
    auto r = s.run();
    EXPECT_EQ(r.end, sched::RunEnd::ActorError);
    EXPECT_EQ(r.error, "thrower: boom");
}

TEST(Scheduler, ManyExecutionsOnOneThreadShareNothing) {
    std::vector<int> first;
    for (int i = 0; i < 200; ++i) {
        RandomDecisions d(3);
        const auto log = interleave(d);
        if (i == 0) first = log;
        ASSERT_EQ(log, first) << "execution " << i;
    }
}

}  // namespace
}  // namespace regsync::testing

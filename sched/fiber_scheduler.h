// Runs the actors of one execution as Boost.Fiber fibers in the calling OS
// thread. A custom boost::fibers::algo::algorithm asks a DecisionSource
// which enabled actor runs next; blocked actors stay out of the choice until
// their wait predicate holds. The execution ends at quiescence (no actor
// enabled) or at the step limit; blocked actors are then unwound.
#pragma once
#include <boost/fiber/pooled_fixedsize_stack.hpp>

#include <functional>
#include <string>
#include <vector>

#include "sched/decision_source.h"
#include "sim/scheduler.h"
#include "sim/world.h"

namespace boost::fibers {
class context;
}

namespace regsync::sched {

// Pruned: the decision source ended the execution as redundant.
enum class RunEnd { Quiescent, StepLimit, ActorError, Pruned };

struct RunResult {
    RunEnd end = RunEnd::Quiescent;
    std::vector<ActorId> decisions;        // choices made where >= 2 actors were enabled
    std::uint32_t preemptions = 0;         // choices that switched away from a runnable actor
    std::vector<std::string> blocked;      // actors still blocked at the end
    std::string error;                     // ActorError: what was thrown
};

class FiberScheduler final : public sim::Scheduler {
public:
    FiberScheduler(DecisionSource& decisions, std::uint32_t max_steps,
                   boost::fibers::pooled_fixedsize_stack stacks);
    ~FiberScheduler() override;

    void attach(sim::World& world) {
        world_ = &world;
        decisions_.attach(world);
    }
    ActorId spawn(std::string name, std::function<void()> body);
    const std::string& actor_name(ActorId a) const { return actors_[a].name; }
    std::size_t actor_count() const { return actors_.size(); }
    bool finished(ActorId a) const { return actors_[a].finished; }
    // Where every actor is: finished or not, waiting or not, the call site
    // it stopped at and how many steps it has taken (dfs --state-cache; the
    // sites are addresses, so the hash is only compared within one process).
    std::uint64_t actors_hash() const;
    // Where every actor rests (rest_next): 0 when one is not at a rest point.
    std::uint64_t rest_hash() const;

    void rest_next(std::uint64_t id) override;
    std::uint64_t pending_rest() const override { return current_ == sim::kNoActor ? 0 : actors_[current_].rest_next; }

    // Runs every spawned actor to the end of the execution.
    RunResult run();

    void point() override;
    void wait_until(sim::FunctionRef<bool()> pred) override;
    bool wait_or_stop(sim::FunctionRef<bool()> pred) override;
    bool stopping() const override { return shutdown_; }
    ActorId current() const override { return current_; }

    // Called by the Boost.Fiber algorithm.
    void on_awakened(boost::fibers::context* ctx);
    boost::fibers::context* on_pick_next();
    bool has_ready() const;

private:
    struct Actor {
        std::string name;
        std::function<void()> body;
        boost::fibers::context* ctx = nullptr;
        bool ready = false;
        bool finished = false;
        sim::FunctionRef<bool()> wait_pred;
        bool waiting = false;
        bool pred_true = false;  // last value seen of wait_pred
        std::uintptr_t site = 0;  // where in its code it last stopped (a return address)
        std::uint32_t steps = 0;  // steps it has taken
        std::uint64_t rest_next = 0;  // rest_next(): for its next scheduling point
        std::uint64_t rest = 0;       // the rest point it stopped at, 0 if none
    };
    ActorId decide(bool include_current);
    void stop_at(std::uintptr_t site);  // the current actor reached a scheduling point
    bool block(sim::FunctionRef<bool()> pred);  // false: woken by the end of the execution
    void end_execution();
    void actor_main(ActorId id);

    DecisionSource& decisions_;
    std::uint32_t max_steps_;
    boost::fibers::pooled_fixedsize_stack stacks_;
    sim::World* world_ = nullptr;
    std::vector<Actor> actors_;
    std::vector<boost::fibers::context*> system_;  // main and dispatcher contexts
    std::vector<ActorId> scratch_;
    ActorId current_ = sim::kNoActor;
    ActorId forced_ = sim::kNoActor;
    ActorId spawning_ = sim::kNoActor;
    bool shutdown_ = false;
    bool step_limit_ = false;
    bool pruned_ = false;
    std::string error_;
    std::vector<ActorId> trail_;
    std::uint32_t preemptions_ = 0;
};

}  // namespace regsync::sched

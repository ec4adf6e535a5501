#include "sched/fiber_scheduler.h"

#include <boost/fiber/algo/algorithm.hpp>
#include <boost/fiber/context.hpp>
#include <boost/fiber/fiber.hpp>
#include <boost/fiber/operations.hpp>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>

#include "sim/rng.h"

namespace regsync::sched {

namespace {

// Boost.Fiber keeps one scheduling algorithm per OS thread. This one holds
// the thread's main and dispatcher contexts itself and defers every choice
// between actors to the FiberScheduler running on that thread.
class DeterministicAlgorithm final : public boost::fibers::algo::algorithm {
public:
    DeterministicAlgorithm();
    ~DeterministicAlgorithm() override;

    void awakened(boost::fibers::context* ctx) noexcept override {
        if (ctx->is_context(boost::fibers::type::pinned_context) || sched == nullptr) system_.push_back(ctx);
        else sched->on_awakened(ctx);
    }
    boost::fibers::context* pick_next() noexcept override {
        if (sched != nullptr)
            if (auto* c = sched->on_pick_next()) return c;
        if (system_.empty()) return nullptr;
        auto* c = system_.front();
        system_.pop_front();
        return c;
    }
    bool has_ready_fibers() const noexcept override { return !system_.empty() || (sched != nullptr && sched->has_ready()); }
    void suspend_until(std::chrono::steady_clock::time_point const&) noexcept override {
        if (sched != nullptr) {
            // Every actor blocks through the scheduler, never on a Boost
            // primitive, so the dispatcher has nothing to sleep for.
            std::fputs("regsync: internal error: fiber dispatcher found nothing to run\n", stderr);
            std::abort();
        }
    }
    void notify() noexcept override {}

    FiberScheduler* sched = nullptr;

private:
    std::deque<boost::fibers::context*> system_;
};

// The algorithm installed on this thread (owned by Boost's scheduler).
thread_local DeterministicAlgorithm* tl_algorithm = nullptr;

DeterministicAlgorithm::DeterministicAlgorithm() { tl_algorithm = this; }
DeterministicAlgorithm::~DeterministicAlgorithm() { tl_algorithm = nullptr; }

DeterministicAlgorithm& thread_algorithm() {
    if (tl_algorithm == nullptr) boost::fibers::use_scheduling_algorithm<DeterministicAlgorithm>();
    return *tl_algorithm;
}

}  // namespace

FiberScheduler::FiberScheduler(DecisionSource& decisions, std::uint32_t max_steps,
                               boost::fibers::pooled_fixedsize_stack stacks)
    : decisions_(decisions), max_steps_(max_steps), stacks_(std::move(stacks)) {}

FiberScheduler::~FiberScheduler() = default;

ActorId FiberScheduler::spawn(std::string name, std::function<void()> body) {
    Actor a;
    a.name = std::move(name);
    a.body = std::move(body);
    actors_.push_back(std::move(a));
    return static_cast<ActorId>(actors_.size() - 1);
}

bool FiberScheduler::has_ready() const {
    for (const auto& a : actors_)
        if (a.ready) return true;
    return false;
}

ActorId FiberScheduler::decide(bool include_current) {
    scratch_.clear();
    for (std::size_t i = 0; i < actors_.size(); ++i) {
        const auto id = static_cast<ActorId>(i);
        auto& a = actors_[i];
        bool en;
        if (id == current_) {
            en = include_current;
        } else if (a.finished || !a.ready) {
            en = false;
        } else if (a.waiting && !shutdown_) {
            // Evaluated once per step: a change means the step that just
            // ended enabled (or disabled) this waiter.
            en = a.wait_pred();
            if (en != a.pred_true) {
                a.pred_true = en;
                world_->write(sim::Obj::wake(id));
            }
        } else {
            en = true;
        }
        if (en) scratch_.push_back(id);
    }
    if (scratch_.empty()) return sim::kNoActor;
    // Unwinding after the end is not part of the schedule.
    if (shutdown_ || (scratch_.size() == 1 && !decisions_.observes_every_point())) return scratch_.front();
    const ActorId cur = include_current ? current_ : sim::kNoActor;
    const ActorId a = decisions_.choose(scratch_, cur);
    if (a == sim::kNoActor) {
        pruned_ = true;
        end_execution();
        return scratch_.front();  // it unwinds at once
    }
    if (scratch_.size() == 1) return a;
    trail_.push_back(a);
    preemptions_ += cur != sim::kNoActor && a != cur;
    return a;
}

void FiberScheduler::on_awakened(boost::fibers::context* ctx) {
    for (auto& a : actors_)
        if (a.ctx == ctx) {
            a.ready = true;
            return;
        }
    // A fiber launched with launch::post is awakened from its constructor.
    actors_[spawning_].ctx = ctx;
    actors_[spawning_].ready = true;
}

boost::fibers::context* FiberScheduler::on_pick_next() {
    ActorId a = forced_;
    forced_ = sim::kNoActor;
    if (a == sim::kNoActor) a = decide(false);
    current_ = a;
    if (a == sim::kNoActor) return nullptr;
    actors_[a].ready = false;
    ++actors_[a].steps;
    world_->begin_step(a);
    return actors_[a].ctx;
}

std::uint64_t FiberScheduler::actors_hash() const {
    std::uint64_t h = 0;
    for (const auto& a : actors_)
        h = sim::hash_combine(h, sim::hash_combine(a.site, static_cast<std::uint64_t>(a.steps) << 2 | a.finished << 1 | a.waiting));
    return h;
}

void FiberScheduler::rest_next(std::uint64_t id) {
    if (current_ != sim::kNoActor) actors_[current_].rest_next = id;
}

void FiberScheduler::stop_at(std::uintptr_t site) {
    Actor& a = actors_[current_];
    a.site = site;
    a.rest = a.rest_next;
    a.rest_next = 0;
}

std::uint64_t FiberScheduler::rest_hash() const {
    std::uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (const auto& a : actors_) {
        // Not started yet: resting at its entry.
        const std::uint64_t where = a.finished ? 1 : a.steps == 0 ? 2 : a.rest;
        if (where == 0) return 0;
        h = sim::hash_combine(h, sim::hash_combine(where, static_cast<std::uint64_t>(a.waiting)));
    }
    return h == 0 ? 1 : h;
}

void FiberScheduler::point() {
    if (shutdown_) throw sim::Shutdown{};
    stop_at(reinterpret_cast<std::uintptr_t>(__builtin_return_address(0)));
    if (world_->step() >= max_steps_) {
        step_limit_ = true;
        end_execution();
        throw sim::Shutdown{};
    }
    const ActorId next = decide(true);
    if (shutdown_) throw sim::Shutdown{};
    if (next == current_) {
        ++actors_[next].steps;
        world_->begin_step(next);
        return;
    }
    forced_ = next;
    boost::this_fiber::yield();
    if (shutdown_) throw sim::Shutdown{};
}

// Parks the current actor until pred holds; false when it was resumed
// because the execution ended instead.
bool FiberScheduler::block(sim::FunctionRef<bool()> pred) {
    Actor& self = actors_[current_];
    world_->read(sim::Obj::wake(current_));
    self.pred_true = false;
    self.waiting = true;
    self.wait_pred = pred;
    boost::this_fiber::yield();  // resumed only once pred holds, or at shutdown
    self.waiting = false;
    self.wait_pred = {};
    if (shutdown_) return false;
    world_->read(sim::Obj::wake(current_));
    return true;
}

void FiberScheduler::wait_until(sim::FunctionRef<bool()> pred) {
    if (shutdown_) throw sim::Shutdown{};
    if (pred()) {
        actors_[current_].rest_next = 0;
        return;
    }
    stop_at(reinterpret_cast<std::uintptr_t>(__builtin_return_address(0)));
    if (!block(pred)) throw sim::Shutdown{};
}

bool FiberScheduler::wait_or_stop(sim::FunctionRef<bool()> pred) {
    if (shutdown_) return false;
    if (pred()) {
        actors_[current_].rest_next = 0;
        return true;
    }
    stop_at(reinterpret_cast<std::uintptr_t>(__builtin_return_address(0)));
    return block(pred);
}

// From here on the actors are wound up: nothing they do is part of the
// execution (no events, no footprints).
void FiberScheduler::end_execution() {
    shutdown_ = true;
    if (world_) world_->end();
}

void FiberScheduler::actor_main(ActorId id) {
    try {
        actors_[id].body();
    } catch (const sim::Shutdown&) {
    } catch (const std::exception& e) {
        if (error_.empty()) error_ = actors_[id].name + ": " + e.what();
        end_execution();
    }
    actors_[id].finished = true;
}

RunResult FiberScheduler::run() {
    auto& algo = thread_algorithm();
    algo.sched = this;
    std::vector<boost::fibers::fiber> fibers;
    fibers.reserve(actors_.size());
    for (std::size_t i = 0; i < actors_.size(); ++i) {
        spawning_ = static_cast<ActorId>(i);
        fibers.emplace_back(boost::fibers::launch::post, std::allocator_arg, stacks_, [this, i] { actor_main(static_cast<ActorId>(i)); });
    }
    spawning_ = sim::kNoActor;
    RunResult result;
    for (;;) {
        boost::this_fiber::yield();  // back here only when no actor is enabled
        bool all_done = true;
        for (const auto& a : actors_) all_done = all_done && a.finished;
        if (all_done) break;
        if (!shutdown_) {
            for (const auto& a : actors_)
                if (!a.finished && a.waiting) result.blocked.push_back(a.name);
            end_execution();  // quiescent: wind up the blocked actors
        }
    }
    for (auto& f : fibers) f.join();
    algo.sched = nullptr;
    current_ = sim::kNoActor;
    result.decisions = std::move(trail_);
    result.preemptions = preemptions_;
    result.error = error_;
    result.end = !error_.empty() ? RunEnd::ActorError
                 : step_limit_ ? RunEnd::StepLimit
                 : pruned_     ? RunEnd::Pruned
                               : RunEnd::Quiescent;
    return result;
}

}  // namespace regsync::sched

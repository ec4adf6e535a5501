// Exhaustive search of the schedules of one scenario with partial-order
// reduction. Stateless: every execution starts from the initial state and
// follows a stored stack of choices, one node per scheduling step.
//
//   Reduction::None   every enabled actor at every step (plain bounded dfs)
//   Reduction::Sleep  the same, with sleep sets (Godefroid 1996): an actor
//                     already explored at a node sleeps in its siblings'
//                     subtrees until a step dependent on its own happens
//   Reduction::Dpor   dynamic partial-order reduction (Flanagan and
//                     Godefroid, POPL 2005) with sleep sets: after each
//                     execution, every pair of dependent steps of different
//                     actors not ordered by happens-before is a race, and the
//                     later actor is added to the backtrack set where the
//                     earlier step was taken, with the actors that can start
//                     the reversed order when the later actor's next step
//                     there is not the racing one (Abdulla et al.'s
//                     initials); a step that wakes a sleeper adds the actors
//                     that raced with the sleeper's step (Sleeper::raced).
//                     Under a preemption bound a sleeper sleeps only where
//                     the schedule that covers the ones it cuts fits the
//                     bound too (covered_within_bound)
//   Reduction::Bpor   the same race analysis without sleep sets: the
//                     reference for bounded search (Coons et al.)
//   Reduction::LockAware
//                     Dpor in which two critical sections of one mutex (the
//                     BQL, vcpu->mutex, a plugin lock) are not reordered
//                     unless their accesses other than the mutex conflict
//                     (Kokologiannakis et al., "Effective lock handling in
//                     stateless model checking", OOPSLA 2019). Which
//                     critical section took the lock first is then not a
//                     distinction: a race between two steps whose only
//                     conflicts are the mutex's own protocol (its acquire and
//                     release) and the waking of its waiter adds neither a
//                     backtrack point nor happens-before, so the data races
//                     around the two sections are found and reversed on
//                     their own. Preserves every reachable final state and
//                     every violation, given footprints that record every
//                     shared access; a read of a mutex outside its protocol
//                     (a trylock) stays an ordinary conflict.
//   Reduction::LockAwareBpor
//                     the same without sleep sets, for a preemption bound
//
// Dependence comes from the footprints the fake kernel and the VMM record
// (sim::StepRecord): two steps of different actors conflict when they touch
// one object and one of them writes it; enabling or disabling a waiting
// actor is a write of that actor's Obj::wake. Steps of one actor are ordered.
//
// The preemption bound (iterative context bounding, as CHESS does) is
// applied to every choice; a backtrack entry that would exceed it is also
// placed at the nearest earlier node where it does not (Coons, Musuvathi and
// McKinley, "Bounded partial-order reduction", OOPSLA 2013), since plain
// DPOR under a bound can miss races.
//
// Splitting (dfs under -j and --shard): the first `depth` branching nodes of
// every schedule are expanded in full (every enabled actor, sleep sets still
// applied) and the subtree below each such prefix is a task, numbered in
// depth-first order. A race found in a subtree never needs a backtrack point
// in the expanded prefix, so the tasks are independent: each worker runs the
// whole prefix exploration (cheap) and only its own tasks' subtrees. The
// union over workers is the same set of schedules whatever the workers.
#pragma once
#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <memory>
#include <unordered_map>
#include <vector>

#include "sched/decision_source.h"
#include "sim/footprint.h"
#include "sim/object_slots.h"

namespace regsync::sched {

enum class Reduction { None, Sleep, Dpor, Bpor, LockAware, LockAwareBpor };

// The reductions that the state cache makes stateful DPOR (states only at
// rest points, and summaries of cut subtrees): those with races and sleep
// sets. None and Sleep cache every state; Bpor and LockAwareBpor cannot.
inline bool stateful_dpor(Reduction r) { return r == Reduction::Dpor || r == Reduction::LockAware; }

inline constexpr std::uint32_t kUnbounded = 0xffffffffu;

// Stateful caching (dfs --state-cache). With None and Sleep: at every new
// scheduling point the whole state is hashed (the kernel's and the VMM's
// state, each actor's call site and step count, the main loop's progress,
// what the oracle keeps of the history); a state seen before with the same
// preemptions spent and the same running actor is not explored again. Not
// a proof: an actor's locals beyond its call site and step count are not
// in the hash, and two states may collide (64-bit hash: with n states the
// chance of any collision is about n^2 / 2^65, 3e-8 for a million).
//
// With Dpor and LockAware (stateful_dpor), stateful DPOR: a state exists
// only where every actor rests (sim::Scheduler::rest_next: a scheduling point after which an
// actor depends on nothing but the shared state), so it leaves out how each
// actor got there, and its locals are none. A revisit is cut by
// Godefroid's sleep-set rule, and only once the first visit is explored in
// full (a state still on the stack, a cycle, is explored again). What DPOR
// would have learnt below the cut, the races of the subtree's steps with
// this prefix, comes from the first visit's summary: every access made
// below it, by actor. An access of actor p races with a prefix step i of
// another actor that conflicts with it unless i happens before p's last
// step, and is reversed at i by every actor enabled there (p's racing step
// may need other steps first), after Yang, Chen, Gopalakrishnan and Kirby,
// "Efficient stateful dynamic partial order reduction" (SPIN 2008), with a
// coarser summary. Only the prefix's last write of an object and the reads
// since meet it, as in the race analysis of a whole execution. LockAware:
// a race on a mutex's protocol alone is reversed only where the section
// around i does not commute with everything p does below the cut.
// Unbounded, the key is the state alone; under a preemption bound it also
// holds the preemptions spent and the running actor. Sound given rest points
// that keep their promise and no 64-bit collision; checked against sleep
// sets alone and plain bounded dfs in the tests.
struct Split {
    std::uint32_t depth = 0;                  // branching nodes expanded in full; 0: no split
    std::function<bool(std::uint64_t)> ours;  // the tasks this worker runs (all if empty)
};

class Dpor {
public:
    Dpor(Reduction r, std::uint32_t preemption_bound, Split split = {}, bool state_cache = false)
        : reduction_(r), bound_(preemption_bound), split_(std::move(split)), state_cache_(state_cache) {}

    // The decision source of the next execution: it replays the stack up to
    // the node being backtracked, then extends it.
    DecisionSource& source() { return source_; }

    // After each execution: `steps` are its footprints (record_footprints
    // on). Returns false once every schedule has been explored.
    bool next(const std::vector<sim::StepRecord>& steps);

    // Executions ended early because every enabled actor was asleep.
    std::uint64_t sleep_blocked() const { return sleep_blocked_; }

    // Splitting: the task of the execution `next` was last given, whether
    // it was another worker's (then it was cut where its subtree begins and
    // counts for nothing here), and the task the next execution belongs to.
    std::uint64_t last_task() const { return last_task_; }
    bool last_foreign() const { return last_foreign_; }
    std::uint64_t next_task() const { return task_; }

    // --state-cache: states stored, and executions cut at a state seen before.
    std::uint64_t states() const { return visited_.size(); }
    std::uint64_t revisits() const { return revisits_; }

    struct Sleeper {
        ActorId actor;
        // The step it would take; shared, since a sleeper is copied into
        // every node below while it stays asleep.
        std::shared_ptr<const std::vector<sim::Access>> fp;
        // Whether it could go on after that step (it reached a scheduling
        // point rather than blocking or ending): then the explored schedule
        // that stands for one where it runs later switches away from it once
        // more, which a preemption bound counts.
        bool continues = true;
        // The actors that races with this step added where it was taken.
        std::uint64_t raced = 0;
    };

private:
    using Mask = std::uint64_t;  // actor ids 0..63
    struct Node {
        Mask enabled = 0;
        ActorId current = sim::kNoActor;  // the actor that may go on without a preemption
        ActorId chosen = sim::kNoActor;
        std::uint32_t preemptions_before = 0;
        Mask backtrack = 0;
        Mask done = 0;
        std::vector<Sleeper> sleep;     // inherited from the parent
        std::vector<Sleeper> explored;  // done actors with the step each took here
        std::uint32_t branching_before = 0;  // nodes with >= 2 enabled actors above this one
        bool top = false;                    // in the prefix a split expands in full
        std::uint64_t state = 0;             // --state-cache: the state explored here, 0 if none
        std::uint32_t summary = 0;           // its summaries_ index
    };

    class Source final : public DecisionSource {
    public:
        explicit Source(Dpor& d) : d_(d) {}
        ActorId choose(const std::vector<ActorId>& enabled, ActorId current) override;
        void attach(const sim::World& w) override { world_ = &w; }
        void attach_state(std::function<std::uint64_t()> f) override { state_ = std::move(f); }
        bool observes_every_point() const override { return true; }

    private:
        Dpor& d_;
        const sim::World* world_ = nullptr;
        std::function<std::uint64_t()> state_;
        friend class Dpor;
    };

    bool sleep_sets() const { return reduction_ == Reduction::Sleep || reduction_ == Reduction::Dpor || reduction_ == Reduction::LockAware; }
    bool races() const { return reduction_ != Reduction::None && reduction_ != Reduction::Sleep; }
    bool lock_aware() const { return reduction_ == Reduction::LockAware || reduction_ == Reduction::LockAwareBpor; }
    ActorId extend(const std::vector<ActorId>& enabled, ActorId current, const sim::World& w);
    std::uint32_t cost(const Node& n, ActorId p) const;
    bool covered_within_bound(const Node& n, const Sleeper& s) const;
    // Step k's accesses, one entry per object, sorted: normalised once per
    // execution and shared by the sleep sets and the race analysis.
    const std::vector<sim::Access>& footprint(const std::vector<sim::StepRecord>& steps, std::size_t k);
    void add_backtrack(std::size_t i, ActorId p);
    void add_backtracks(std::size_t k, Mask actors);
    void reverse_at(std::size_t i, Mask actors);
    void add_where_last_enabled(std::size_t i, ActorId p);
    class LockSections;  // LockAware: which races are only a mutex's order
    void analyse_races(const std::vector<sim::StepRecord>& steps, LockSections* sections);
    Mask initials(const std::vector<sim::StepRecord>& steps, std::size_t i, std::size_t j, std::size_t actors) const;

    bool ours(std::uint64_t task) const { return !split_.ours || split_.ours(task); }

    Reduction reduction_;
    std::uint32_t bound_;
    Split split_;
    std::uint64_t task_ = 0, last_task_ = 0;
    bool last_foreign_ = false;
    bool state_cache_ = false;
    struct Visit {
        Mask asleep = 0;         // actors asleep at every exploration of the state so far
        std::uint32_t open = 0;  // explorations of it still on the stack (a cycle back to it is not cut)
        std::uint32_t summary = 0;  // index into summaries_ (stateful DPOR)
    };
    // Stateful DPOR (stateful_dpor with the cache): every access made in the
    // subtree below a state, by actor, deduplicated lazily. A
    // state's summary is complete once the state is explored in full: the
    // summaries of states below it, and of states cut there, flow up into it.
    struct SumAccess {
        // LockAware: how a mutex was touched (a data access otherwise)
        enum Kind : std::uint8_t { Data, Protocol, Reacquire };
        ActorId actor;
        std::uint32_t obj;
        bool write;
        Kind kind = Data;
        bool operator<(const SumAccess& o) const {
            return actor != o.actor ? actor < o.actor : obj != o.obj ? obj < o.obj : write != o.write ? write < o.write : kind < o.kind;
        }
        bool operator==(const SumAccess& o) const = default;
    };
    struct Summary {
        std::vector<SumAccess> v;
        std::size_t compacted = 0;
        void add(const SumAccess& a) {
            v.push_back(a);
            if (v.size() > 2 * std::max<std::size_t>(compacted, 256)) compact();
        }
        // v[0, compacted) is sorted and unique: sort what came after it and merge.
        void compact() {
            if (compacted == v.size()) return;
            const auto mid = v.begin() + static_cast<std::ptrdiff_t>(compacted);
            std::sort(mid, v.end());
            std::inplace_merge(v.begin(), mid, v.end());
            v.erase(std::unique(v.begin(), v.end()), v.end());
            compacted = v.size();
        }
        // Everything in `from`, which is compacted.
        void merge(const Summary& from) {
            compact();
            std::vector<SumAccess> out;
            out.reserve(v.size() + from.v.size());
            std::set_union(v.begin(), v.end(), from.v.begin(), from.v.end(), std::back_inserter(out));
            v.swap(out);
            compacted = v.size();
        }
    };
    std::vector<Summary> summaries_;
    std::uint32_t cut_summary_ = 0;  // the state the running execution was cut at (where its stack ends)
    void summary_races(const std::vector<sim::StepRecord>& steps, const std::vector<SumAccess>& sum, LockSections* sections);
    static void add_to_summary(Summary& sum, const sim::StepRecord& step, const std::vector<sim::Access>& fp);
    Summary* owner_summary(std::size_t k);  // the deepest state node at or above node k
    std::unordered_map<std::uint64_t, Visit> visited_;  // by state (lookup only: never iterated)
    std::uint64_t revisits_ = 0;
    bool cache_cut_ = false;  // the running execution reached a state seen before
    Source source_{*this};
    std::vector<Node> stack_;
    std::vector<std::vector<sim::Access>> footprints_;  // of the running execution: the first footprints_used_
    std::size_t footprints_used_ = 0;
    struct Scratch {  // analyse_races' buffers, kept from one execution to the next
        struct ObjState {
            std::int64_t last_write = -1;
            std::vector<std::uint32_t> reads;   // since the last write
            std::vector<std::uint32_t> writes;  // Obj::wake only: since the waiter last ran
        };
        std::vector<std::uint32_t> vc, actor_clock, deps, races;
        std::size_t actors = 0;  // vc's row width: the actors of the execution
        sim::ObjectSlots slots;      // the objects of the execution
        std::vector<ObjState> objs;  // by slot
        // LockSections: each critical section's accesses, by (first step, mutex)
        std::unordered_map<std::uint64_t, std::uint32_t> section_index;
        std::deque<std::vector<sim::Access>> section_pool;  // a deque: a section's reference outlives the next one's insertion
        std::size_t sections_used = 0;
        std::vector<sim::Access> section_all;
        struct {  // summary_races
            std::vector<std::int64_t> last;
            sim::ObjectSlots slots;
            std::vector<std::vector<std::pair<std::uint32_t, bool>>> by_obj;
            std::vector<std::vector<sim::Access>> below;
            std::vector<std::vector<std::uint32_t>> retaken;
            std::vector<Mask> racing_at;
        } summary;
    } scratch_;
    std::size_t replay_ = 0;  // nodes below this index are replayed
    std::size_t pos_ = 0;     // next node of the running execution
    bool pruned_ = false;
    ActorId cut_current_ = sim::kNoActor;  // where the running execution was cut: the actor that could go on
    std::uint64_t sleep_blocked_ = 0;
};

}  // namespace regsync::sched

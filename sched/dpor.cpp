#include "sched/dpor.h"

#include <algorithm>
#include <bit>
#include <optional>
#include <stdexcept>
#include <string>

#include "sim/rng.h"
#include "sim/world.h"

namespace regsync::sched {

namespace {

using Mask = std::uint64_t;

Mask bit(ActorId a) { return Mask{1} << a; }

// One entry per object, write if any access wrote it, sorted by object.
void normalise_into(std::vector<sim::Access>& out, const std::vector<sim::Access>& in) {
    out.assign(in.begin(), in.end());
    std::sort(out.begin(), out.end(), [](const sim::Access& a, const sim::Access& b) { return a.obj < b.obj; });
    std::size_t w = 0;
    for (std::size_t r = 0; r < out.size(); ++r) {
        if (w > 0 && out[w - 1].obj == out[r].obj) out[w - 1].write = out[w - 1].write || out[r].write;
        else out[w++] = out[r];
    }
    out.resize(w);
}

bool independent(const std::vector<sim::Access>& a, const std::vector<sim::Access>& b) {
    std::size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        if (a[i].obj < b[j].obj) ++i;
        else if (b[j].obj < a[i].obj) ++j;
        else {
            if (a[i].write || b[j].write) return false;
            ++i;
            ++j;
        }
    }
    return true;
}

// Whether the step touched mutex obj through its protocol (sim::LockOp).
bool in_protocol(const sim::StepRecord& step, std::uint32_t obj) {
    for (const auto& op : step.locks)
        if (op.obj == obj) return true;
    return false;
}

Mask asleep(const std::vector<Dpor::Sleeper>& sleep) {
    Mask m = 0;
    for (const auto& s : sleep) m |= bit(s.actor);
    return m;
}

}  // namespace

// LockAware: per step, where each actor stands with each mutex (free,
// trying, or holding it), and the critical section around a step: the
// actor's steps from the one that tried or took the mutex to the one that
// released it. Two sections commute when their accesses conflict on nothing
// but mutexes and the waking of waiters.
class Dpor::LockSections {
public:
    LockSections(Dpor& d, const std::vector<sim::StepRecord>& steps, std::size_t n) : d_(d), steps_(steps) {
        d_.scratch_.section_index.clear();
        d_.scratch_.sections_used = 0;
        for (std::size_t k = 0; k < n; ++k)
            for (const auto& op : steps[k].locks)
                if (std::find(locks_.begin(), locks_.end(), op.obj) == locks_.end()) locks_.push_back(op.obj);
        std::sort(locks_.begin(), locks_.end());
        const std::size_t L = locks_.size();
        before_.assign(n * L, 0);
        after_.assign(n * L, 0);
        prev_.assign(n, kNone);
        next_.assign(n, kNone);
        std::vector<std::size_t> last;      // per actor: its last step so far
        std::vector<std::uint8_t> state;    // per actor and mutex: 0 free, 1 trying, 2 held
        for (std::size_t k = 0; k < n; ++k) {
            const ActorId a = steps[k].actor;
            if (last.size() <= a) {
                last.resize(a + 1u, kNone);
                state.resize((a + 1u) * L, 0);
            }
            if (last[a] != kNone) {
                prev_[k] = last[a];
                next_[last[a]] = k;
            }
            last[a] = k;
            const auto st = state.begin() + static_cast<std::ptrdiff_t>(a * L);
            std::copy(st, st + static_cast<std::ptrdiff_t>(L), before_.begin() + static_cast<std::ptrdiff_t>(k * L));
            for (const auto& op : steps[k].locks) {
                const std::size_t l = index(op.obj);
                st[static_cast<std::ptrdiff_t>(l)] = op.kind == sim::LockOp::Attempt ? 1 : op.kind == sim::LockOp::Release ? 0 : 2;
            }
            std::copy(st, st + static_cast<std::ptrdiff_t>(L), after_.begin() + static_cast<std::ptrdiff_t>(k * L));
        }
    }

    // Whether the race of steps i < j is only the order of two critical
    // sections that commute.
    bool commuting_sections(std::size_t i, std::size_t j) {
        if (locks_.empty()) return false;
        const auto& a = d_.footprint(steps_, i);
        const auto& b = d_.footprint(steps_, j);
        bool lock_conflict = false, woke_waiter = false;
        auto& mutexes = mutexes_;
        mutexes.clear();
        for (std::size_t x = 0, y = 0; x < a.size() && y < b.size();) {
            if (a[x].obj < b[y].obj) ++x;
            else if (b[y].obj < a[x].obj) ++y;
            else {
                const std::uint32_t o = a[x].obj;
                if (a[x].write || b[y].write) {
                    if (sim::Obj::is_wake(o)) {
                        // the waking of a waiter: ordered by the sections it waits for,
                        // unless it waited for a condition
                        if (o == sim::Obj::wake(steps_[j].actor)) woke_waiter = true;
                    } else if (is_lock(o) && protocol(i, o) && protocol(j, o)) {
                        lock_conflict = true;
                        mutexes.push_back(o);
                    } else {
                        return false;  // a data conflict, or a mutex read outside its protocol
                    }
                }
                ++x;
                ++y;
            }
        }
        if (!lock_conflict) return false;
        for (std::uint32_t m : mutexes)
            if (woke_waiter && reacquired(j, m)) return false;
        for (std::uint32_t m : mutexes)
            if (!independent(section(i, m), section(j, m))) return false;
        return true;
    }

    bool is_lock(std::uint32_t obj) const { return std::binary_search(locks_.begin(), locks_.end(), obj); }
    // Whether step k touched mutex obj through its protocol only.
    bool protocol(std::size_t k, std::uint32_t obj) const { return in_protocol(steps_[k], obj); }
    // Whether the actor of step k still holds or waits for mutex m after
    // its last step: its section goes on past the steps seen.
    bool open_at_end(std::size_t k, std::uint32_t m) const {
        const std::size_t l = index(m);
        std::size_t last = k;
        while (next_[last] != kNone) last = next_[last];
        return after(last, l) != 0;
    }

    // The accesses of the section of mutex m around step k, mutexes and
    // wake objects left out.
    const std::vector<sim::Access>& section(std::size_t k, std::uint32_t m) {
        const std::size_t l = index(m);
        std::size_t first = k, last = k;
        while (before(first, l) != 0 && prev_[first] != kNone) first = prev_[first];
        while (after(last, l) != 0 && next_[last] != kNone) last = next_[last];
        // Cached for this execution in buffers kept from one to the next.
        auto& sc = d_.scratch_;
        const std::uint64_t key = static_cast<std::uint64_t>(first) << 32 | l;
        auto [it, fresh] = sc.section_index.try_emplace(key, static_cast<std::uint32_t>(sc.sections_used));
        if (!fresh) return sc.section_pool[it->second];
        if (sc.section_pool.size() <= sc.sections_used) sc.section_pool.emplace_back();
        auto& all = sc.section_all;
        all.clear();
        for (std::size_t s = first;; s = next_[s]) {
            for (const auto& acc : d_.footprint(steps_, s))
                if (!sim::Obj::is_wake(acc.obj) && !is_lock(acc.obj)) all.push_back(acc);
            if (s == last) break;
        }
        auto& out = sc.section_pool[sc.sections_used++];
        normalise_into(out, all);
        return out;
    }

private:
    static constexpr std::size_t kNone = ~std::size_t{0};

    std::size_t index(std::uint32_t obj) const {
        return static_cast<std::size_t>(std::lower_bound(locks_.begin(), locks_.end(), obj) - locks_.begin());
    }
    // Whether step k took mutex obj back after a condition wait: then the
    // condition's data let it go, and the waker may have written that data
    // outside any section.
    bool reacquired(std::size_t k, std::uint32_t obj) const {
        for (const auto& op : steps_[k].locks)
            if (op.obj == obj && op.kind == sim::LockOp::Reacquire) return true;
        return false;
    }
    std::uint8_t before(std::size_t k, std::size_t l) const { return before_[k * locks_.size() + l]; }
    std::uint8_t after(std::size_t k, std::size_t l) const { return after_[k * locks_.size() + l]; }

    Dpor& d_;
    const std::vector<sim::StepRecord>& steps_;
    std::vector<std::uint32_t> locks_;            // the mutexes of this execution, sorted
    std::vector<std::uint8_t> before_, after_;    // [step][mutex]: 0 free, 1 trying, 2 held
    std::vector<std::size_t> prev_, next_;        // the same actor's previous and next step
    std::vector<std::uint32_t> mutexes_;          // commuting_sections(): the mutexes of a race
};

const std::vector<sim::Access>& Dpor::footprint(const std::vector<sim::StepRecord>& steps, std::size_t k) {
    while (footprints_used_ <= k) {
        if (footprints_.size() <= footprints_used_) footprints_.emplace_back();
        normalise_into(footprints_[footprints_used_], steps[footprints_used_].accesses);
        ++footprints_used_;
    }
    return footprints_[k];
}

ActorId Dpor::Source::choose(const std::vector<ActorId>& enabled, ActorId current) {
    return d_.extend(enabled, current, *world_);
}

std::uint32_t Dpor::cost(const Node& n, ActorId p) const {
    return n.preemptions_before + ((n.current != sim::kNoActor && p != n.current) ? 1 : 0);
}

ActorId Dpor::extend(const std::vector<ActorId>& enabled, ActorId current, const sim::World& w) {
    Mask en = 0;
    for (ActorId a : enabled) {
        if (a >= 64) throw std::runtime_error("dfs: at most 64 actors per scenario");
        en |= bit(a);
    }
    if (w.steps().size() != pos_) throw std::logic_error("dfs: footprints are not recorded for every step");
    if (pos_ < replay_) {
        const Node& n = stack_[pos_];
        if (n.enabled != en || n.current != current)
            throw std::logic_error("dfs: the execution is not deterministic (step " + std::to_string(pos_) + ")");
        ++pos_;
        return n.chosen;
    }
    Node n;
    n.enabled = en;
    n.current = current;
    if (pos_ > 0) {
        const Node& parent = stack_[pos_ - 1];
        n.branching_before = parent.branching_before + (std::popcount(parent.enabled) >= 2 ? 1 : 0);
    }
    n.top = n.branching_before < split_.depth;
    if (!n.top && split_.depth > 0 && !ours(task_)) {
        pruned_ = true;  // another worker's subtree
        cut_current_ = current;
        return sim::kNoActor;
    }
    if (pos_ > 0) {
        const Node& parent = stack_[pos_ - 1];
        n.preemptions_before = cost(parent, parent.chosen);
        if (sleep_sets()) {
            // Sleepers stay asleep while the steps taken are independent of theirs.
            const auto& fp = footprint(w.steps(), pos_ - 1);
            for (const auto& s : parent.sleep) {
                if (s.actor == parent.chosen) continue;
                if (independent(*s.fp, fp)) {
                    n.sleep.push_back(s);
                } else if (races()) {
                    // The step taken wakes the sleeper. Schedules in which
                    // its step comes first are explored where it was; those
                    // in which it comes later, after a step it races with,
                    // are not: run those racing actors here too.
                    add_backtracks(pos_ - 1, s.raced & ~bit(parent.chosen));
                }
            }
            for (const auto& s : parent.explored)
                if (s.actor != parent.chosen && covered_within_bound(parent, s) && independent(*s.fp, fp)) n.sleep.push_back(s);
        }
    }
    if (state_cache_ && source_.state_) {
        // 0: not a state the cache compares (an actor is not at a rest point)
        if (const std::uint64_t s = source_.state_(); s != 0) {
            // Unbounded, the preemptions spent and who runs change nothing ahead.
            const std::uint64_t key = races() && bound_ == kUnbounded ? s : sim::hash_combine(s, static_cast<std::uint64_t>(n.preemptions_before) << 16 | current);
            const Mask sleeping = asleep(n.sleep);
            auto [it, fresh] = visited_.try_emplace(key, Visit{sleeping, 0, static_cast<std::uint32_t>(summaries_.size())});
            if (fresh && races()) summaries_.emplace_back();  // stateful DPOR only
            if (!fresh && it->second.open == 0) {
                // Godefroid's rule for sleep sets with state caching: a state
                // explored in full with fewer actors asleep covers every
                // continuation explorable now. Otherwise explore it again, and
                // remember the actors asleep both times. A state still being
                // explored (on the stack: a cycle) is explored again too.
                if ((it->second.asleep & ~sleeping) == 0) {
                    ++revisits_;
                    cache_cut_ = true;
                    pruned_ = true;
                    cut_current_ = current;
                    cut_summary_ = it->second.summary;
                    return sim::kNoActor;
                }
                it->second.asleep &= sleeping;
            }
            if (fresh || it->second.open == 0) {
                n.state = key;  // open once the node is on the stack
                n.summary = it->second.summary;
            }
        }
    }
    const Mask candidates = en & ~asleep(n.sleep);
    ActorId pick = sim::kNoActor;
    if (current != sim::kNoActor && (candidates & bit(current))) pick = current;
    else
        for (ActorId a : enabled)
            if ((candidates & bit(a)) && cost(n, a) <= bound_) {
                pick = a;
                break;
            }
    if (pick == sim::kNoActor) {
        pruned_ = true;  // every continuation is explored elsewhere, or over the bound
        cut_current_ = current;
        return sim::kNoActor;
    }
    n.chosen = pick;
    n.done = bit(pick);
    n.backtrack = races() && !n.top ? bit(pick) : en;
    if (n.state != 0) ++visited_.find(n.state)->second.open;
    stack_.push_back(std::move(n));
    ++pos_;
    return pick;
}

// Under a preemption bound, a sibling explored first at node n stands for
// the schedules below n.chosen in which its step runs later, after steps
// independent of it: E = q.w.p.v, with q = n.chosen, is covered by the
// explored E' = p.q.w.v. Only the switches at n, after p and around p's old
// place differ, so cost(E') - cost(E) is at most
//   [n.current -> p] - [n.current -> q] + [p could go on after its step].
// When that is <= 0, E' is within the bound whenever E is and p may sleep;
// otherwise it stays awake (a plain sleep set here can cut a schedule that
// only the bound then rules out: the states dpor missed at bound 1).
// Unbounded, every sleeper sleeps.
bool Dpor::covered_within_bound(const Node& n, const Sleeper& s) const {
    if (bound_ == kUnbounded) return true;
    const auto switch_cost = [&](ActorId a) { return n.current != sim::kNoActor && a != n.current ? 1 : 0; };
    return switch_cost(s.actor) + (s.continues ? 1 : 0) <= switch_cost(n.chosen);
}

void Dpor::add_backtracks(std::size_t k, Mask actors) {
    for (ActorId a = 0; a < 64; ++a)
        if (actors & bit(a)) add_backtrack(k, a);
}

// Reverses a race with step i by running `actors` there, and remembers them
// with the step, for where it will sleep (Sleeper::raced).
void Dpor::reverse_at(std::size_t i, Mask actors) {
    add_backtracks(i, actors);
    for (auto& e : stack_[i].explored)
        if (e.actor == stack_[i].chosen) e.raced |= actors;
}

void Dpor::add_backtrack(std::size_t i, ActorId p) {
    const auto add = [&](std::size_t k) {
        Node& m = stack_[k];
        if ((m.enabled & bit(p)) && cost(m, p) <= bound_) m.backtrack |= bit(p);
    };
    add(i);
    // Under a bound, running p at i may cost a preemption that running it at
    // the start of the actor's current run does not (Coons et al.'s
    // conservative branch): the step where the scheduler last switched to the
    // actor of node i.
    const ActorId a = stack_[i].chosen;
    std::size_t k = i;
    while (k > 0 && stack_[k - 1].chosen == a) --k;
    if (k != i) add(k);
}

// A race with step i whose later actor p could not run there: also try p
// where it last could, before i.
void Dpor::add_where_last_enabled(std::size_t i, ActorId p) {
    for (std::size_t k = i; k-- > 0;)
        if (stack_[k].enabled & bit(p)) {
            add_backtrack(k, p);
            return;
        }
}

// The actors whose next step after step i could start the reversal of the
// race (i, j): the steps after i that do not happen after i, up to j, are
// notdep(i).j (Abdulla et al.); an initial is an actor whose first such step
// has no other of them before it in happens-before. Step j itself reads as
// after i here (the race is in its clock), so j's actor is found only
// through an earlier step of its own; when it is not, the caller adds the
// other initials as well: more schedules than needed, never fewer.
Dpor::Mask Dpor::initials(const std::vector<sim::StepRecord>& steps, std::size_t i, std::size_t j, std::size_t actors) const {
    const auto& vc = scratch_.vc;
    const ActorId ai = steps[i].actor;
    Mask seen = 0, first = 0;
    for (std::size_t k = i + 1; k <= j; ++k) {
        const ActorId q = steps[k].actor;
        const std::uint32_t* vk = vc.data() + k * actors;
        if ((seen & bit(q)) || vk[ai] > i) continue;  // not q's first such step, or after i
        seen |= bit(q);
        bool initial = true;
        for (std::size_t a = 0; a < actors && initial; ++a)
            if (a != q && vk[a] > i + 1) initial = false;
        if (initial) first |= bit(q);
    }
    return first;
}

void Dpor::analyse_races(const std::vector<sim::StepRecord>& steps, LockSections* sections) {
    const std::size_t n = stack_.size();
    if (n == 0) return;
    // Every footprint first: the ones below are held by reference while the
    // critical sections are read, and must not move.
    footprint(steps, n - 1);
    std::size_t& actors = scratch_.actors;
    actors = 0;
    for (std::size_t j = 0; j < n; ++j) actors = std::max<std::size_t>(actors, steps[j].actor + 1u);
    // Vector clocks, one row per step and per actor: clock[a] = 1 + the last
    // step of actor a that happens before. Buffers reused across executions.
    auto& vc = scratch_.vc;
    auto& actor_clock = scratch_.actor_clock;
    vc.assign(n * actors, 0);
    actor_clock.assign(actors * actors, 0);
    const auto row = [actors](std::vector<std::uint32_t>& m, std::size_t r) { return m.data() + r * actors; };
    // The objects of this execution and their state, a slot each.
    auto& slots = scratch_.slots;
    auto& objs = scratch_.objs;
    slots.clear();
    const auto obj = [&](std::uint32_t id) -> Scratch::ObjState& {
        const auto [k, fresh] = slots.slot(id);
        if (fresh) {
            if (objs.size() <= k) objs.emplace_back();
            auto& o = objs[k];
            o.last_write = -1;
            o.reads.clear();
            o.writes.clear();
        }
        return objs[k];
    };
    auto& deps = scratch_.deps;
    for (std::size_t j = 0; j < n; ++j) {
        const ActorId p = steps[j].actor;
        const auto& fp = footprints_[j];
        deps.clear();
        for (const auto& a : fp) {
            auto& o = obj(a.obj);
            if (a.obj == sim::Obj::wake(p)) {
                // Every step that enabled or disabled p while it waited
                // races with p's waking: p might have run before it.
                deps.insert(deps.end(), o.writes.begin(), o.writes.end());
                o.writes.clear();
            }
            if (o.last_write >= 0) deps.push_back(static_cast<std::uint32_t>(o.last_write));
            if (a.write) deps.insert(deps.end(), o.reads.begin(), o.reads.end());
        }
        std::uint32_t* cp = row(actor_clock, p);
        if (sections) {
            // Races that are only the order of commuting critical sections
            // are neither reversed nor part of happens-before. A step that
            // already happens before p's last one is left in: its clock adds
            // nothing, and asking whether the sections commute costs.
            std::sort(deps.begin(), deps.end());
            deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
            std::erase_if(deps, [&](std::uint32_t i) {
                const ActorId q = steps[i].actor;
                return q != p && row(vc, i)[q] > cp[q] && sections->commuting_sections(i, j);
            });
        }
        auto& races = scratch_.races;
        races.clear();
        for (std::uint32_t i : deps) {
            const ActorId q = steps[i].actor;
            if (q != p && row(vc, i)[q] > cp[q]) races.push_back(i);  // not the same actor, and not already ordered
        }
        for (std::uint32_t i : deps) {
            const std::uint32_t* vi = row(vc, i);
            for (std::size_t a = 0; a < actors; ++a) cp[a] = std::max(cp[a], vi[a]);
        }
        cp[p] = static_cast<std::uint32_t>(j + 1);
        std::copy(cp, cp + actors, row(vc, j));
        for (std::uint32_t i : races) {
            // A race: reverse it by running p first where step i was taken,
            // or, when p could not run there, whoever could.
            const Node& ni = stack_[i];
            if (ni.enabled & bit(p)) {
                reverse_at(i, bit(p));
                // p's next step there may not be the one that races: it may
                // need another actor's steps first (they happen before step
                // j and not after step i). Then run those first as well:
                // p's own step first is another schedule, and when p sleeps
                // at i nothing else would find this one.
                const Mask first = initials(steps, i, j, actors);
                if (!(first & bit(p))) reverse_at(i, first & ni.enabled);
                continue;
            }
            reverse_at(i, ni.enabled);
            add_where_last_enabled(i, p);  // p was blocked there
        }
        for (const auto& a : fp) {
            auto& o = obj(a.obj);
            if (a.write) {
                o.last_write = static_cast<std::int64_t>(j);
                o.reads.clear();
                if (sim::Obj::is_wake(a.obj)) o.writes.push_back(static_cast<std::uint32_t>(j));
            } else {
                o.reads.push_back(static_cast<std::uint32_t>(j));
            }
        }
    }
}

Dpor::Summary* Dpor::owner_summary(std::size_t k) {
    for (std::size_t m = k + 1; m-- > 0;)
        if (stack_[m].state != 0) return &summaries_[stack_[m].summary];
    return nullptr;
}

void Dpor::add_to_summary(Summary& sum, const sim::StepRecord& step, const std::vector<sim::Access>& fp) {
    for (const auto& a : fp) sum.add({step.actor, a.obj, a.write, in_protocol(step, a.obj) ? SumAccess::Protocol : SumAccess::Data});
    for (const auto& op : step.locks)
        if (op.kind == sim::LockOp::Reacquire) sum.add({step.actor, op.obj, true, SumAccess::Reacquire});
}

// Races between the prefix and a cut subtree's accesses, conservatively: an
// access of actor p races with a prefix step i of another actor that
// conflicts with it, unless i happens before p's last step in the prefix.
// Reversed at i by running p there and, since p's racing step may need
// other steps first, every actor enabled there. LockAware: a conflict on a
// mutex's protocol alone is no race when the section around i commutes
// with everything p does below the cut (its section there is part of it)
// and with the part of p's section already in the prefix; a section of i's
// actor still open at the cut counts with all that actor does below it.
void Dpor::summary_races(const std::vector<sim::StepRecord>& steps, const std::vector<SumAccess>& sum, LockSections* sections) {
    const std::size_t n = stack_.size();  // the cut is where the stack ends
    const std::size_t actors = scratch_.actors;  // analyse_races' clocks of this execution
    const auto& vc = scratch_.vc;
    auto& sc = scratch_.summary;
    auto& last = sc.last;
    last.assign(64, -1);
    for (std::size_t k = 0; k < n; ++k) last[steps[k].actor] = static_cast<std::int64_t>(k);
    // The prefix's accesses that the first access below the cut meets, as
    // in analyse_races: an object's last write and the reads since (an
    // earlier access is ordered before that write, or races with it in the
    // prefix). A waiter's Obj::wake keeps every write (analyse_races reads
    // them all where the waiter wakes).
    sc.slots.clear();
    for (std::size_t i = 0; i < n; ++i)
        for (const auto& a : footprint(steps, i)) {
            const auto [k, fresh] = sc.slots.slot(a.obj);
            if (sc.by_obj.size() <= k) sc.by_obj.emplace_back();
            auto& v = sc.by_obj[k];
            if (fresh || (a.write && !sim::Obj::is_wake(a.obj))) v.clear();
            v.emplace_back(static_cast<std::uint32_t>(i), a.write);
        }
    auto& below = sc.below;      // LockAware: each actor's data accesses below the cut, by object
    auto& retaken = sc.retaken;  // and the mutexes it took back after a condition wait
    if (sections) {
        below.resize(64);
        retaken.resize(64);
        for (auto& b : below) b.clear();
        for (auto& r : retaken) r.clear();
        for (const auto& s : sum) {  // sorted by actor, then object
            if (s.kind == SumAccess::Reacquire) {
                retaken[s.actor].push_back(s.obj);
            } else if (s.kind == SumAccess::Data && !sim::Obj::is_wake(s.obj)) {
                auto& b = below[s.actor];
                if (!b.empty() && b.back().obj == s.obj) b.back().write = b.back().write || s.write;
                else b.push_back({s.obj, s.write});
            }
        }
    }
    // Whether the section of mutex m around prefix step i commutes with p's.
    const auto commute = [&](std::size_t i, ActorId p, std::uint32_t m) {
        if (std::find(retaken[p].begin(), retaken[p].end(), m) != retaken[p].end()) return false;
        // p's section: within what p does below the cut, and its part in the prefix if open at the cut
        const std::size_t lp = static_cast<std::size_t>(last[p]);
        const std::vector<sim::Access>* p_prefix = last[p] >= 0 && sections->open_at_end(lp, m) ? &sections->section(lp, m) : nullptr;
        const auto with_p = [&](const std::vector<sim::Access>& a) { return independent(a, below[p]) && (!p_prefix || independent(a, *p_prefix)); };
        if (!with_p(sections->section(i, m))) return false;
        return !sections->open_at_end(i, m) || with_p(below[steps[i].actor]);  // i's section goes on below the cut
    };
    auto& racing_at = sc.racing_at;
    racing_at.assign(n, 0);
    for (const auto& s : sum) {
        if (s.kind == SumAccess::Reacquire) continue;  // a mark: the protocol access is listed too
        const std::int64_t k = sc.slots.find(s.obj);
        if (k < 0) continue;
        const std::int64_t lp = last[s.actor];
        for (const auto& [i, w] : sc.by_obj[static_cast<std::size_t>(k)]) {
            const ActorId q = steps[i].actor;
            if (q == s.actor || !(w || s.write)) continue;  // a read meets only the last write
            if (lp >= 0 && vc[static_cast<std::size_t>(lp) * actors + q] > i) continue;  // i happens before p's last step
            if (sections && s.kind == SumAccess::Protocol && sections->protocol(i, s.obj) && commute(i, s.actor, s.obj)) continue;
            racing_at[i] |= bit(s.actor);
        }
    }
    for (std::size_t i = 0; i < n; ++i) {
        const Mask racing = racing_at[i];
        if (racing == 0) continue;
        const Node& ni = stack_[i];
        reverse_at(i, ni.enabled);
        for (ActorId p = 0; p < 64; ++p)
            if ((racing & bit(p)) && !(ni.enabled & bit(p))) add_where_last_enabled(i, p);
    }
}

bool Dpor::next(const std::vector<sim::StepRecord>& steps) {
    if (stack_.size() != pos_ || steps.size() < stack_.size())
        throw std::logic_error("dfs: the execution ended inside the replayed prefix (not deterministic)");
    last_task_ = task_;
    last_foreign_ = split_.depth > 0 && !ours(task_);
    if (pruned_ && !last_foreign_ && !cache_cut_) ++sleep_blocked_;
    for (std::size_t k = replay_ > 0 ? replay_ - 1 : 0; k < stack_.size(); ++k)
        stack_[k].explored.push_back({stack_[k].chosen, std::make_shared<const std::vector<sim::Access>>(footprint(steps, k)),
                                      // whether the actor went on after its step: known at the next
                                      // point, also where the execution was cut (then the answer must
                                      // not depend on whose subtree was cut, nor why)
                                      k + 1 < stack_.size() ? stack_[k + 1].current == stack_[k].chosen
                                                            : !pruned_ || cut_current_ == stack_[k].chosen,
                                      // In the prefix a split expands, the races of a step are
                                      // found in its subtree, which may be another worker's:
                                      // where it wakes, every actor stands in for them, so that a
                                      // subtree's schedules do not depend on who ran the others.
                                      stack_[k].top ? ~Mask{0} : Mask{0}});
    // LockAware: the critical sections of this execution, for both analyses
    // (a cut execution ends where the stack does, so they see the same steps).
    std::optional<LockSections> sections;
    if (races() && lock_aware()) sections.emplace(*this, steps, stack_.size());
    if (races()) analyse_races(steps, sections ? &*sections : nullptr);
    if (state_cache_ && races()) {
        // Every new step belongs to the subtree of each state above it: give it
        // to the deepest (the ones above get it when that one is explored).
        const std::size_t from = replay_ > 0 ? replay_ - 1 : 0;
        Summary* own = from < stack_.size() ? owner_summary(from) : nullptr;
        for (std::size_t k = from; k < stack_.size(); ++k) {
            if (stack_[k].state != 0) own = &summaries_[stack_[k].summary];
            if (own) add_to_summary(*own, steps[k], footprint(steps, k));
        }
        if (cache_cut_) {
            // The cut subtree's accesses race with this prefix as they did with
            // the first one's: reverse those races here. (The cut state is
            // explored in full, so not on the stack: `own` is another summary.)
            auto& cut = summaries_[cut_summary_];
            cut.compact();
            summary_races(steps, cut.v, sections ? &*sections : nullptr);
            if (!stack_.empty())
                if (auto* up = owner_summary(stack_.size() - 1))
                    up->merge(cut);
        }
    }
    cache_cut_ = false;
    footprints_used_ = 0;  // the next execution records its own (the buffers are kept)
    while (!stack_.empty()) {
        Node& n = stack_.back();
        const Mask todo = n.backtrack & n.enabled & ~n.done & ~asleep(n.sleep);
        ActorId pick = sim::kNoActor;
        if (n.current != sim::kNoActor && (todo & bit(n.current))) pick = n.current;
        else
            for (ActorId a = 0; a < 64 && pick == sim::kNoActor; ++a)
                if ((todo & bit(a)) && cost(n, a) <= bound_) pick = a;
        if (pick != sim::kNoActor) {
            if (n.top) ++task_;  // a new prefix: the next subtree
            n.chosen = pick;
            n.done |= bit(pick);
            replay_ = stack_.size();
            pos_ = 0;
            pruned_ = false;
            return true;
        }
        if (n.state != 0) {
            --visited_.find(n.state)->second.open;  // explored in full
            if (races()) {
                auto& sum = summaries_[n.summary];
                sum.compact();
                if (stack_.size() >= 2)
                    if (auto* up = owner_summary(stack_.size() - 2))
                        up->merge(sum);
            }
        }
        stack_.pop_back();
    }
    return false;
}

}  // namespace regsync::sched

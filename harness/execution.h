// One execution: a fresh fake VM, VMM and oracle for (scenario, policy,
// kernel variant, decision source). A pure function of those inputs.
#pragma once
#include <boost/fiber/pooled_fixedsize_stack.hpp>

#include <functional>
#include <string>
#include <vector>

#include "fakekvm/kernel_config.h"
#include "model/kvm_backend.h"
#include "model/mutation.h"
#include "harness/scenario.h"
#include "properties/violation.h"
#include "sched/decision_source.h"
#include "sched/fiber_scheduler.h"
#include "sim/event.h"
#include "sim/footprint.h"

namespace regsync::fakekvm {
class FakeVm;
}

namespace regsync::harness {

struct ExecutionResult {
    sched::RunEnd end = sched::RunEnd::Quiescent;
    std::vector<sim::ActorId> decisions;
    std::uint32_t preemptions = 0;
    std::vector<sim::Event> events;
    std::vector<sim::StepRecord> steps;  // footprints, when recorded
    std::vector<sim::HookSpan> hooks;    // sync-policy hooks as they ran, when footprints are recorded
    std::vector<std::string> actors;
    std::vector<std::string> blocked;
    std::string error;
    std::uint32_t step_count = 0;
    properties::Verdict verdict;
    bool main_loop_finished = true;
    // Fingerprint of where the execution ended: every vCPU's kernel
    // registers, the VMM's cached copy and dirty state, and what each vCPU
    // reported through port I/O (coverage: distinct final states).
    std::uint64_t final_state = 0;
    // With a mutation: whether its faulty path ran.
    bool mutation_fired = false;
};

struct ExecutionOptions {
    bool record_footprints = false;
    // Puts another backend between the VMM and the fake kernel (the
    // lockstep real-KVM replay); it must outlive the run. Default: none.
    std::function<model::KvmVm&(fakekvm::FakeVm&)> backend;
    // Hands the decision source a hash of the whole state (dfs --state-cache).
    bool state_hash = false;
    // With state_hash: a state only where every actor rests (Scheduler::
    // rest_next), leaving out each actor's steps; elsewhere the state is 0.
    bool state_at_rest = false;
    // A fault planted in the sync layer (regsync mutants); it must outlive the run.
    const model::Mutation* mutation = nullptr;
};

// Owns what may be reused across executions on one OS thread (fiber
// stacks); never any simulation state.
class Engine {
public:
    Engine();
    ExecutionResult run(const Scenario& s, std::string_view policy, const fakekvm::KernelConfig& kernel,
                        sched::DecisionSource& decisions, const ExecutionOptions& opt = {});
    // Hands an execution's step records back once read: the next run
    // records into them instead of allocating anew.
    void recycle(std::vector<sim::StepRecord>&& steps) { spare_steps_ = std::move(steps); }

private:
    boost::fibers::pooled_fixedsize_stack stacks_;
    std::vector<sim::StepRecord> spare_steps_;
};

}  // namespace regsync::harness

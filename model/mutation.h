// Generic faults planted in a sync layer from outside it (regsync mutants):
// each is a slip a VMM's register-sync code can make. They are applied
// around any policy, at three places: ArchSync's get/put (the families
// and their order), the policy's hooks (a decorator), and the ioctl surface
// (a backend wrapper). A mutant whose faulty path never runs in an
// execution says so (MutationProbe::fired), so that mutants equivalent to
// their policy are told apart from survivors.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/kvm_backend.h"
#include "model/register_desc.h"
#include "model/sync_level.h"
#include "model/sync_policy.h"

namespace regsync::model {

enum class MutationKind : std::uint8_t {
    SkipPut,        // the put of one ioctl family at one level is left out
    KeepDirty,      // pre_run / post_reset / post_init leave the dirty state set
    BlindAsyncPut,  // a register the kernel changes on its own is put at every runtime writeback
    Get2013Order,   // the get runs in the 2013 order (regs, sregs, msrs, mp_state, events)
    SkipPostInit,   // cpu_synchronize_post_init does nothing
    SkipPostReset,  // cpu_synchronize_post_reset does nothing
    SkipMarkDirty,  // write_reg does not mark the register dirty
    SkipDirtyRegs,  // kvm_run->kvm_dirty_regs loses one class (KVM_SYNC_X86_*) before KVM_RUN
    NeverReread,    // every GET after the first of its kind returns what the first returned
};

struct Mutation {
    MutationKind kind{};
    Access family = Access::Regs;          // SkipPut
    SyncLevel level = SyncLevel::Runtime;  // SkipPut
    std::string reg;                       // BlindAsyncPut: the register's catalogue name
    std::uint64_t sync_class = 0;          // SkipDirtyRegs
    std::string name() const;              // e.g. "skip-put:SREGS@KVM_PUT_RUNTIME_STATE"
};

// Every generic mutation, over both architectures' families and registers.
const std::vector<Mutation>& mutations();

// One execution's view of the planted fault.
struct MutationProbe {
    const Mutation* m = nullptr;
    bool fired = false;  // the faulty path ran (changed what the VMM did)
};

// The hook faults around `inner` (which it does not own).
std::unique_ptr<SyncPolicy> mutate_policy(SyncPolicy& inner, MutationProbe& probe);
// The ioctl faults around `inner` (which must outlive the result).
std::unique_ptr<KvmVm> mutate_backend(KvmVm& inner, MutationProbe& probe);

}  // namespace regsync::model

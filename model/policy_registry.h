// Sync policies selectable by name. Adding one: a new file under
// model/policies/ and one line in policy_registry.cpp.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/arch.h"
#include <cstdint>

#include "model/sync_policy.h"

namespace regsync::model {

struct PolicyInfo {
    std::string_view name;
    std::string_view description;
    // A QEMU version is one program with a target per architecture: `make`
    // gets the machine's architecture (qemu-today is target/i386,
    // target/ppc, target/arm or target/riscv code).
    std::function<std::unique_ptr<SyncPolicy>(Arch)> make;
    // The architectures it syncs, as arch_bit()s.
    std::uint32_t arches = 0;
    // Policies from a plugin (harness/plugin_loader.h): the shared object,
    // its content hash, and the built-in whose catalogue verdicts it expects
    // (its `follows`, "" for none); the one architecture it syncs is its
    // only bit in `arches`.
    std::string plugin;
    std::uint64_t plugin_hash = 0;
    std::string follows;
};

// Built-ins first, then plugin policies in the order they were registered.
const std::vector<PolicyInfo>& policies();
const PolicyInfo* find_policy(std::string_view name);
std::unique_ptr<SyncPolicy> make_policy(std::string_view name, Arch arch = Arch::X86);  // nullptr if unknown or not for `arch`
// Adds a policy; before any execution runs (not thread-safe). False if the name is taken.
bool register_policy(PolicyInfo p);
// Whether the policy can run a machine of this architecture.
bool policy_supports(std::string_view name, Arch a);

}  // namespace regsync::model

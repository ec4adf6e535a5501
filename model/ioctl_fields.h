// Which catalogue registers an x86 vCPU ioctl's struct carries, read or
// written as values: for code that watches ioctls from outside (the
// lockstep real-KVM replay compares the fake's answers with the kernel's
// and rewrites a put's arguments).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "model/catalogue.h"

namespace regsync::model {

using RegValue = std::pair<RegIndex, std::uint64_t>;

// True for the x86 GET/SET ioctls whose structs hold catalogue registers.
bool is_state_get(unsigned long request);
bool is_state_set(unsigned long request);
// The kernel's name of a vCPU ioctl ("KVM_GET_SREGS"; Book-E's under the
// same names), else "ioctl-0x...".
std::string ioctl_name(Arch arch, unsigned long request);
// The GET that reads back what `set_request` writes.
unsigned long get_for_set(unsigned long set_request);

// The catalogue registers in `arg` (the struct of `request`, x86): for
// KVM_SET_VCPU_EVENTS only the fields its flags make the kernel take.
std::vector<RegValue> ioctl_registers(const Catalogue& c, unsigned long request, const void* arg);

// Stores `v` into the catalogue register `r` of the struct, if it holds it.
void set_ioctl_register(const Catalogue& c, unsigned long request, void* arg, RegIndex r, std::uint64_t v);

}  // namespace regsync::model

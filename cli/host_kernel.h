// `--kernel host`: the profile of the kernel regsync runs on, measured by
// kvm-probe (realkvm/probe.h) and cached under the kernel release and KVM
// module, and `kvm-probe --profile-out`.
#pragma once
#include <string>

namespace regsync::cli {

// "host" becomes the path of the cached (or freshly probed) host profile;
// any other name is returned as it is. Throws InputError where /dev/kvm is
// unusable or a probed axis fits no alternative.
std::string resolve_host_kernel(const std::string& name);

// kvm-probe, with --profile-out FILE when `profile_out` is not empty.
// Exit 0: every row agrees (with the default variant or a documented one;
// with a profile: with the measured profile, all rows at once); 1: a row
// no alternative explains; 2: no usable /dev/kvm.
int cmd_kvm_probe(const std::string& profile_out, const std::string& arch = "x86");

}  // namespace regsync::cli

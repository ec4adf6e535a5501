#include "model/policy_registry.h"

#include "model/policies/qemu_levels.h"

namespace regsync::model {

namespace {
template <typename P>
std::unique_ptr<SyncPolicy> make() { return std::make_unique<P>(); }
}  // namespace

const std::vector<PolicyInfo>& policies() {
    static const std::vector<PolicyInfo> v = {
        {"qemu-levels", "KVM_PUT_{RUNTIME,RESET,FULL}_STATE writeback levels (seed 000)", &make<QemuLevels>},
    };
    return v;
}

std::unique_ptr<SyncPolicy> make_policy(std::string_view name) {
    for (const auto& p : policies())
        if (p.name == name) return p.make();
    return nullptr;
}

}  // namespace regsync::model

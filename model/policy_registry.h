// Sync policies selectable by name. Adding one: a new file under
// model/policies/ and one line in policy_registry.cpp.
#pragma once
#include <memory>
#include <string_view>
#include <vector>

#include "model/sync_policy.h"

namespace regsync::model {

struct PolicyInfo {
    std::string_view name;
    std::string_view description;
    std::unique_ptr<SyncPolicy> (*make)();
};

const std::vector<PolicyInfo>& policies();
std::unique_ptr<SyncPolicy> make_policy(std::string_view name);  // nullptr if unknown

}  // namespace regsync::model

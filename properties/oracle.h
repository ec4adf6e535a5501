// The oracle: judges one execution from its event history alone. It keeps its
// own shadow of the kernel registers, built from KernelWrite events, and the
// VMM's declared intents; it never looks at a policy's dirty flags or caches.
#pragma once
#include <vector>

#include "model/catalogue.h"
#include "properties/property.h"
#include "properties/violation.h"
#include "sim/event.h"

namespace regsync::properties {

struct OracleInput {
    const model::Catalogue* cat = nullptr;
    std::vector<model::RegisterValues> initial;  // kernel registers at creation, per vCPU
    std::vector<bool> bsp;
    PropertySet enabled = kAllProperties;
};

Verdict check(const OracleInput& in, const std::vector<sim::Event>& events);

}  // namespace regsync::properties

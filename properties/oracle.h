// The oracle: judges one execution from its event history alone. It keeps its
// own shadow of the kernel registers, built from KernelWrite events, and the
// VMM's declared intents; it never looks at a policy's dirty flags or caches.
#pragma once
#include <cstdint>
#include <memory>
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
    // The history says what the kernel did with each INIT and SIPI
    // (init-accepted, init-cleared, sipi-accepted: the fake kernel). A real
    // kernel's acceptance is not observable: then an INIT counts as taken
    // when sent and the first SIPI sent while the AP waits is the one.
    bool init_fate_events = true;
};

Verdict check(const OracleInput& in, const std::vector<sim::Event>& events);

// The oracle fed one event at a time (dfs --state-cache): a hash of what it
// keeps of the history so far (shadow registers, open intents, INITs waiting
// for their SIPI, the latest TSC read, violations found), without step
// numbers, so that two histories the properties cannot tell apart from here
// on hash alike.
class Monitor {
public:
    explicit Monitor(OracleInput in);
    ~Monitor();
    Monitor(const Monitor&) = delete;
    Monitor& operator=(const Monitor&) = delete;
    void feed(const sim::Event& e);
    std::uint64_t state_hash() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace regsync::properties

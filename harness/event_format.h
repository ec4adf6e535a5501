// The readable event log: one line per event, stable across machines.
#pragma once
#include <string>
#include <vector>

#include "model/arch.h"
#include "sim/event.h"

namespace regsync::harness {

std::string format_event(model::Arch arch, const std::vector<std::string>& actors, const sim::Event& e);
std::vector<std::string> format_events(model::Arch arch, const std::vector<std::string>& actors, const std::vector<sim::Event>& events);

}  // namespace regsync::harness

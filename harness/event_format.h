// The readable event log: one line per event, stable across machines.
#pragma once
#include <string>
#include <vector>

#include "model/arch.h"
#include "sim/event.h"

namespace regsync::harness {

std::string format_event(model::Arch arch, const std::vector<std::string>& actors, const sim::Event& e);
std::vector<std::string> format_events(model::Arch arch, const std::vector<std::string>& actors, const std::vector<sim::Event>& events);

// A value as the event log writes it: "0x1f".
std::string hex_value(std::uint64_t v);
// Text made safe for HTML (& < > ").
std::string html_escape(const std::string& s);

}  // namespace regsync::harness

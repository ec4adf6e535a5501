// `regsync view TRACE -o FILE.html`: one self-contained HTML page (inline
// SVG, CSS and a little script; no network) that draws an execution as a
// person reads it: one lane per actor, a state lane per vCPU for the
// registers the violation involves, INIT/SIPI arrows between vCPUs, and the
// steps of the causal slice (explore/explain.h) highlighted and joined by
// the lost value's path. Details on hover and click. The same trace always
// gives the same bytes.
#pragma once
#include <string>

#include "harness/execution.h"
#include "harness/trace_file.h"

namespace regsync::explore {

std::string view_html(const harness::Trace& t, const std::string& scenario_dir, harness::Engine& engine);
// The drawing and the slice without the page around them, and the page's
// style: kvm-replay --html puts the fake's drawing beside the real run.
std::string view_fragment(const harness::Trace& t, const std::string& scenario_dir, harness::Engine& engine);
const std::string& view_css();

}  // namespace regsync::explore

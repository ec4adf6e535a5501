// One GoogleTest assertion for "this sync layer holds on these scenarios
// and kernels":
//
//   regsync::load_sync_layer(MY_LAYER_SO);
//   EXPECT_TRUE(regsync::testing::SyncLayerHolds("my-layer", {.scenarios = {"savevm-loadvm"}}));
//
// On failure the message lists each cell that did not hold and what it
// violated, with the trace of each when CheckOptions::trace_dir is set.
#pragma once
#include <gtest/gtest.h>

#include <string>

#include "regsync/check.h"

namespace regsync::testing {

inline ::testing::AssertionResult SyncLayerHolds(const std::string& policy, const CheckOptions& options = {}) {
    const CheckResult r = check_sync_layer(policy, options);
    if (r.held)
        return ::testing::AssertionSuccess() << "policy '" << policy << "' held in all " << r.cells.size() << " cells";
    return ::testing::AssertionFailure() << "policy '" << policy << "' did not hold:\n" << r.report;
}

}  // namespace regsync::testing

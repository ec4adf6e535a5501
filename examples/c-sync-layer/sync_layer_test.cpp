// The example layer's own test suite, as a VMM would keep it: each check is
// one assertion over scenarios and kernel profiles, run by regsync in process.
#include <regsync/gtest.h>

namespace {

TEST(CSyncLayer, HoldsWhereTodaysQemuHolds) {
    regsync::load_sync_layer(C_SYNC_LAYER);
    regsync::CheckOptions o;
    // Where today's QEMU holds (the README's full matrix); it fails the rest.
    o.scenarios = {"init-sipi-halt", "reset-every-family", "tsc-runtime-writeback", "hypercall-result", "monitor-write-runtime-families"};
    o.kernels = {"debian-6.1", "pvm-6.18"};
    o.budget = 1000;
    o.executions = 300;
    EXPECT_TRUE(regsync::testing::SyncLayerHolds("c-qemu-today", o));
}

// The copy with the TSC written back at KVM_PUT_RUNTIME_STATE is caught
// where the kernel takes a host TSC write as it is (no one-second matching).
TEST(CSyncLayer, TheInjectedBugIsCaught) {
    regsync::load_sync_layer(C_SYNC_LAYER_BUGGY);
    regsync::CheckOptions o;
    o.scenarios = {"tsc-runtime-writeback"};
    o.kernels = {"init-apic-events"};
    const auto r = regsync::check_sync_layer("c-qemu-today-tsc-runtime", o);
    ASSERT_EQ(r.cells.size(), 1u);
    EXPECT_FALSE(r.held);
    ASSERT_FALSE(r.cells[0].violated.empty());
    EXPECT_EQ(r.cells[0].violated[0], "tsc-jump-back");
    EXPECT_FALSE(regsync::testing::SyncLayerHolds("c-qemu-today-tsc-runtime", o));
}

// The riscv64 layer holds where today's QEMU riscv64 holds; the same source
// with QEMU's old KVM_RISCV_SET_TIMER sends the guest's clock back.
TEST(CSyncLayerRiscv64, HoldsWhereTodaysQemuHoldsAndTheOldTimerMacroIsCaught) {
    regsync::load_sync_layer(C_SYNC_LAYER_RISCV64);
    regsync::load_sync_layer(C_SYNC_LAYER_RISCV64_BUGGY);
    regsync::CheckOptions o;
    o.scenarios = {"riscv64-timer-savevm", "riscv64-reset-after-hart-start"};
    o.kernels = {"debian-6.1"};
    o.budget = 1000;
    o.executions = 300;
    EXPECT_TRUE(regsync::testing::SyncLayerHolds("c-qemu-today-riscv64", o));
    o.scenarios = {"riscv64-timer-savevm"};
    const auto r = regsync::check_sync_layer("c-qemu-riscv-set-timer-bug", o);
    ASSERT_EQ(r.cells.size(), 1u);
    EXPECT_FALSE(r.held);
}

}  // namespace

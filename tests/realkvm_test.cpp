// The real /dev/kvm backend and the differential probe. Where /dev/kvm is
// missing or refuses a VM, the real-kernel tests skip with the reason.
#include <gtest/gtest.h>

#include "realkvm/kvm_device.h"
#include "realkvm/probe.h"
#include "realkvm/guest_run.h"
#include "harness/scenario.h"
#include "test_paths.h"

namespace regsync::testing {
namespace {

// Which variants may answer a row differently from the default, and why.
bool may_differ(const std::string& behaviour, const std::string& variant) {
    const struct {
        const char* row;
        const char* variant;
    } allowed[] = {
        {"latched_init", "init-mp-state"},        // nothing is latched before 3.10
        {"latched_init", "events-latched-init"},  // ff90afa75573 clears it
        {"SIPI_RECEIVED", "init-mp-state"},       // taken as is before 3.10
        {"BSP itself", "init-mp-state"},          // before 3.10 the BSP waits for SIPI too
        {"IA32_TSC", "pvm-no-tsc-offset"},        // no TSC offsetting
    };
    for (const auto& a : allowed)
        if (behaviour.find(a.row) != std::string::npos && variant == a.variant) return true;
    return false;
}

TEST(KvmProbe, TheVariantsDifferOnlyWhereTheyModelADifference) {
    const auto rep = realkvm::run_probe();
    ASSERT_FALSE(rep.rows.empty());
    for (const auto& r : rep.rows) {
        SCOPED_TRACE(r.behaviour);
        ASSERT_EQ(r.fake.size(), rep.variants.size());
        for (std::size_t i = 0; i < r.fake.size(); ++i)
            if (!may_differ(r.behaviour, rep.variants[i])) {
                EXPECT_EQ(r.fake[i], r.fake.front()) << rep.variants[i];
            }
        EXPECT_EQ(r.fake.front().find("failed"), std::string::npos) << r.fake.front();
        EXPECT_EQ(r.fake.front().find("error"), std::string::npos) << r.fake.front();
    }
}

// Both TSC rows tell a kernel that offsets the TSC from PVM, which cannot.
TEST(KvmProbe, TheTscRowsSeparatePvmFromTheDefault) {
    const auto rep = realkvm::run_probe();
    int rows = 0;
    for (const auto& r : rep.rows) {
        if (r.behaviour.find("IA32_TSC") == std::string::npos) continue;
        ++rows;
        for (std::size_t i = 0; i < rep.variants.size(); ++i) {
            const bool back = r.fake[i].find("does not go back") == std::string::npos;
            EXPECT_EQ(back, rep.variants[i] != "pvm-no-tsc-offset") << r.behaviour << " / " << rep.variants[i] << ": " << r.fake[i];
        }
    }
    EXPECT_EQ(rows, 2);
}

// The latched-INIT row tells the kernel variants apart: a RUNTIME
// KVM_SET_VCPU_EVENTS with latched_init = 0 keeps the pending INIT on the
// current kernel and clears it on kernels with ff90afa75573 before its fix.
TEST(KvmProbe, TheLatchedInitRowSeparatesTheVariants) {
    const auto rep = realkvm::run_probe();
    const auto& r = rep.rows.back();
    ASSERT_NE(r.behaviour.find("latched_init"), std::string::npos);
    for (std::size_t i = 0; i < rep.variants.size(); ++i) {
        if (rep.variants[i] == "init-apic-events") {
            EXPECT_EQ(r.fake[i], "the pending INIT is kept");
        } else if (rep.variants[i] == "events-latched-init") {
            EXPECT_EQ(r.fake[i], "the pending INIT is cleared");
        }
    }
}

TEST(KvmProbe, EveryRowAgreesWithTheRealKernel) {
    const auto rep = realkvm::run_probe();
    if (!rep.unavailable.empty()) GTEST_SKIP() << "no real KVM here: " << rep.unavailable;
    // Every row agrees with the default (current-kernel) variant, or with a
    // variant that documents a host-kernel difference.
    for (const auto& r : rep.rows)
        EXPECT_TRUE(r.agree || !r.matches.empty()) << r.behaviour << ": fake " << r.fake.front() << ", real " << r.real;
}

// The skip rule, checked where /dev/kvm works too: REGSYNC_NO_KVM stands in
// for a missing device. The CLI names the reason and exits 2.
TEST(KvmProbe, WithoutRealKvmTheCliExitsTwoWithTheReason) {
    setenv("REGSYNC_NO_KVM", "1", 1);
    const auto r = run_cli("kvm-probe");
    unsetenv("REGSYNC_NO_KVM");
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("no real KVM here: REGSYNC_NO_KVM is set"), std::string::npos) << r.output;
}

TEST(RealKvm, AKickMakesKvmRunReturnEintr) {
    std::string why;
    auto vm = realkvm::RealVm::create(1, why);
    if (!vm) GTEST_SKIP() << "no real KVM here: " << why;
    auto& v = vm->vcpu(0);
    v.kick();  // before KVM_RUN: immediate_exit makes it return at once
    EXPECT_EQ(v.ioctl(KVM_RUN, nullptr), -EINTR);
    EXPECT_EQ(v.run().immediate_exit, 0);
}

// The bundled INIT/SIPI scenario's guest code on real vCPUs: the AP, halted,
// reports from its SIPI program at 0x10000 every time.
TEST(RealKvm, InitSipiStartsTheApAtTheVectorInEveryOf200Runs) {
    if (const auto why = realkvm::kvm_unavailable_reason(); !why.empty()) GTEST_SKIP() << "no real KVM here: " << why;
    const auto s = harness::load_scenario("init-sipi-halt", scenario_dir());
    int started = 0;
    for (int k = 0; k < 200; ++k) {
        if (k == 3 && started == 0) break;  // diagnostics only
        std::string why;
        auto vm = realkvm::RealVm::create(2, why);
        ASSERT_TRUE(vm) << why;
        const auto run = realkvm::run_guest_code(*vm, s, 2, std::chrono::milliseconds(2000));
        ASSERT_TRUE(run.error.empty()) << run.error;
        bool ok = false;
        std::string seen;
        for (const auto& r : run.reports) {
            ok = ok || (r.vcpu == 1 && r.value == 2 && r.cs_base == 0x10000);
            seen += " vcpu" + std::to_string(r.vcpu) + ":" + std::to_string(r.value) + "@" + std::to_string(r.cs_base);
        }
        started += ok;
        for (const auto& f : run.final_state) seen += "; " + f;
        if (!ok && k < 3) ADD_FAILURE() << "run " << k << (run.timed_out ? " timed out" : "") << ", reports:" << seen;
    }
    EXPECT_EQ(started, 200);
}

}  // namespace
}  // namespace regsync::testing

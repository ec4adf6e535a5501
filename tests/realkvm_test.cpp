// The real /dev/kvm backend and the differential probe. Where /dev/kvm is
// missing or refuses a VM, the real-kernel tests skip with the reason.
#include <gtest/gtest.h>

#include "realkvm/kvm_device.h"
#include "realkvm/probe.h"

namespace regsync::testing {
namespace {

TEST(KvmProbe, TheFakeGivesTheSameAnswerUnderEveryVariant) {
    const auto rep = realkvm::run_probe();
    ASSERT_FALSE(rep.rows.empty());
    for (const auto& r : rep.rows) {
        SCOPED_TRACE(r.behaviour);
        ASSERT_EQ(r.fake.size(), rep.variants.size());
        // None of these experiments touches INIT/SIPI handling, where the
        // variants differ.
        for (const auto& f : r.fake) EXPECT_EQ(f, r.fake.front());
        EXPECT_EQ(r.fake.front().find("failed"), std::string::npos) << r.fake.front();
    }
}

TEST(KvmProbe, EveryRowAgreesWithTheRealKernel) {
    const auto rep = realkvm::run_probe();
    if (!rep.unavailable.empty()) GTEST_SKIP() << "no real KVM here: " << rep.unavailable;
    for (const auto& r : rep.rows) EXPECT_TRUE(r.agree) << r.behaviour << ": fake " << r.fake.front() << ", real " << r.real;
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

}  // namespace
}  // namespace regsync::testing

// Scenario files: the bundled ones load; malformed ones are refused with
// "file:line: what is wrong".
#include <gtest/gtest.h>

#include "fakekvm/kernel_axes.h"
#include "harness/input_error.h"
#include "harness/kernel_profile.h"
#include "harness/scenario.h"
#include "test_paths.h"

namespace regsync::testing {
namespace {

using harness::InputError;
using harness::parse_scenario;

TEST(Scenario, EveryBundledScenarioLoads) {
    const auto names = harness::bundled_scenarios(scenario_dir());
    for (const char* want : {"init-sipi-halt", "tsr-timer-race", "reset-during-run", "savevm-loadvm"})
        EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
    for (const auto& n : names) {
        auto s = harness::load_scenario(n, scenario_dir());
        EXPECT_EQ(s.name, n);
        EXPECT_FALSE(s.vcpus.empty());
    }
}

TEST(Scenario, InitSipiHaltDescribesTheRace) {
    auto s = harness::load_scenario("init-sipi-halt", scenario_dir());
    EXPECT_EQ(s.arch, model::Arch::X86);
    ASSERT_EQ(s.vcpus.size(), 2u);
    EXPECT_TRUE(s.vcpus[0].bsp);
    EXPECT_FALSE(s.vcpus[1].bsp);
    ASSERT_EQ(s.vcpus[1].image.size(), 2u);
    EXPECT_EQ(s.vcpus[1].image[1].entry, 0x10000u);
    EXPECT_EQ(s.vcpus[1].image[0].steps.back().op, fakekvm::GuestOp::Hlt);
}

TEST(Scenario, ContentHashChangesWithTheText) {
    const std::string a = "arch = \"x86\"\n[[vcpu]]\ncode = [\"nop\"]\n";
    EXPECT_EQ(parse_scenario(a, "a.toml").content_hash, parse_scenario(a, "b.toml").content_hash);
    EXPECT_NE(parse_scenario(a, "a.toml").content_hash, parse_scenario(a + "\n", "a.toml").content_hash);
}

struct Bad {
    const char* text;
    const char* error;  // expected "file:line: ..." prefix and wording
};

class MalformedScenario : public ::testing::TestWithParam<Bad> {};

TEST_P(MalformedScenario, IsRefusedWithFileLineAndReason) {
    try {
        parse_scenario(GetParam().text, "bad.toml");
        FAIL() << "accepted a malformed scenario";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find(GetParam().error), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "error must be one line";
    }
}

INSTANTIATE_TEST_SUITE_P(
    Errors, MalformedScenario,
    ::testing::Values(
        Bad{"arch = \"x86\"\n[[vcpu]\n", "bad.toml:2:"},
        Bad{"arch = \"arm\"\n[[vcpu]]\n", "bad.toml:1: arch must be"},
        Bad{"arch = \"x86\"\n", "bad.toml:1: a scenario needs at least one [[vcpu]]"},
        Bad{"arch = \"x86\"\n[[vcpu]]\ncode = [\n  \"nop\",\n  \"jump 5\",\n]\n", "bad.toml:5: unknown guest step 'jump'"},
        Bad{"arch = \"x86\"\n[[vcpu]]\ncode = [\"write xyz 1\"]\n", "bad.toml:3: unknown register 'xyz'"},
        Bad{"arch = \"x86\"\n[[vcpu]]\ncode = [\"write rax\"]\n", "takes 2 operand(s)"},
        Bad{"arch = \"x86\"\n[[vcpu]]\ncode = [\"send_init 3\"]\n", "vCPU 3 does not exist"},
        Bad{"arch = \"x86\"\n[[vcpu]]\ncode = [\"ack_tsr DIS\"]\n", "ack_tsr is a PowerPC Book-E guest step"},
        Bad{"arch = \"ppc-booke\"\n[[vcpu]]\ncode = [\"rdtsc\"]\n", "rdtsc is an x86 guest step"},
        Bad{"arch = \"x86\"\n[[vcpu]]\nbsp = true\n[[vcpu]]\nbsp = true\n", "exactly one vCPU must be the BSP"},
        Bad{"arch = \"x86\"\ncolour = 3\n[[vcpu]]\n", "bad.toml:2: unknown key 'colour'"},
        Bad{"arch = \"x86\"\n[[vcpu]]\n[[main]]\nop = \"loadvm\"\nsnapshot = \"s\"\n", "bad.toml:3: loadvm of snapshot 's'"},
        Bad{"arch = \"x86\"\n[[vcpu]]\n[[main]]\nop = \"reboot\"\n", "bad.toml:4: [[main]] op must be"},
        // arm64 and riscv64 steps (fakekvm/arm64.cpp, fakekvm/riscv64.cpp parse them).
        Bad{"arch = \"arm64\"\n[[vcpu]]\nbsp = true\ncode = [\"psci_cpu_on 5 0x40100000\"]\n", "bad.toml:4: vCPU 5 does not exist"},
        Bad{"arch = \"arm64\"\n[[vcpu]]\nbsp = true\ncode = [\"psci_cpu_on 0 0x40100002\"]\n", "bad.toml:4: psci_cpu_on entry 0x40100002 is not 4-byte aligned"},
        Bad{"arch = \"arm64\"\n[[vcpu]]\nbsp = true\ncode = [\"send_init 0\"]\n", "bad.toml:4: send_init is an x86 guest step"},
        Bad{"arch = \"arm64\"\n[[vcpu]]\nbsp = true\ncode = [\"rdtime\"]\n", "bad.toml:4: unknown guest step 'rdtime' (nop, write, io, hypercall, read_cnt"},
        Bad{"arch = \"arm64\"\n[[vcpu]]\nbsp = true\ncode = [\"arm_timer\"]\n", "bad.toml:4: guest step 'arm_timer' takes 1 operand(s)"},
        Bad{"arch = \"riscv64\"\n[[vcpu]]\nbsp = true\ncode = [\"sbi_ipi 2\"]\n", "bad.toml:4: vCPU 2 does not exist"},
        Bad{"arch = \"riscv64\"\n[[vcpu]]\nbsp = true\ncode = [\"sbi_hart_start 0 0x80400001\"]\n", "bad.toml:4: sbi_hart_start address 0x80400001 is not 4-byte aligned"},
        Bad{"arch = \"riscv64\"\n[[vcpu]]\nbsp = true\ncode = [\"psci_cpu_on 1 0x0\"]\n", "bad.toml:4: unknown guest step 'psci_cpu_on' (nop, write, io, hypercall, rdtime"},
        Bad{"arch = \"riscv64\"\n[[vcpu]]\nbsp = true\ncode = [\"set_timer -5\"]\n", "bad.toml:4: bad time delta '-5'"},
        Bad{"arch = \"arm64\"\n[[vcpu]]\nstate = \"wait-for-sipi\"\n", "bad.toml:3: state must be running or stopped"},
        Bad{"arch = \"x86\"\n[[vcpu]]\n[[main]]\nop = \"guest-reset\"\n", "bad.toml:3: guest-reset: no guest program requests a system reset (no x86 guest step can)"},
        Bad{"arch = \"x86\"\n[[vcpu]]\n[[main]]\nop = \"monitor-read\"\n", "monitor-read needs reg"},
        // The value's own line, not the table header's.
        Bad{"arch = \"x86\"\n[[vcpu]]\n[[main]]\nop = \"monitor-write\"\nreg = \"rax\"\n\nvalue = \"big\"\n", "bad.toml:7: monitor-write needs an integer value"},
        Bad{"arch = \"x86\"\n[[vcpu]]\ncode = [\"io 0x80 1\"]\n[[main]]\nop = \"savevm\"\nafter_io = 2\n", "bad.toml:6: after_io = 2: no guest program performs"},
        Bad{"arch = \"x86\"\n[[vcpu]]\n[[main]]\nop = \"savevm\"\nafter_tick = -1\n", "bad.toml:5: 'after_tick' = -1 is out of range"},
        Bad{"arch = \"x86\"\n[clock]\ntsc_per_tick = 0\n[[vcpu]]\n", "bad.toml:3: 'tsc_per_tick' = 0 is out of range"},
        Bad{"arch = \"x86\"\nproperties = [\"lost-socks\"]\n[[vcpu]]\n", "bad.toml:2: unknown property 'lost-socks'"},
        Bad{"arch = \"x86\"\n[[vcpu]]\ncode = [\"io 0x80 0x100000000\"]\n", "I/O value must fit in 32 bits"},
        Bad{"arch = \"x86\"\n[[vcpu]]\n[[vcpu.timer]]\nat_tick = 1\n", "Book-E timers exist only on ppc-booke"}));

}  // namespace
}  // namespace regsync::testing

namespace regsync::testing {
namespace {

// Kernel profiles: one alternative per axis, errors naming file and line;
// the bundled real-kernel profiles load; the built-in variant names stay.
TEST(KernelProfile, BundledProfilesLoadAndVariantNamesStay) {
    for (const char* n : {"linux-3.9", "linux-3.8-booke", "linux-4.4", "debian-6.1", "pvm-6.18", "upstream-2025"}) {
        const auto p = harness::resolve_kernel(n);
        EXPECT_EQ(p.axes.size(), fakekvm::kernel_axes().size()) << n;
        EXPECT_FALSE(p.source.empty()) << n;
    }
    const auto pvm = harness::resolve_kernel("pvm-6.18");
    EXPECT_FALSE(pvm.config.tsc_offsetting);
    EXPECT_TRUE(pvm.config.latched_init_outside_smm);
    EXPECT_TRUE(pvm.config.self_init_at_next_exit);
    EXPECT_FALSE(harness::resolve_kernel("debian-6.1").config.self_init_at_next_exit);
    EXPECT_EQ(harness::resolve_kernel("linux-3.9").config.init_sipi, fakekvm::InitSipi::MpState);
    EXPECT_EQ(harness::resolve_kernel("events-latched-init").axes, (std::vector<std::pair<std::string, std::string>>{
                                                                    {"init_delivery", "apic-events"}, {"latched_init", "outside-smm"},
                                                                    {"host_tsc_write", "offset"}, {"booke_tsr", "or-clear"},
                                                                    {"self_init", "next-instruction"}, {"tsc_adjust", "stored"},
                                                                    {"arm64_ctl_read", "istatus-computed"}, {"arm64_psci_reset", "at-run-and-one-reg"},
                                                                    {"arm64_counter_offset", "absent"}, {"riscv_hsm_reset", "at-run"}}));
    EXPECT_THROW(harness::resolve_kernel("linux-0.01"), harness::InputError);
}

TEST(KernelProfile, BadProfilesNameFileAndLine) {
    const std::string ok = "init_delivery = \"apic-events\"\nlatched_init = \"ignored\"\nhost_tsc_write = \"offset\"\nbooke_tsr = \"or-clear\"\n"
                           "self_init = \"next-instruction\"\ntsc_adjust = \"stored\"\narm64_ctl_read = \"stored\"\n"
                           "arm64_psci_reset = \"at-run\"\narm64_counter_offset = \"sticky\"\nriscv_hsm_reset = \"at-run\"\n";
    EXPECT_NO_THROW(harness::parse_kernel_profile(ok, "k.toml"));
    const std::pair<std::string, std::string> bad[] = {
        {"name = \"x\"\n\ninit_delivery = \"telepathy\"\n", "k.toml:3: axis 'init_delivery': unknown alternative 'telepathy'"},
        {ok + "colour = \"red\"\n", "k.toml:11: unknown key 'colour'"},
        {"init_delivery = \"apic-events\"\n", "does not choose axis 'latched_init'"},
        {ok + "booke_tsr = 3\n", "k.toml:"},
    };
    for (const auto& [text, want] : bad) {
        try {
            harness::parse_kernel_profile(text, "k.toml");
            ADD_FAILURE() << "accepted: " << text;
        } catch (const harness::InputError& e) {
            EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
        }
    }
}

}  // namespace
}  // namespace regsync::testing

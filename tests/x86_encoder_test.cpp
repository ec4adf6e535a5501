// The real-mode encoder of guest steps, checked by disassembling its output
// with binutils' objdump (installed by scripts/setup.sh).
#include <gtest/gtest.h>

#include <algorithm>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "harness/scenario.h"
#include "model/catalogue.h"
#include "realkvm/x86_real_mode.h"
#include "test_paths.h"

namespace regsync::testing {
namespace {

using fakekvm::GuestOp;
using fakekvm::GuestStep;

// objdump's instructions (Intel syntax), one string per instruction.
std::vector<std::string> disassemble(const std::vector<std::uint8_t>& bytes) {
    const auto bin = temp_path("code.bin");
    std::ofstream(bin, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    const std::string cmd = "objdump -D -b binary -m i8086 -M intel " + bin + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::vector<std::string> out;
    char line[512];
    while (p && std::fgets(line, sizeof line, p)) {
        std::string l(line);
        // "   7:\t0f 31                \trdtsc\n": the text after the second tab
        const auto t1 = l.find('\t');
        const auto t2 = t1 == std::string::npos ? t1 : l.find('\t', t1 + 1);
        if (t2 == std::string::npos) continue;
        std::string ins = l.substr(t2 + 1);
        while (!ins.empty() && (ins.back() == '\n' || ins.back() == ' ')) ins.pop_back();
        std::string squeezed;  // objdump pads the mnemonic with spaces
        for (char c : ins)
            if (!(c == ' ' && !squeezed.empty() && squeezed.back() == ' ')) squeezed += c;
        out.push_back(squeezed);
    }
    if (p) pclose(p);
    return out;
}

bool have_objdump() { return std::system("objdump --version >/dev/null 2>&1") == 0; }

TEST(X86Encoder, EveryStepDisassemblesToWhatItMeans) {
    if (!have_objdump()) GTEST_SKIP() << "objdump (binutils) is not installed";
    const auto& cat = model::catalogue(model::Arch::X86);
    const std::vector<GuestStep> prog = {
        {GuestOp::Nop},
        {GuestOp::Write, *cat.find("rbx"), 0x1},
        {GuestOp::Rdtsc},
        {GuestOp::ArmDeadline, -1, 10000},
        {GuestOp::SendInit, -1, 0, 1},
        {GuestOp::SendSipi, -1, 0x10, 1},
        {GuestOp::Hlt},
        {GuestOp::Io, -1, 2, -1, 0x80},
        {GuestOp::Rdtsc},
    };
    int slot = 0;
    const auto e = realkvm::encode_real_mode(prog, slot);
    EXPECT_EQ(slot, 2);
    EXPECT_EQ(e.step_offsets.size(), prog.size());
    const std::vector<std::string> want = {
        "nop",
        "mov ebx,0x1",
        "rdtsc", "mov ds:0x500,eax", "mov DWORD PTR ds:0x504,edx",
        "rdtsc", "add eax,0x2710", "adc edx,0x0", "mov ecx,0x6e0", "wrmsr",
        "mov DWORD PTR es:0xf0,0x1ff", "mov DWORD PTR es:0x310,0x1000000", "mov DWORD PTR es:0x300,0x4500",
        "mov DWORD PTR es:0xf0,0x1ff", "mov DWORD PTR es:0x310,0x1000000", "mov DWORD PTR es:0x300,0x4610",
        "hlt",
        "mov dx,0x80", "mov eax,0x2", "out dx,eax",
        "rdtsc", "mov ds:0x508,eax", "mov DWORD PTR ds:0x50c,edx",
    };
    auto got = disassemble(e.bytes);
    // objdump continues long instructions on a line of their own bytes.
    std::vector<std::string> ins;
    for (const auto& g : got)
        if (!g.empty() && g.find_first_not_of("0123456789abcdef ") != std::string::npos) ins.push_back(g);
    ASSERT_GE(ins.size(), want.size() + 2);
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(ins[i], want[i]) << "instruction " << i;
    // The end of the program halts for good, as in the fake.
    EXPECT_EQ(ins[want.size()], "hlt");
    EXPECT_EQ(ins[want.size() + 1].rfind("jmp", 0), 0u);
}

TEST(X86Encoder, StepsRealModeCannotEncodeAreRefused) {
    const auto& cat = model::catalogue(model::Arch::X86);
    int slot = 0;
    EXPECT_THROW(realkvm::encode_real_mode({{GuestOp::Write, *cat.find("r8"), 1}}, slot), std::invalid_argument);
    EXPECT_THROW(realkvm::encode_real_mode({{GuestOp::AckTsr, -1, 8}}, slot), std::invalid_argument);
}

// Every bundled x86 scenario encodes, but for the guest writes of vCPU
// event state (exception.injected, nmi.pending) that two scenarios use to
// stand for the kernel changing it: no guest instruction writes those, and
// kvm-replay refuses such a scenario with exit 2.
TEST(X86Encoder, EveryBundledX86ScenarioEncodes) {
    const auto& cat = model::catalogue(model::Arch::X86);
    for (const auto& name : harness::bundled_scenarios(scenario_dir())) {
        const auto s = harness::load_scenario(name, scenario_dir());
        if (s.arch != model::Arch::X86) continue;
        int slot = 0;
        for (const auto& v : s.vcpus)
            for (const auto& p : v.image) {
                const bool events = std::any_of(p.steps.begin(), p.steps.end(), [&](const fakekvm::GuestStep& st) {
                    return st.op == GuestOp::Write && cat[st.reg].access == model::Access::VcpuEvents;
                });
                if (events) EXPECT_THROW(realkvm::encode_real_mode(p.steps, slot), std::invalid_argument) << name;
                else EXPECT_NO_THROW(realkvm::encode_real_mode(p.steps, slot)) << name;
            }
    }
}

TEST(X86Encoder, Cr3AndMsrWritesAreGuestInstructions) {
    const auto& cat = model::catalogue(model::Arch::X86);
    int slot = 0;
    const auto e = realkvm::encode_real_mode({{GuestOp::Write, *cat.find("cr3"), 0x1000}, {GuestOp::Write, *cat.find("STAR"), 0x5}}, slot);
    const std::vector<std::uint8_t> mov_cr3{0x0f, 0x22, 0xd8}, wrmsr{0x0f, 0x30};
    EXPECT_NE(std::search(e.bytes.begin(), e.bytes.end(), mov_cr3.begin(), mov_cr3.end()), e.bytes.end());
    EXPECT_NE(std::search(e.bytes.begin(), e.bytes.end(), wrmsr.begin(), wrmsr.end()), e.bytes.end());
}

}  // namespace
}  // namespace regsync::testing

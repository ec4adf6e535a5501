// Hostile input: every limit of harness/limits.h is an input error that
// names it, and every finding of the fuzz targets (fuzz/regressions/) is
// refused the way the fuzz property asks: one line, naming file and line.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "explore/catalogue.h"
#include "explore/matrix.h"
#include "explore/replay.h"
#include "explore/shard.h"
#include "harness/execution.h"
#include "harness/input_error.h"
#include "harness/kernel_profile.h"
#include "harness/limits.h"
#include "harness/scenario.h"
#include "harness/trace_file.h"
#include "test_paths.h"

namespace regsync::testing {
namespace {

using harness::InputError;
namespace limits = harness::limits;

// The text of the InputError f throws ("" when it throws none), which must
// be one line.
template <typename F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const InputError& e) {
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
        return e.what();
    }
    return "";
}

std::string scenario_error(const std::string& text) {
    return error_of([&] { harness::parse_scenario(text, "bad.toml"); });
}

std::string repeat(const std::string& s, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += s;
    return out;
}

std::string program(std::size_t steps) { return "code = [" + repeat("\"nop\",", steps) + "]\n"; }

TEST(Limits, VcpusPerScenario) {
    const std::string ok = "arch = \"x86\"\n[[vcpu]]\n" + repeat("[[vcpu]]\nstate = \"wait-for-sipi\"\n", limits::kVcpus - 1);
    EXPECT_EQ(scenario_error(ok), "");
    EXPECT_EQ(scenario_error(ok + "[[vcpu]]\nstate = \"wait-for-sipi\"\n"), "bad.toml:2: 65 [[vcpu]] tables: the limit is 64 vCPUs");
}

TEST(Limits, GuestStepsPerProgramProgramsPerVcpuAndInAll) {
    const std::string head = "arch = \"x86\"\nmax_steps = 1000000\n[[vcpu]]\n";
    EXPECT_EQ(scenario_error(head + program(limits::kStepsPerProgram)), "");
    EXPECT_EQ(scenario_error(head + program(limits::kStepsPerProgram + 1)), "bad.toml:4: a program of 4097 guest steps: the limit is 4096");
    const std::string prog = "[[vcpu.program]]\nentry = 0x1000\ncode = [\"hlt\"]\n";
    EXPECT_EQ(scenario_error(head + repeat(prog, limits::kProgramsPerVcpu - 1)), "");
    EXPECT_EQ(scenario_error(head + repeat(prog, limits::kProgramsPerVcpu)),
              "bad.toml:4: 64 [[vcpu.program]] tables: the limit is 64 programs per vCPU, the reset code included");
    // 17 vCPUs of 4,000 steps each: every program is within its limit, the sum is not.
    const std::string ap = "[[vcpu]]\nstate = \"wait-for-sipi\"\n" + program(4000);
    EXPECT_EQ(scenario_error(head + program(4000) + repeat(ap, 15)), "");
    EXPECT_EQ(scenario_error(head + program(4000) + repeat(ap, 16)), "bad.toml:3: 68000 guest steps in all programs: the limit is 65536");
}

TEST(Limits, MainOperationsTimersAndMaxSteps) {
    const std::string head = "arch = \"x86\"\n[[vcpu]]\n";
    const std::string op = "[[main]]\nop = \"monitor-read\"\nreg = \"rax\"\n";
    EXPECT_EQ(scenario_error(head + repeat(op, limits::kMainOps)), "");
    EXPECT_EQ(scenario_error(head + repeat(op, limits::kMainOps + 1)), "bad.toml:3: 1025 [[main]] operations: the limit is 1024");
    const std::string booke = "arch = \"ppc-booke\"\n[[vcpu]]\n";
    const std::string timer = "[[vcpu.timer]]\nat_tick = 1\nset = \"DIS\"\n";
    EXPECT_EQ(scenario_error(booke + repeat(timer, limits::kTimersPerVcpu)), "");
    EXPECT_EQ(scenario_error(booke + repeat(timer, limits::kTimersPerVcpu + 1)), "bad.toml:3: 1025 [[vcpu.timer]] tables: the limit is 1024 per vCPU");
    EXPECT_EQ(scenario_error("arch = \"x86\"\nmax_steps = 1000001\n[[vcpu]]\n"), "bad.toml:2: 'max_steps' = 1000001 is out of range (1 to 1000000)");
}

TEST(Limits, ARegisterValueMustFitItsWidth) {
    const std::string head = "arch = \"x86\"\n[[vcpu]]\n";
    // mp_state is 32 bits, nmi.pending 8; a 64-bit register takes a negative TOML integer as its two's complement.
    EXPECT_EQ(scenario_error(head + "regs = { \"nmi.pending\" = 256 }\n"), "bad.toml:3: value 256 does not fit nmi.pending (8 bits)");
    EXPECT_EQ(scenario_error(head + "regs = { \"nmi.pending\" = -1 }\n"), "bad.toml:3: value -1 does not fit nmi.pending (8 bits)");
    EXPECT_EQ(scenario_error(head + "regs = { rax = -1 }\n"), "");
    EXPECT_EQ(scenario_error(head + "code = [\"write mp_state 0x100000000\"]\n"),
              "bad.toml:3: value 0x0000000100000000 does not fit mp_state (32 bits)");
    EXPECT_EQ(scenario_error(head + "[[main]]\nop = \"monitor-write\"\nreg = \"cs.selector\"\nvalue = 65536\n"),
              "bad.toml:6: value 65536 does not fit cs.selector (16 bits)");
}

TEST(Limits, AScenarioThatEveryExecutionWouldRunIntoMaxStepsIsRefusedWithTheValueItNeeds) {
    // 3,000 guest steps the BSP must run, one step each, against the default 2,000.
    const std::string text = "arch = \"x86\"\n[[vcpu]]\n" + program(3000);
    EXPECT_EQ(scenario_error(text),
              "bad.toml:1: max_steps = 2000 ends every execution early: the vCPUs that start running execute at least 3000 guest steps, "
              "a step each; set max_steps to 7000 or more");
    // With the value it suggests, an execution ends, and not at the limit.
    auto s = harness::parse_scenario("arch = \"x86\"\nmax_steps = 7000\n[[vcpu]]\n" + program(3000), "ok.toml");
    harness::Engine engine;
    sched::RandomDecisions random(1);
    const auto r = engine.run(s, "qemu-today", harness::resolve_kernel("debian-6.1").config, random);
    EXPECT_EQ(r.end, sched::RunEnd::Quiescent);
    // A halt ends what the bound can count on: the rest may never run.
    EXPECT_EQ(scenario_error("arch = \"x86\"\n[[vcpu]]\ncode = [\"hlt\", " + repeat("\"nop\",", 3000) + "]\n"), "");
}

TEST(Limits, AMainOperationAfterTheLastClockTickIsRefused) {
    EXPECT_EQ(scenario_error("arch = \"x86\"\n[clock]\nticks = 5\n[[vcpu]]\n[[main]]\nop = \"savevm\"\nafter_tick = 6\n"),
              "bad.toml:5: after_tick = 6, but the clock stops at tick 5 ([clock] ticks)");
}

TEST(Limits, InputFilesMustBeRegularAndWithinTheirSize) {
    const auto dir = temp_path("dir.toml");
    ::mkdir(dir.c_str(), 0700);
    try {
        harness::load_scenario(dir, scenario_dir());
        FAIL() << "a directory was read as a scenario";
    } catch (const InputError& e) {
        EXPECT_EQ(std::string(e.what()), dir + ": not a regular file (a scenario must be one)");
    }
    const auto big = temp_path("big.toml");
    write_file(big, "arch = \"x86\"\n" + std::string(limits::kTomlBytes, '#') + "\n[[vcpu]]\n");
    try {
        harness::load_scenario(big, scenario_dir());
        FAIL() << "an oversized scenario was read";
    } catch (const InputError& e) {
        EXPECT_EQ(std::string(e.what()), big + ": 1048599 bytes, more than the 1048576 a scenario may have");
    }
    EXPECT_THROW(harness::read_trace("/dev/zero"), InputError);
}

// A bundled regression trace, as JSON to edit.
nlohmann::ordered_json regression_trace() {
    return nlohmann::ordered_json::parse(read_file(traces_dir() + "/regressions/init-lost-to-hlt.json"));
}

std::string trace_error(const std::string& text) {
    return error_of([&] { harness::trace_from_json(text, "t.json"); });
}

TEST(Limits, TraceDecisionsAreActorIndicesAndAtMostOnePerStep) {
    auto j = regression_trace();
    ASSERT_FALSE(j["decisions"].empty());
    EXPECT_EQ(trace_error(j.dump(1)), "");
    // With dump(1) each decision is on its own line: the error names it.
    const auto line_of_decision = [&](std::size_t k) {
        const auto text = j.dump(1);
        return 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(text.find("\"decisions\"")), '\n') + 1 + static_cast<long>(k);
    };
    j["decisions"][1] = nlohmann::ordered_json::parse("1180591620717411303424");  // 2^70
    EXPECT_EQ(trace_error(j.dump(1)), "t.json:" + std::to_string(line_of_decision(1)) +
                                          ": decision 1 is 1.1805916207174113e+21, not an integer from 0 to 65535: not an actor index (0 to 65534)");
    j["decisions"][1] = -1;
    EXPECT_EQ(trace_error(j.dump(1)),
              "t.json:" + std::to_string(line_of_decision(1)) + ": decision 1 is -1, not an integer from 0 to 65535: not an actor index (0 to 65534)");
    j["decisions"][1] = 65535;
    EXPECT_EQ(trace_error(j.dump(1)), "t.json:" + std::to_string(line_of_decision(1)) + ": decision 1 is 65535: not an actor index (0 to 65534)");
    j["decisions"] = std::vector<int>(limits::kDecisions + 1, 0);
    EXPECT_NE(trace_error(j.dump()).find(": 1000001 decisions: the limit is 1000000"), std::string::npos);
}

TEST(Limits, ATraceDecisionMustNameAnActorOfTheScenario) {
    auto j = regression_trace();
    j["decisions"][0] = 40;
    const auto t = harness::trace_from_json(j.dump(1), "t.json");
    harness::Engine engine;
    try {
        explore::replay_trace(t, scenario_dir(), engine);
        FAIL() << "replayed a decision naming no actor";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("t.json:"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(": decision 0 is 40, but scenario 'init-sipi-halt' has "), std::string::npos) << e.what();
    }
    // Through the CLI: exit 2, not 3 (a trace that diverged).
    const auto path = temp_path("t.json");
    write_file(path, j.dump(1));
    const auto r = run_cli("replay " + path);
    EXPECT_EQ(r.exit_code, 2) << r.output;
}

TEST(Limits, ShardCountAndIndex) {
    const auto text = read_file(std::string(REGSYNC_SOURCE_DIR) + "/fuzz/seeds/shard/pct-one.json");
    auto j = nlohmann::ordered_json::parse(text);
    EXPECT_NO_THROW(explore::shard_from_json(j.dump(1), "s.json"));
    j["shard"] = {0, limits::kShards + 1};
    try {
        explore::shard_from_json(j.dump(1), "s.json");
        FAIL();
    } catch (const InputError& e) {
        EXPECT_EQ(std::string(e.what()), "s.json:1: shard [0,1048577] is not [index, count] with index < count <= 1048576");
    }
}

// The fuzz targets' findings, each kept in fuzz/regressions/ and run there
// by the FuzzRegressions tests; here, the message each now gives.
std::string regression(const std::string& target, const std::string& name) {
    return read_file(std::string(REGSYNC_SOURCE_DIR) + "/fuzz/regressions/" + target + "/" + name);
}

TEST(FuzzFindings, QuotedInputWithANewlineStaysOneLine) {
    EXPECT_EQ(scenario_error(regression("scenario", "newline-in-a-toml-parser-excerpt.toml")).substr(0, 11), "bad.toml:3:");
    try {
        harness::parse_kernel_profile(regression("profile", "newline-in-an-echoed-alternative.toml"), "p.toml");
        FAIL();
    } catch (const InputError& e) {
        EXPECT_EQ(std::string(e.what()).rfind("p.toml:1: axis 'init_delivery': unknown alternative 'mp-\\nstate' (", 0), 0u) << e.what();
    }
}

TEST(FuzzFindings, ATraceOfAnUnknownPolicyNamesTheFileAndLine) {
    auto j = regression_trace();
    j["policy"] = "qemu-levels-noformatreset";
    const auto text = j.dump(1);
    const long line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(text.find("\"policy\"")), '\n');
    EXPECT_EQ(trace_error(text), "t.json:" + std::to_string(line) + ": unknown policy 'qemu-levels-noformatreset' (see 'regsync list')");
    EXPECT_NE(trace_error(regression("trace", "unknown-policy-named-without-the-file.json")).find("t.json:"), std::string::npos);
}

TEST(FuzzFindings, ATraceWhosePolicyCannotSyncItsScenariosArchitectureNamesTheFileAndLine) {
    auto j = regression_trace();
    j["policy"] = "qemu-riscv-no-mpstate";
    const auto text = j.dump(1);
    const long line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(text.find("\"policy\"")), '\n');
    harness::Engine engine;
    try {
        explore::replay_trace(harness::trace_from_json(text, "t.json"), scenario_dir(), engine);
        FAIL() << "replayed an x86 scenario under a riscv64 policy";
    } catch (const InputError& e) {
        EXPECT_EQ(std::string(e.what()), "t.json:" + std::to_string(line) +
                                             ": policy 'qemu-riscv-no-mpstate' does not sync x86 vCPUs, the architecture of scenario 'init-sipi-halt'");
    }
}

TEST(FuzzFindings, AFloatWhereAShardReportHasAnIntegerIsAnInputError) {
    auto j = nlohmann::ordered_json::parse(read_file(std::string(REGSYNC_SOURCE_DIR) + "/fuzz/seeds/shard/pct-one.json"));
    j["seed"] = 5.7e19;
    try {
        explore::shard_from_json(j.dump(1), "s.json");
        FAIL();
    } catch (const InputError& e) {
        EXPECT_EQ(std::string(e.what()), "s.json:1: malformed shard report: seed is 5.7e+19, not an integer from 0 to 18446744073709551615");
    }
}

TEST(FuzzFindings, ANumberBeyondEveryJsonNumberTypeIsAnInputError) {
    // nlohmann throws out_of_range, not parse_error, for it.
    EXPECT_EQ(trace_error("{\"format\": \"regsync-trace\", \"seed\": 1e400}"),
              "t.json:1: not valid JSON: [json.exception.out_of_range.406] number overflow parsing '1e400'");
    EXPECT_THROW(explore::shard_from_json(regression("shard", "number-too-large-for-json.txt"), "s.json"), InputError);
}

// The error of merging the first shard of fuzz/seeds/shard/matrix-pair.txt,
// edited by `edit`, as the only shard of its run.
template <typename Edit>
std::string matrix_shard_error(Edit&& edit) {
    const auto pair = read_file(std::string(REGSYNC_SOURCE_DIR) + "/fuzz/seeds/shard/matrix-pair.txt");
    auto j = nlohmann::ordered_json::parse(pair.substr(0, pair.find("\n--- next shard ---\n")));  // the first of the two
    edit(j);
    harness::Engine engine;
    const auto cat = explore::load_catalogue(REGSYNC_CATALOGUE, scenario_dir());
    explore::MatrixConfig base;
    base.scenario_dir = scenario_dir();
    return error_of([&] { explore::merge_matrix_shards({j.dump(1)}, {"m.json"}, base, cat, engine); });
}

TEST(FuzzFindings, AMatrixShardOfAnUnknownPolicyNamesTheReport) {
    EXPECT_EQ(matrix_shard_error([](auto& j) { j["policies"][0] = "qdmu-today"; }),
              "m.json:1: the run it is a shard of: unknown policy 'qdmu-today' (see 'regsync list')");
}

// nlohmann's operator[] on a const object with a missing key reads past the
// end (ASan: heap-buffer-overflow); every read of a shard report is at().
TEST(FuzzFindings, AMatrixShardWithoutItsShardKeyIsAnInputError) {
    EXPECT_EQ(matrix_shard_error([](auto& j) { j.erase("shard"); }),
              "m.json:1: malformed matrix shard report: [json.exception.out_of_range.403] key 'shard' not found");
}

}  // namespace
}  // namespace regsync::testing

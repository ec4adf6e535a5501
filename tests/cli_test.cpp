// The CLI's contract: exit codes 0 held, 1 violated, 2 usage or input error,
// 3 replay diverged, and one-line errors naming file and line.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_paths.h"

namespace regsync::testing {
namespace {

TEST(Cli, ListNamesEverything) {
    auto r = run_cli("list");
    EXPECT_EQ(r.exit_code, 0);
    for (const char* s : {"init-sipi-halt", "qemu-levels", "init-mp-state", "init-apic-events", "lost-init", "tsc-jump-back", "random"})
        EXPECT_NE(r.output.find(s), std::string::npos) << s;
}

TEST(Cli, HelpForEachCommandExitsZero) {
    for (const char* c : {"--help", "list --help", "explore --help", "replay --help"}) EXPECT_EQ(run_cli(c).exit_code, 0) << c;
}

TEST(Cli, UsageErrorsExitTwo) {
    EXPECT_EQ(run_cli("").exit_code, 2);
    EXPECT_EQ(run_cli("frobnicate").exit_code, 2);
    EXPECT_EQ(run_cli("explore").exit_code, 2);  // --scenario is required
    auto r = run_cli("explore --scenario init-sipi-halt --policy no-such-policy");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.output.find("unknown policy 'no-such-policy'"), std::string::npos) << r.output;
    EXPECT_EQ(run_cli("explore --scenario init-sipi-halt --kernel linux-1.0").exit_code, 2);
    EXPECT_EQ(run_cli("explore --scenario init-sipi-halt --strategy telepathy").exit_code, 2);
    EXPECT_EQ(run_cli("explore --scenario init-sipi-halt --executions 0").exit_code, 2);
    EXPECT_EQ(run_cli("explore --scenario no-such-scenario").exit_code, 2);
}

// A run that reaches max_steps is a livelock: a violation (LIVE), not a
// pass; a max_steps that is not a positive integer is an input error on
// its own line.
TEST(Cli, ExploreCountsAStepLimitedRunAsAViolation) {
    const auto path = temp_path("live.toml");
    write_file(path, "name = \"live\"\narch = \"x86\"\nmax_steps = 10\n[[vcpu]]\ncode = [\"nop\", \"nop\", \"nop\", \"nop\", \"nop\", \"nop\", \"io 0x80 1\"]\n");
    for (const char* strategy : {"random", "dfs"}) {
        auto r = run_cli("explore --scenario " + path + " --strategy " + strategy + " --executions 10 --trace-out " + temp_path("live.json"));
        EXPECT_EQ(r.exit_code, 1) << r.output;
        EXPECT_NE(r.output.find("step-limited: 1"), std::string::npos) << r.output;
        EXPECT_NE(r.output.find("step-limit: the execution reached max_steps"), std::string::npos) << r.output;
    }
    write_file(path, "name = \"live\"\narch = \"x86\"\n\nmax_steps = -5\n[[vcpu]]\ncode = [\"nop\"]\n");
    auto r = run_cli("explore --scenario " + path);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.output.find(path + ":4: 'max_steps' = -5 is out of range"), std::string::npos) << r.output;
}

// A livelocked run of the stale bitmap writes hundreds of lost kernel
// writes: the report shows ten of them and says how many more.
TEST(Cli, ViolationListsAreCappedPerProperty) {
    auto r = run_cli("explore --scenario partial-get-hypercall --policy regsync-v2 --no-shrink --trace-out " + temp_path("cap.json"));
    EXPECT_EQ(r.exit_code, 1);
    std::size_t lines = 0;
    for (std::size_t at = 0; (at = r.output.find("  lost-kernel-write: ", at)) != std::string::npos; ++at) ++lines;
    EXPECT_EQ(lines, 10u) << r.output;
    EXPECT_NE(r.output.find("more lost-kernel-write"), std::string::npos) << r.output;
    const auto trace = nlohmann::json::parse(read_file(temp_path("cap.json")));
    EXPECT_GT(trace["violations"].size(), 100u);  // the trace keeps them all
}

// The default kernel is a real current one (Debian 12's, as probed): with
// the defaults, today's QEMU loses the INIT of init-sipi-monitor, as it does
// on that kernel. The 2025 kernel patch does not end it: QEMU's own
// do_cpu_init() still loses it there; the candidate QEMU fix does.
TEST(Cli, TheDefaultKernelIsARealOne) {
    auto r = run_cli("explore --scenario init-sipi-monitor --policy qemu-today --trace-out " + temp_path("d.json"));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("kernel debian-6.1"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("lost-init"), std::string::npos) << r.output;
    EXPECT_EQ(run_cli("explore --scenario init-sipi-monitor --policy qemu-today --kernel upstream-2025").exit_code, 1);
    EXPECT_EQ(run_cli("explore --scenario init-sipi-monitor --policy qemu-today-init-fix --kernel upstream-2025").exit_code, 0);
}

TEST(Cli, MalformedScenarioFileGivesOneLineWithFileAndLine) {
    const auto path = temp_path("malformed.toml");
    write_file(path, "arch = \"x86\"\n[[vcpu]]\ncode = [\"nop\", \"teleport\"]\n");
    auto r = run_cli("explore --scenario " + path);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.output, "regsync: " + path + ":3: unknown guest step 'teleport' (nop, write, rdtsc, ack_tsr, arm_tsc_deadline, send_init, send_sipi, hlt, io, hypercall)\n");
}

TEST(Cli, ExploreExitsOneAndWritesATraceThatReplayReproduces) {
    const auto trace = temp_path("tsr.json");
    auto r = run_cli("explore --scenario tsr-timer-race --seed 1 --executions 1000 --trace-out " + trace);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("lost-kernel-write: vcpu0 TSR bits 0x8000000 set by timer"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("replay with: regsync replay " + trace), std::string::npos);
    auto rp = run_cli("replay -q " + trace);
    EXPECT_EQ(rp.exit_code, 1) << rp.output;
    EXPECT_NE(rp.output.find("reproduced exactly: VIOLATION"), std::string::npos) << rp.output;
}

TEST(Cli, ExploreWithoutViolationExitsZero) {
    auto r = run_cli("explore --scenario savevm-loadvm --seed 5 --executions 300");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("no violation in 300 executions"), std::string::npos);
}

class BrokenTrace : public ::testing::Test {
protected:
    void SetUp() override {
        trace_ = temp_path("src.json");
        ASSERT_EQ(run_cli("explore --scenario tsr-timer-race --seed 1 --executions 1000 --trace-out " + trace_).exit_code, 1);
        json_ = nlohmann::ordered_json::parse(read_file(trace_));
    }
    int replay_modified() {
        const auto p = temp_path("modified.json");
        write_file(p, json_.dump(1));
        last_ = run_cli("replay -q " + p);
        return last_.exit_code;
    }
    std::string trace_;
    nlohmann::ordered_json json_;
    CommandResult last_;
};

TEST_F(BrokenTrace, TamperedDecisionsDivergeWithExitThree) {
    auto& d = json_["decisions"];
    ASSERT_GT(d.size(), 2u);
    d.erase(d.begin());
    EXPECT_EQ(replay_modified(), 3) << last_.output;
    EXPECT_NE(last_.output.find("DIVERGED"), std::string::npos);
}

TEST_F(BrokenTrace, TamperedEventLogDivergesWithExitThree) {
    json_["events"][5] = "step 1 nobody: nothing";
    EXPECT_EQ(replay_modified(), 3) << last_.output;
}

TEST_F(BrokenTrace, AnotherFormatVersionIsRefused) {
    json_["format_version"] = 99;
    EXPECT_EQ(replay_modified(), 2);
    EXPECT_NE(last_.output.find("trace format version 99 is not supported"), std::string::npos) << last_.output;
}

TEST_F(BrokenTrace, AnotherToolVersionIsRefused) {
    json_["tool_version"] = "0.0.1";
    EXPECT_EQ(replay_modified(), 2);
    EXPECT_NE(last_.output.find("trace written by regsync 0.0.1"), std::string::npos) << last_.output;
}

TEST_F(BrokenTrace, AnEditedScenarioIsRefused) {
    const auto edited = temp_path("edited.toml");
    write_file(edited, read_file(scenario_dir() + "/tsr-timer-race.toml") + "\n# edited\n");
    json_["scenario"]["source"] = edited;
    EXPECT_EQ(replay_modified(), 2);
    EXPECT_NE(last_.output.find("has changed since the trace was recorded"), std::string::npos) << last_.output;
}

TEST_F(BrokenTrace, NotJsonIsRefusedWithALine) {
    const auto p = temp_path("notjson.json");
    write_file(p, "{\n \"format\": \"regsync-trace\",\n oops\n}\n");
    auto r = run_cli("replay " + p);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.output.find(p + ":3: not valid JSON"), std::string::npos) << r.output;
}

TEST_F(BrokenTrace, MissingFieldIsRefused) {
    json_.erase("policy");
    EXPECT_EQ(replay_modified(), 2);
    EXPECT_NE(last_.output.find("malformed trace field"), std::string::npos) << last_.output;
}

}  // namespace
}  // namespace regsync::testing

namespace regsync::testing {
namespace {

TEST(Cli, BenchQuickPrintsEveryTable) {
#ifdef REGSYNC_SANITIZE
    GTEST_SKIP() << "wall-clock benchmark: release build only";
#endif
    const auto r = run_cli("bench --quick");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    for (const char* heading : {"## Throughput", "## Time to first violation", "## dfs: schedules explored", "## Spin against regsync"})
        EXPECT_NE(r.output.find(heading), std::string::npos) << heading;
    // Every catalogued bug gets a row, and Spin (installed by scripts/setup.sh)
    // finds the assertion violation on both Promela models.
    EXPECT_NE(r.output.find("| init-lost-to-hlt |"), std::string::npos);
    EXPECT_EQ(r.output.find("none in"), std::string::npos) << "a strategy missed a catalogued bug:\n" << r.output;
    EXPECT_EQ(r.output.find("skipped: spin"), std::string::npos) << "scripts/setup.sh installs spin";
    EXPECT_EQ(r.output.find("(no violation!)"), std::string::npos) << r.output;
}

// The soak deals executions over every cell, runs under both builds, and
// finds the catalogued bugs among them (its figures are the README's).
TEST(Cli, BenchSoakRunsEveryCellAndSamplesMemory) {
    // ASan's quarantine of freed memory (256 MiB by default) fills over a
    // long run before resident memory levels off; a small one fills at once.
    const auto r = run_cli("bench --soak 3000 -j 2", "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:quarantine_size_mb=8");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find(" kernel profiles = "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("| 3000 | "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(" 0 actor errors"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("outcomes: 0 violated"), std::string::npos) << "no catalogued bug in 3,000 executions:\n" << r.output;
    EXPECT_NE(r.output.find(": flat"), std::string::npos) << r.output;
}

// --shard auto: the job engine's variables (and no others: `env -u` the
// ones a CI machine may have set) give the shard; %i names its report.
CommandResult explore_shard_auto(const std::string& shard, const std::string& vars, const std::string& report) {
    std::string env;
    for (const char* v : {"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_STEP", "OMPI_COMM_WORLD_RANK",
                          "OMPI_COMM_WORLD_SIZE", "PMI_RANK", "PMI_SIZE", "JOB_COMPLETION_INDEX", "CI_NODE_INDEX", "CI_NODE_TOTAL",
                          "BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT", "CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", "GTEST_SHARD_INDEX",
                          "GTEST_TOTAL_SHARDS"})
        env += std::string("-u ") + v + " ";
    return run_cli("explore --scenario init-sipi-halt --executions 40 --shard " + shard + " --report-out " + report, env + vars);
}

TEST(Cli, ShardAutoReadsEachJobEngineAndRefusesConflictsAndMissingCounts) {
    const auto report = temp_path("r-%i-of-%n.json");
    const auto path = [&](int i, int n) { return temp_path("r-" + std::to_string(i) + "-of-" + std::to_string(n) + ".json"); };
    struct Case {
        const char* vars;
        int index, count;
    };
    // Slurm numbers array tasks by --array ids: 1,3,5,7 is tasks 0..3.
    for (const Case& c : {Case{"SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_COUNT=4 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_STEP=2", 2, 4},
                          Case{"OMPI_COMM_WORLD_RANK=1 OMPI_COMM_WORLD_SIZE=3", 1, 3}, Case{"PMI_RANK=2 PMI_SIZE=5", 2, 5},
                          Case{"CI_NODE_INDEX=2 CI_NODE_TOTAL=2", 1, 2},  // GitLab counts from 1
                          Case{"BUILDKITE_PARALLEL_JOB=0 BUILDKITE_PARALLEL_JOB_COUNT=6", 0, 6},
                          Case{"CIRCLE_NODE_INDEX=3 CIRCLE_NODE_TOTAL=4", 3, 4}, Case{"GTEST_SHARD_INDEX=0 GTEST_TOTAL_SHARDS=2", 0, 2},
                          // Two engines that agree (mpirun under a Slurm allocation).
                          Case{"OMPI_COMM_WORLD_RANK=1 OMPI_COMM_WORLD_SIZE=2 PMI_RANK=1 PMI_SIZE=2", 1, 2}}) {
        const auto r = explore_shard_auto("auto", c.vars, report);
        EXPECT_EQ(r.exit_code, 0) << c.vars << "\n" << r.output;
        EXPECT_NE(r.output.find("shard " + std::to_string(c.index) + "/" + std::to_string(c.count) + " report written to " + path(c.index, c.count)),
                  std::string::npos)
            << c.vars << "\n" << r.output;
    }
    // Kubernetes gives the index only: the count comes with the flag.
    auto r = explore_shard_auto("auto/3", "JOB_COMPLETION_INDEX=2", report);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find(path(2, 3)), std::string::npos) << r.output;
    for (const auto& [shard, vars, error] : std::vector<std::tuple<std::string, std::string, std::string>>{
             {"auto", "JOB_COMPLETION_INDEX=2", "regsync: --shard auto: Kubernetes Indexed Job (JOB_COMPLETION_INDEX) gives no shard count: give it as --shard auto/N\n"},
             {"auto", "", "regsync: --shard auto: no job engine's variables are set (Slurm array, Open MPI, PMI, Kubernetes, GitLab, Buildkite, CircleCI, GoogleTest); give --shard I/N\n"},
             {"auto", "OMPI_COMM_WORLD_RANK=1 OMPI_COMM_WORLD_SIZE=2 GTEST_SHARD_INDEX=0 GTEST_TOTAL_SHARDS=2",
              "regsync: --shard auto: Open MPI (OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE) says shard 1 of 2, GoogleTest sharding (GTEST_SHARD_INDEX, GTEST_TOTAL_SHARDS) says 0 of 2\n"},
             {"auto/4", "PMI_RANK=1 PMI_SIZE=2", "regsync: --shard auto/4: MPICH/PMI (PMI_RANK, PMI_SIZE) says 2 shards\n"},
             {"auto", "OMPI_COMM_WORLD_SIZE=2", "regsync: --shard auto: OMPI_COMM_WORLD_SIZE is set but OMPI_COMM_WORLD_RANK is not\n"},
             {"auto", "CI_NODE_INDEX=3 CI_NODE_TOTAL=2", "regsync: --shard auto: GitLab parallel job (CI_NODE_INDEX, CI_NODE_TOTAL) gives shard index 2 of 2\n"},
             {"2/2", "", "regsync: --shard: '2/2' is not I/N with 0 <= I < N, nor auto or auto/N\n"}}) {
        r = explore_shard_auto(shard, vars, report);
        EXPECT_EQ(r.exit_code, 2) << vars;
        EXPECT_EQ(r.output, error) << vars;
    }
}

// A job array of one task writes a report too, and merge takes a folder.
TEST(Cli, MergeTakesAFolderOfReportsAndASingleShard) {
    const auto dir = temp_path("reports");
    for (int i = 0; i < 3; ++i) {
        const auto r = run_cli("explore --scenario init-sipi-halt --kernel init-mp-state --executions 300 --shard " + std::to_string(i) +
                               "/3 --report-out " + dir + "/r-%i.json");
        // Its trace is in the report: the tasks of an array would all write one default path.
        EXPECT_EQ(r.output.find("trace written to"), std::string::npos) << r.output;
    }
    run_cli("explore --scenario init-sipi-halt --kernel init-mp-state --executions 300 --shard 0/1 --report-out " + temp_path("whole.json"));
    const auto folder = run_cli("merge " + dir);
    const auto whole = run_cli("merge " + temp_path("whole.json"));
    EXPECT_EQ(folder.exit_code, 1) << folder.output;
    EXPECT_NE(folder.output.find("VIOLATION in execution"), std::string::npos) << folder.output;
    EXPECT_EQ(folder.output, whole.output);
    const auto empty = temp_path("empty");
    ::mkdir(empty.c_str(), 0700);
    const auto r = run_cli("merge " + empty);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.output, "regsync: " + empty + ": a folder with no .json shard report in it\n");
}

// The main job sharded: its distinct searches dealt to the shards, merged
// into the matrix one process prints, in each output format.
TEST(Cli, MatrixShardsMergeToTheUnshardedMatrix) {
#ifdef REGSYNC_SANITIZE
    GTEST_SKIP() << "seven matrix runs are a release-build budget; the shard fuzz target merges matrix shards under the sanitizers";
#endif
    const std::string run = "matrix --scenario tsr-timer-race --scenario init-sipi-halt --policy qemu-levels --policy ppc-onereg-tsr --policy qemu-today "
                            "--kernel debian-6.1 --kernel linux-3.8-booke --trace-dir " +
                            temp_path("traces");
    const auto dir = temp_path("matrix");
    for (int i = 0; i < 3; ++i) {
        const auto r = run_cli(run + " --shard " + std::to_string(i) + "/3 --report-out " + dir + "/m-%i.json");
        ASSERT_EQ(r.exit_code, 0) << r.output;
    }
    for (const char* format : {"", " --json", " --markdown"}) {
        const auto whole = run_cli(run + format);
        const auto merged = run_cli("merge --trace-dir " + temp_path("traces") + format + " " + dir);
        EXPECT_EQ(merged.exit_code, whole.exit_code) << merged.output;
        EXPECT_EQ(merged.output, whole.output) << format;
    }
    // A shard missing, or one of another run, is an input error.
    auto r = run_cli("merge " + dir + "/m-0.json " + dir + "/m-2.json");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.output, "regsync: merge: matrix shard 1 of 3 is missing\n");
    run_cli("matrix --scenario tsr-timer-race --kernel debian-6.1 --seed 7 --shard 1/3 --report-out " + temp_path("other.json"));
    r = run_cli("merge " + dir + "/m-0.json " + temp_path("other.json") + " " + dir + "/m-2.json");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.output, "regsync: " + temp_path("other.json") + ":1: not a shard of the same run as " + dir + "/m-0.json (its config differ)\n");
}

// The mutation score sharded: mutants dealt to the shards, merged into the
// score one process prints.
TEST(Cli, MutantsShardsMergeToTheUnshardedScore) {
#ifdef REGSYNC_SANITIZE
    GTEST_SKIP() << "three mutants runs are a release-build budget; the shard fuzz target merges mutants shards under the sanitizers";
#endif
    const std::string run = "mutants --scenario tsc-runtime-writeback --policy qemu-levels --budget 500";
    const auto dir = temp_path("mutants");
    for (int i = 0; i < 2; ++i) {
        const auto r = run_cli(run + " --shard " + std::to_string(i) + "/2 --report-out " + dir + "/u-%i.json");
        ASSERT_EQ(r.exit_code, 0) << r.output;
    }
    const auto whole = run_cli(run);
    const auto merged = run_cli("merge " + dir);
    EXPECT_NE(whole.output.find("mutation score:"), std::string::npos) << whole.output;
    EXPECT_EQ(merged.exit_code, whole.exit_code) << merged.output;
    EXPECT_EQ(merged.output, whole.output);
    const auto r = run_cli("merge " + dir + "/u-1.json");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.output, "regsync: merge: mutants shard 0 of 2 is missing\n");
}

TEST(Cli, ShardAndMergeFromTheCommandLine) {
    const auto dir = temp_path("shards");
    std::string files;
    for (int i = 0; i < 2; ++i) {
        const auto f = dir + std::to_string(i) + ".json";
        const auto r = run_cli("explore --scenario init-sipi-halt --kernel init-mp-state --executions 500 --shard " + std::to_string(i) +
                               "/2 --report-out " + f + " --trace-out " + f + ".trace.json");
        // A shard that wrote its report exits 0 (mpirun would abort the
        // other ranks on a 1): merge gives the verdict.
        EXPECT_EQ(r.exit_code, 0) << r.output;
        EXPECT_EQ(read_file(f + ".trace.json").empty(), r.output.find("VIOLATION") == std::string::npos) << r.output;
        files += " " + f;
    }
    const auto whole = run_cli("explore --scenario init-sipi-halt --kernel init-mp-state --executions 500 --trace-out " + dir + "w.json");
    const auto merged = run_cli("merge" + files);
    EXPECT_EQ(merged.exit_code, 1) << merged.output;
    // Everything up to the VIOLATION line (the unsharded run then shrinks).
    const auto summary = [](const std::string& s) { return s.substr(0, s.find('\n', s.find("VIOLATION"))); };
    EXPECT_EQ(summary(merged.output), summary(whole.output));
    EXPECT_EQ(run_cli("explore --scenario init-sipi-halt --shard 2/2 --report-out " + dir + "x.json").exit_code, 2);
    EXPECT_EQ(run_cli("explore --scenario init-sipi-halt --shard 0/2").exit_code, 2);  // no --report-out
}

}  // namespace
}  // namespace regsync::testing

namespace regsync::testing {
namespace {

// KVM runs guests of the host's own architecture: kvm-probe of arm64 or
// riscv64 on this x86 host says why there is nothing to probe, exit 2.
TEST(Cli, KvmProbeOfAnotherArchitectureSaysWhyAndExits2) {
#if defined(__x86_64__)
    for (const char* a : {"arm64", "riscv64"}) {
        const auto r = run_cli(std::string("kvm-probe --arch ") + a);
        EXPECT_EQ(r.exit_code, 2) << r.output;
        EXPECT_NE(r.output.find(std::string("no ") + a + " /dev/kvm here: this host is x86"), std::string::npos) << r.output;
    }
#endif
    const auto bad = run_cli("kvm-probe --arch mips");
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_NE(bad.output.find("unknown --arch 'mips'"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace regsync::testing

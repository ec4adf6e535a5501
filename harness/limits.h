// What regsync accepts from its input files. Each limit is checked where the
// input is read; going past one is an InputError that names the limit, so a
// hand-written or corrupted file fails at once instead of running every
// execution into max_steps or allocating without bound.
#pragma once
#include <cstddef>
#include <cstdint>

namespace regsync::harness::limits {

// vCPUs in a scenario. KVM allows more (KVM_MAX_VCPUS: 1024 on x86 and
// riscv, 512 on arm64), but each vCPU is a fiber and a vCPU thread's worth of
// schedule: past 64 no execution reaches its end within a usable max_steps.
inline constexpr std::size_t kVcpus = 64;
// Programs (the reset code and [[vcpu.program]]s) of one vCPU.
inline constexpr std::size_t kProgramsPerVcpu = 64;
// Guest steps in one program, and in the whole scenario.
inline constexpr std::size_t kStepsPerProgram = 4096;
inline constexpr std::size_t kGuestSteps = 65536;
// [[main]] operations.
inline constexpr std::size_t kMainOps = 1024;
// [[vcpu.timer]] expiries of one vCPU.
inline constexpr std::size_t kTimersPerVcpu = 1024;
// max_steps: every step may make a scheduling decision and an event line.
inline constexpr std::uint64_t kMaxSteps = 1'000'000;
// Decisions in a trace: at most one per step.
inline constexpr std::size_t kDecisions = kMaxSteps;
// Bytes of one input file: TOML (scenarios, profiles, the catalogue), and
// JSON (traces and shard reports, which carry an event log).
inline constexpr std::size_t kTomlBytes = 1u << 20;
inline constexpr std::size_t kJsonBytes = 256u << 20;
// Shards of one sharded run.
inline constexpr std::uint64_t kShards = 1u << 20;

}  // namespace regsync::harness::limits

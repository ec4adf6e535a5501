// A scenario: architecture, vCPUs with their guest code, the kernel's timer
// expiries, the VMM main loop's operations with their timing constraints,
// and which properties apply. Scenarios are data, written in TOML.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fakekvm/guest_program.h"
#include "fakekvm/kernel_actors.h"
#include "model/arch.h"
#include "model/catalogue.h"
#include "properties/property.h"

namespace regsync::harness {

// GuestReset: the main loop's answer to a guest's reset request
// (qemu_system_reset_request -> main_loop_should_exit), once one was made.
enum class MainOpKind { MonitorRead, MonitorWrite, SystemReset, Savevm, Loadvm, GuestReset };

struct MainOp {
    MainOpKind kind{};
    int vcpu = 0;
    model::RegIndex reg = -1;
    std::uint64_t value = 0;
    std::string snapshot;
    std::uint64_t after_tick = 0;                // not before this virtual time
    std::optional<std::uint32_t> after_io;       // not before some guest reported this value by port I/O
    long line = 0;
    long after_io_line = 0;
};

struct VcpuSpec {
    bool bsp = false;
    std::uint64_t mp_state = 0;  // KVM_MP_STATE_* at creation (x86)
    fakekvm::GuestImage image;
    std::vector<std::pair<model::RegIndex, std::uint64_t>> regs;  // overrides of the reset values
    std::vector<fakekvm::TimerExpiry> timer;
};

struct Scenario {
    std::string name;
    std::string description;
    std::string file;     // where it was loaded from
    std::string source;   // what the user named: a bundled name or a path
    std::uint64_t content_hash = 0;
    model::Arch arch = model::Arch::X86;
    std::vector<VcpuSpec> vcpus;
    std::vector<MainOp> main;
    std::uint64_t clock_ticks = 0;
    std::uint64_t tsc_per_tick = 1000;
    properties::PropertySet properties = properties::kAllProperties;
    std::uint32_t max_steps = 2000;

    std::vector<model::RegisterValues> initial_registers() const;
    std::vector<bool> bsp_flags() const;
};

// Parses TOML text; throws InputError naming `file`, the line, and the problem.
Scenario parse_scenario(const std::string& text, const std::string& file);
// NAME (a bundled scenario) or a path to a .toml file.
Scenario load_scenario(const std::string& name_or_path, const std::string& bundled_dir);
std::vector<std::string> bundled_scenarios(const std::string& bundled_dir);
// The names (stems) of the .toml files in `dir`, sorted: bundled scenarios,
// kernel profiles.
std::vector<std::string> toml_names(const std::string& dir);
std::string hex64(std::uint64_t v);

}  // namespace regsync::harness

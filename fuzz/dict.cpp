// Writes the libFuzzer dictionary of one input format from regsync's own
// tables (registers, guest steps, policies, kernel axes, properties), so the
// dictionary cannot fall behind the parsers. Usage: fuzz_dict FORMAT.
#include <cstdio>
#include <set>
#include <sstream>
#include <string>

#include "fakekvm/arch_vcpu.h"
#include "fakekvm/kernel_axes.h"
#include "fakekvm/kernel_config.h"
#include "harness/data_dirs.h"
#include "harness/scenario.h"
#include "model/arch.h"
#include "model/catalogue.h"
#include "model/policy_registry.h"
#include "properties/property.h"

namespace {

using namespace regsync;
constexpr model::Arch kArches[] = {model::Arch::X86, model::Arch::PpcBookE, model::Arch::Arm64, model::Arch::Riscv64};

void add_list(std::set<std::string>& out, const std::string& comma_separated) {
    std::istringstream in(comma_separated);
    for (std::string w; std::getline(in, w, ',');) {
        const auto b = w.find_first_not_of(' ');
        if (b != std::string::npos) out.insert(w.substr(b));
    }
}

void add_names(std::set<std::string>& out) {
    for (const auto& p : model::policies()) out.insert(std::string(p.name));
    for (const auto& v : fakekvm::kernel_variants()) out.insert(std::string(v.name));
    for (const auto& s : harness::bundled_scenarios(harness::data_scenario_dir())) out.insert(s);
    for (int p = 0; p < properties::kPropertyCount; ++p) out.insert(std::string(properties::to_string(static_cast<properties::Property>(p))));
}

void add_axes(std::set<std::string>& out) {
    for (const auto& a : fakekvm::kernel_axes()) {
        out.insert(std::string(a.name));
        for (const auto& alt : a.alternatives) out.insert(std::string(alt.name));
    }
}

}  // namespace

int main(int argc, char** argv) {
    const std::string format = argc == 2 ? argv[1] : "";
    std::set<std::string> w;
    if (format == "scenario") {
        add_list(w, "arch, name, description, properties, max_steps, [clock], ticks, tsc_per_tick, [[vcpu]], bsp, state, code, "
                    "[[vcpu.program]], entry, regs, [[vcpu.timer]], at_tick, set, [[main]], op, vcpu, reg, value, snapshot, after_tick, "
                    "after_io, running, stopped, wait-for-sipi, uninitialized, watchdog, DIS, FIS, ENW, WIS, monitor-read, monitor-write, "
                    "system-reset, guest-reset, savevm, loadvm, nop, write, rdtsc, ack_tsr, arm_tsc_deadline, send_init, send_sipi, hlt, io, "
                    "hypercall, 0x, true, false");
        for (const auto a : kArches) {
            w.insert(std::string(model::to_string(a)));
            add_list(w, fakekvm::arch_step_names(a));
            for (const auto& r : model::catalogue(a).regs) w.insert(std::string(r.name));
        }
        for (int p = 0; p < properties::kPropertyCount; ++p) w.insert(std::string(properties::to_string(static_cast<properties::Property>(p))));
    } else if (format == "trace") {
        add_list(w, "\"format\", \"regsync-trace\", \"format_version\", \"tool_version\", \"" REGSYNC_VERSION "\", \"scenario\", \"name\", "
                    "\"source\", \"content_hash\", \"policy\", \"plugin\", \"path\", \"kernel\", \"strategy\", \"seed\", \"execution\", "
                    "\"decisions\", \"outcome\", \"violations\", \"property\", \"vcpu\", \"reg\", \"bits\", \"origin_step\", \"step\", "
                    "\"message\", \"fault\", \"what\", \"hook\", \"events\", quiescent, step-limit, plugin-fault, random, pct, dfs, 65534, 65535");
        add_names(w);
    } else if (format == "profile") {
        add_list(w, "name, description, source, =, \"");
        add_axes(w);
    } else if (format == "catalogue") {
        add_list(w, "[[bug]], name, title, source, scenario, property, also, policies, plugin_policies, kernels, when, fix_policy, "
                    "fix_kernel, step-limit, deadlock, *");
        add_names(w);
        add_axes(w);
    } else if (format == "shard") {
        add_list(w, "\"format\", \"regsync-shard\", \"format_version\", \"tool_version\", \"" REGSYNC_VERSION "\", \"scenario\", \"name\", "
                    "\"hash\", \"policy\", \"kernel\", \"strategy\", \"seed\", \"executions\", \"depth\", \"shard\", \"pct\", \"runs\", "
                    "\"violating_execution\", \"violation_found\", \"dfs\", \"preemption_bound\", \"reduction\", \"split_depth\", \"passes\", "
                    "\"bound\", \"complete\", \"task_count\", \"tasks\", \"violation\", random, pct, dfs, none, sleep, dpor, bpor, lock-aware, lock-aware-bpor");
        w.insert("\n--- next shard ---\n");
        add_list(w, "\"regsync-matrix-shard\", \"regsync-mutants-shard\", \"config\", \"scenarios\", \"policies\", \"kernels\", \"budget\", "
                    "\"searches\", \"search\", \"found\", \"dfs_schedules\", \"random_executions\", \"exhausted\", \"exhausted_bound\", "
                    "\"violating\", \"first_violation\", \"shortest_decisions\", \"shortest_strategy\", \"shortest_index\", \"mutants\", "
                    "\"results\", \"mutant\", \"mutation\", \"applicable\", \"killed\", \"baseline\", \"probe_executions\"");
        add_names(w);
    } else if (format == "plugin") {
        add_list(w, "abi_version, size, arch, flags, name, description, follows, null, create_vcpu, needs_synchronize, synchronize_state, "
                    "post_reset, post_init, pre_run, get_register, set_register, destroy_vcpu, %0a, -, *, -2, -22");
        for (const auto a : kArches)
            for (const auto& r : model::catalogue(a).regs) w.insert(std::string(r.name));
        for (const auto& p : model::policies()) w.insert(std::string(p.name));
    } else {
        std::fprintf(stderr, "usage: fuzz_dict scenario|trace|profile|catalogue|shard|plugin\n");
        return 2;
    }
    for (const auto& e : w) {
        std::string q;
        for (const unsigned char c : e) {
            if (c == '"' || c == '\\') q += '\\', q += static_cast<char>(c);
            else if (c < 0x20 || c >= 0x7f) {
                char b[5];
                std::snprintf(b, sizeof b, "\\x%02x", c);
                q += b;
            } else q += static_cast<char>(c);
        }
        std::printf("\"%s\"\n", q.c_str());
    }
    return 0;
}

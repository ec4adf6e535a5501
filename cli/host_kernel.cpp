#include "cli/host_kernel.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fakekvm/kernel_axes.h"
#include "harness/input_error.h"
#include "realkvm/kvm_device.h"
#include "realkvm/probe.h"

namespace regsync::cli {

namespace {

std::filesystem::path cache_dir() {
    if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::filesystem::path(x) / "regsync";
    if (const char* h = std::getenv("HOME"); h && *h) return std::filesystem::path(h) / ".cache" / "regsync";
    return std::filesystem::temp_directory_path() / "regsync";
}

void print_table(const realkvm::ProbeReport& rep) {
    std::printf("| behaviour |");
    for (const auto& v : rep.variants) std::printf(" fake %s |", v.c_str());
    std::printf(" real |  agree |\n|---|");
    for (std::size_t i = 0; i <= rep.variants.size() + 1; ++i) std::printf("---|");
    std::printf("\n");
    for (const auto& r : rep.rows) {
        std::printf("| %s |", r.behaviour.c_str());
        for (const auto& f : r.fake) std::printf(" %s |", f.c_str());
        const std::string verdict = r.real.empty() ? "-" : r.agree ? "yes" : !r.matches.empty() ? "as " + r.matches : "NO";
        std::printf(" %s | %s |\n", r.real.empty() ? "-" : r.real.c_str(), verdict.c_str());
    }
}

realkvm::MeasuredProfile measure() {
    auto m = realkvm::measure_profile(realkvm::kernel_release() + " (" + realkvm::kvm_module() + ")");
    if (!m.unavailable.empty()) throw harness::InputError("no real KVM here: " + m.unavailable);
    return m;
}

// The probe table with the built-in variants' columns and the measured profile's.
void print_measured(const realkvm::MeasuredProfile& m) {
    realkvm::ProbeReport t;
    for (std::size_t c = 0; c < m.report.variants.size(); ++c)
        if (c < m.builtin_columns || c == m.column) t.variants.push_back(c == m.column ? "measured" : m.report.variants[c]);
    for (const auto& r : m.report.rows) {
        realkvm::ProbeRow row = r;
        row.fake.clear();
        for (std::size_t c = 0; c < r.fake.size(); ++c)
            if (c < m.builtin_columns || c == m.column) row.fake.push_back(r.fake[c]);
        row.agree = !r.real.empty() && r.real == r.fake[m.column];
        row.matches.clear();
        t.rows.push_back(std::move(row));
    }
    print_table(t);
}

}  // namespace

// The cache key names the kernel and the axes: a regsync with other axes
// or alternatives probes again rather than read a profile it cannot parse.
std::string axes_key() {
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
    const auto mix = [&](std::string_view s) {
        for (unsigned char ch : s) h = (h ^ ch) * 1099511628211ULL;
        h = (h ^ ';') * 1099511628211ULL;
    };
    for (const auto& a : fakekvm::kernel_axes()) {
        mix(a.name);
        for (const auto& alt : a.alternatives) mix(alt.name);
    }
    char b[17];
    std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(h));
    return std::string(b, 8);
}

std::string resolve_host_kernel(const std::string& name) {
    if (name != "host") return name;
    const auto path = cache_dir() / ("host-" + realkvm::kernel_release() + "-" + realkvm::kvm_module() + "-axes-" + axes_key() + ".toml");
    if (std::filesystem::exists(path)) return path.string();
    const auto got = measure();
    if (!got.unexplained.empty())
        throw harness::InputError("--kernel host: no kernel profile gives this kernel's answer on '" + got.unexplained.front() + "'; run regsync kvm-probe");
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    std::ofstream(path) << realkvm::profile_toml(got.profile);
    if (!std::filesystem::exists(path)) throw harness::InputError(path.string() + ": cannot write the host profile");
    return path.string();
}

// Without --profile-out the profile is measured and shown, not written: a
// row is a disagreement only when no combination of the axes explains it.
int cmd_kvm_probe(const std::string& profile_out, const std::string& arch_name) {
    const auto arch = model::arch_from_string(arch_name);
    if (!arch) {
        std::fprintf(stderr, "regsync: kvm-probe: unknown --arch '%s' (%s)\n", arch_name.c_str(), model::arch_names().c_str());
        return 2;
    }
    // KVM runs guests of the host's own architecture only: a probe of
    // another one needs a host of it. The probe rows exist for x86.
#if defined(__x86_64__)
    const model::Arch host = model::Arch::X86;
#elif defined(__aarch64__)
    const model::Arch host = model::Arch::Arm64;
#elif defined(__riscv)
    const model::Arch host = model::Arch::Riscv64;
#else
    const model::Arch host = model::Arch::PpcBookE;
#endif
    if (*arch != host) {
        std::fprintf(stderr,
                     "regsync: kvm-probe --arch %s: no %s /dev/kvm here: this host is %s and KVM runs guests of its own architecture only; "
                     "the fake's %s behaviours come from the kernel sources the README names, not from a probe\n",
                     arch_name.c_str(), std::string(model::to_string(*arch)).c_str(), std::string(model::to_string(host)).c_str(),
                     std::string(model::to_string(*arch)).c_str());
        return 2;
    }
    if (host != model::Arch::X86) {
        std::fprintf(stderr, "regsync: kvm-probe --arch %s: no probe rows for %s yet (only x86 has them)\n", arch_name.c_str(),
                     std::string(model::to_string(host)).c_str());
        return 2;
    }
    realkvm::MeasuredProfile got;
    try {
        got = measure();
    } catch (const harness::InputError& e) {
        std::fprintf(stderr, "regsync: kvm-probe: %s\n", e.what());
        return 2;
    }
    print_measured(got);
    std::printf("\nmeasured profile (column 'measured'):\n");
    for (const auto& [a, alt] : got.profile.axes) std::printf("  %s = %s\n", a.c_str(), alt.c_str());
    for (const auto& u : got.undecided) std::printf("undecided: %s\n", u.c_str());
    for (const auto& u : got.unexplained) std::printf("UNEXPLAINED: no combination of the axes gives the real answer on '%s'\n", u.c_str());
    if (!profile_out.empty()) {
        std::ofstream(profile_out) << realkvm::profile_toml(got.profile);
        std::printf("profile written to %s\n", profile_out.c_str());
    }
    return got.unexplained.empty() ? 0 : 1;
}

}  // namespace regsync::cli

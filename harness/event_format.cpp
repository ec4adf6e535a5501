#include "harness/event_format.h"

#include <cinttypes>
#include <cstdio>

#include "model/catalogue.h"
#include "model/ioctl_fields.h"
#include "model/kvm_abi.h"

namespace regsync::harness {

namespace {
const char* exit_name(std::uint32_t r) {
    switch (r) {
        case KVM_EXIT_IO: return "KVM_EXIT_IO";
        case KVM_EXIT_INTR: return "KVM_EXIT_INTR";
        case KVM_EXIT_HYPERCALL: return "KVM_EXIT_HYPERCALL";
        default: return "KVM_EXIT_?";
    }
}
}  // namespace

std::string format_event(model::Arch arch, const std::vector<std::string>& actors, const sim::Event& e) {
    const auto& cat = model::catalogue(arch);
    const std::string who = e.actor < actors.size() ? actors[e.actor] : std::string("-");
    const std::string reg = e.reg >= 0 && static_cast<std::size_t>(e.reg) < cat.size() ? std::string(cat[e.reg].name) : "-";
    char buf[256];
    using K = sim::EventKind;
    switch (e.kind) {
        case K::KernelWrite:
            std::snprintf(buf, sizeof buf, "vcpu%d %s 0x%" PRIx64 " -> 0x%" PRIx64 " by %s", e.vcpu, reg.c_str(), e.old, e.value, sim::to_string(e.writer));
            break;
        case K::Ioctl: std::snprintf(buf, sizeof buf, "%s vcpu%d", model::ioctl_name(arch, e.aux).c_str(), e.vcpu); break;
        case K::Intent:
            std::snprintf(buf, sizeof buf, "vcpu%d %s := 0x%" PRIx64 " (%s)", e.vcpu, reg.c_str(), e.value, sim::to_string(static_cast<sim::IntentCause>(e.aux)));
            break;
        case K::VcpuEnter: std::snprintf(buf, sizeof buf, "vcpu%d", e.vcpu); break;
        case K::VcpuExit: std::snprintf(buf, sizeof buf, "vcpu%d %s", e.vcpu, exit_name(e.aux)); break;
        case K::GuestTscRead:
            std::snprintf(buf, sizeof buf, "vcpu%d %s=0x%" PRIx64, e.vcpu, arch == model::Arch::X86 ? "tsc" : std::string(cat[cat.tsc].name).c_str(), e.value);
            break;
        case K::GuestIo: std::snprintf(buf, sizeof buf, "vcpu%d port 0x%x value 0x%" PRIx64, e.vcpu, e.aux, e.value); break;
        case K::GuestEntry: std::snprintf(buf, sizeof buf, "vcpu%d pc=0x%" PRIx64, e.vcpu, e.value); break;
        case K::InitSent: std::snprintf(buf, sizeof buf, "vcpu%d -> vcpu%u", e.vcpu, e.aux); break;
        case K::SipiSent: std::snprintf(buf, sizeof buf, "vcpu%d -> vcpu%u vector 0x%" PRIx64, e.vcpu, e.aux, e.value); break;
        case K::SnapshotSaved: std::snprintf(buf, sizeof buf, "#%u vcpu%d %s = 0x%" PRIx64, e.aux, e.vcpu, reg.c_str(), e.value); break;
        case K::SnapshotLoaded: std::snprintf(buf, sizeof buf, "#%u", e.aux); break;
        case K::MonitorRead: std::snprintf(buf, sizeof buf, "vcpu%d %s = 0x%" PRIx64, e.vcpu, reg.c_str(), e.value); break;
        case K::TimerInterrupt: std::snprintf(buf, sizeof buf, "vcpu%d deadline 0x%" PRIx64, e.vcpu, e.value); break;
        case K::InitAccepted:
        case K::InitCleared:
        case K::InitLatched:
        case K::VmmCpuInit: std::snprintf(buf, sizeof buf, "vcpu%d", e.vcpu); break;
        case K::SipiAccepted: std::snprintf(buf, sizeof buf, "vcpu%d vector 0x%" PRIx64, e.vcpu, e.value); break;
        case K::SipiDropped:
            if (e.aux == 1) std::snprintf(buf, sizeof buf, "vcpu%d by a later INIT", e.vcpu);
            else std::snprintf(buf, sizeof buf, "vcpu%d mp_state %" PRIu64, e.vcpu, e.value);
            break;
        case K::StartRequested: std::snprintf(buf, sizeof buf, "vcpu%d -> vcpu%u entry 0x%" PRIx64, e.vcpu, e.aux, e.value); break;
        case K::StartServiced: std::snprintf(buf, sizeof buf, "vcpu%d pc=0x%" PRIx64, e.vcpu, e.value); break;
        case K::VmStopped:
        case K::VmResumed: buf[0] = 0; break;
    }
    std::string line = "step " + std::to_string(e.step) + " " + who + ": " + sim::to_string(e.kind);
    if (buf[0]) line += std::string(" ") + buf;
    return line;
}

std::string hex_value(std::uint64_t v) {
    char b[24];
    std::snprintf(b, sizeof b, "0x%" PRIx64, v);
    return b;
}

std::string html_escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '&') o += "&amp;";
        else if (c == '<') o += "&lt;";
        else if (c == '>') o += "&gt;";
        else if (c == '"') o += "&quot;";
        else o += c;
    }
    return o;
}

std::vector<std::string> format_events(model::Arch arch, const std::vector<std::string>& actors, const std::vector<sim::Event>& events) {
    std::vector<std::string> out;
    out.reserve(events.size());
    for (const auto& e : events) out.push_back(format_event(arch, actors, e));
    return out;
}

}  // namespace regsync::harness

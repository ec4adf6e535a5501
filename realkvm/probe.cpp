#include "realkvm/probe.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <memory>

#include "fakekvm/fake_vm.h"
#include "fakekvm/kernel_axes.h"
#include "fakekvm/kernel_config.h"
#include "model/catalogue.h"
#include "model/kvm_abi.h"
#include "harness/execution.h"
#include "harness/scenario.h"
#include "realkvm/guest_run.h"
#include "realkvm/kvm_device.h"
#include "realkvm/x86_real_mode.h"
#include "sched/decision_source.h"
#include "sim/scheduler.h"
#include "sim/world.h"

namespace regsync::realkvm {

namespace {

using Experiment = std::function<std::string(model::KvmVm&)>;

std::string err(const char* what, int r) { return std::string(what) + " failed (" + std::to_string(r) + ")"; }

// KVM_SET_REGS, then KVM_GET_REGS returns what was set.
std::string regs_round_trip(model::KvmVm& vm) {
    auto& v = vm.vcpu(0);
    struct kvm_regs r {};
    if (int e = v.ioctl(KVM_GET_REGS, &r); e < 0) return err("KVM_GET_REGS", e);
    r.rax = 0x1234, r.rbx = 0x5678, r.rsi = 0x9abc, r.rip = 0x1000, r.rflags = 0x2;
    if (int e = v.ioctl(KVM_SET_REGS, &r); e < 0) return err("KVM_SET_REGS", e);
    struct kvm_regs g {};
    v.ioctl(KVM_GET_REGS, &g);
    std::string diff;
    if (g.rax != r.rax) diff += " rax";
    if (g.rbx != r.rbx) diff += " rbx";
    if (g.rsi != r.rsi) diff += " rsi";
    if (g.rip != r.rip) diff += " rip";
    if (g.rflags != r.rflags) diff += " rflags";
    return diff.empty() ? "round-trips" : "differs:" + diff;
}

// KVM_SET_SREGS of a real-mode CS and CR3, then KVM_GET_SREGS.
std::string sregs_round_trip(model::KvmVm& vm) {
    auto& v = vm.vcpu(0);
    struct kvm_sregs s {};
    if (int e = v.ioctl(KVM_GET_SREGS, &s); e < 0) return err("KVM_GET_SREGS", e);
    s.cs.base = 0x10000, s.cs.selector = 0x1000, s.cr3 = 0x3000, s.cr2 = 0x42;
    if (int e = v.ioctl(KVM_SET_SREGS, &s); e < 0) return err("KVM_SET_SREGS", e);
    struct kvm_sregs g {};
    v.ioctl(KVM_GET_SREGS, &g);
    std::string diff;
    if (g.cs.base != s.cs.base) diff += " cs.base";
    if (g.cs.selector != s.cs.selector) diff += " cs.selector";
    if (g.cr3 != s.cr3) diff += " cr3";
    if (g.cr2 != s.cr2) diff += " cr2";
    if (g.cr0 != s.cr0) diff += " cr0";
    if (g.efer != s.efer) diff += " efer";
    return diff.empty() ? "round-trips" : "differs:" + diff;
}

std::string msrs_round_trip(model::KvmVm& vm) {
    auto& v = vm.vcpu(0);
    x86::kvm_msrs_buf b;
    b.nmsrs = 2;
    b.entries[0].index = x86::MSR_IA32_SYSENTER_CS, b.entries[0].data = 0x10;
    b.entries[1].index = x86::MSR_STAR, b.entries[1].data = 0x0023001000000000ULL;
    if (int e = v.ioctl(x86::kvm_set_msrs, b.arg()); e != 2) return err("KVM_SET_MSRS", e);
    x86::kvm_msrs_buf g;
    g.nmsrs = 2;
    g.entries[0].index = b.entries[0].index, g.entries[1].index = b.entries[1].index;
    if (int e = v.ioctl(x86::kvm_get_msrs, g.arg()); e != 2) return err("KVM_GET_MSRS", e);
    std::string diff;
    if (g.entries[0].data != b.entries[0].data) diff += " SYSENTER_CS";
    if (g.entries[1].data != b.entries[1].data) diff += " STAR";
    return diff.empty() ? "round-trips" : "differs:" + diff;
}

std::string mp_state_round_trip(model::KvmVm& vm) {
    auto& v = vm.vcpu(0);
    struct kvm_mp_state m {KVM_MP_STATE_RUNNABLE};
    if (int e = v.ioctl(KVM_SET_MP_STATE, &m); e < 0) return err("KVM_SET_MP_STATE", e);
    struct kvm_mp_state g {};
    if (int e = v.ioctl(KVM_GET_MP_STATE, &g); e < 0) return err("KVM_GET_MP_STATE", e);
    return g.mp_state == m.mp_state ? "round-trips" : "differs: " + std::to_string(g.mp_state);
}

std::string events_round_trip(model::KvmVm& vm) {
    auto& v = vm.vcpu(0);
    struct kvm_vcpu_events e {};
    if (int r = v.ioctl(KVM_GET_VCPU_EVENTS, &e); r < 0) return err("KVM_GET_VCPU_EVENTS", r);
    e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
    e.nmi.pending = 1;
    if (int r = v.ioctl(KVM_SET_VCPU_EVENTS, &e); r < 0) return err("KVM_SET_VCPU_EVENTS", r);
    struct kvm_vcpu_events g {};
    v.ioctl(KVM_GET_VCPU_EVENTS, &g);
    std::string diff;
    if (g.nmi.pending != 1) diff += " nmi.pending";
    if (g.exception.injected != e.exception.injected) diff += " exception.injected";
    return diff.empty() ? "round-trips" : "differs:" + diff;
}

// KVM_SET_MSRS / KVM_GET_MSRS of one MSR; the ioctl's result (1: done).
int set_msr(model::KvmVcpu& vcpu, __u32 index, std::uint64_t v) {
    x86::kvm_msrs_buf b;
    b.nmsrs = 1;
    b.entries[0].index = index;
    b.entries[0].data = v;
    return vcpu.ioctl(x86::kvm_set_msrs, b.arg());
}

int get_msr(model::KvmVcpu& vcpu, __u32 index, std::uint64_t& v) {
    x86::kvm_msrs_buf b;
    b.nmsrs = 1;
    b.entries[0].index = index;
    const int r = vcpu.ioctl(x86::kvm_get_msrs, b.arg());
    v = b.entries[0].data;
    return r;
}

int set_tsc(model::KvmVcpu& v, std::uint64_t tsc) { return set_msr(v, x86::MSR_IA32_TSC, tsc); }
int get_tsc(model::KvmVcpu& v, std::uint64_t& tsc) { return get_msr(v, x86::MSR_IA32_TSC, tsc); }

// Sets IA32_TSC to 10^12, reads it back into `before`, then writes one
// `behind` cycles older. Empty, or what failed.
std::string write_older_tsc(model::KvmVcpu& v, std::uint64_t behind, std::uint64_t& before) {
    if (int e = set_tsc(v, 1000000000000ULL); e != 1) return err("KVM_SET_MSRS", e);
    if (int e = get_tsc(v, before); e != 1) return err("KVM_GET_MSRS", e);
    if (int e = set_tsc(v, before - behind); e != 1) return err("KVM_SET_MSRS", e);
    return {};
}

// A host KVM_SET_MSRS of an IA32_TSC `behind` cycles behind the current
// value: does KVM_GET_MSRS then read the older value (the TSC went back)?
std::string tsc_write_back(model::KvmVm& vm, std::uint64_t behind) {
    auto& v = vm.vcpu(0);
    std::uint64_t before = 0;
    if (auto e = write_older_tsc(v, behind, before); !e.empty()) return e;
    std::uint64_t now = 0;
    get_tsc(v, now);
    return now < before ? "goes back" : "does not go back";
}

// Experiments with guest code: the same scenario run by the fake (through
// the whole simulation, non-preemptive schedule) and on real vCPUs.
struct GuestExperiment {
    std::string toml;
    std::size_t reports;  // port writes to wait for on real vCPUs
    // What the experiment shows, from the port writes (vcpu, value, where).
    std::function<std::string(const std::vector<IoReport>&)> verdict;
};

// A probe VM's scenario: the BSP runs `bsp`, the AP `ap` (TOML string
// lists), and with `at_vector` the AP's SIPI vector 0x10 (0x10000) holds a
// program that reports `at_vector` on port 0x80.
std::string probe_toml(const char* name, const char* bsp, const char* ap, int at_vector = 0) {
    std::string t = std::string("name = \"") + name + "\"\narch = \"x86\"\n[[vcpu]]\nbsp = true\ncode = [" + bsp + "]\n[[vcpu]]\ncode = [" + ap + "]\n";
    if (at_vector) t += "  [[vcpu.program]]\n  entry = 0x10000\n  code = [\"io 0x80 " + std::to_string(at_vector) + "\"]\n";
    return t;
}

const std::string kInitSipiHalted = probe_toml("probe-init-sipi", R"("nop", "send_init 1", "send_sipi 1 0x10", "io 0x80 1")", R"("write rbx 0x1", "hlt")", 2);

const std::string kSipiWithoutInit = probe_toml("probe-sipi-alone", R"("send_sipi 1 0x10", "io 0x80 1")", R"("hlt")", 2);

std::string ap_start(const std::vector<IoReport>& reports) {
    for (const auto& r : reports)
        if (r.vcpu == 1 && r.value == 2) return r.cs_base == 0x10000 || r.cs_base == ~0ULL ? "the AP runs at vector << 12" : "the AP runs elsewhere";
    return "the AP does not run";
}

std::string on_fake_guest(const fakekvm::KernelConfig& k, const GuestExperiment& g) {
    const auto s = harness::parse_scenario(g.toml, "probe");
    harness::Engine engine;
    sched::LenientReplayDecisions d({});
    const auto r = engine.run(s, "qemu-levels", k, d);
    std::vector<IoReport> reports;
    for (const auto& e : r.events)
        if (e.kind == sim::EventKind::GuestIo)
            reports.push_back({e.vcpu, static_cast<std::uint16_t>(e.aux), static_cast<std::uint32_t>(e.value), ~0ULL});
    return g.verdict(reports);
}

std::string on_real_guest(const GuestExperiment& g, std::string& why) {
    auto vm = RealVm::create(2, why);
    if (!vm) return {};
    const auto run = run_guest_code(*vm, harness::parse_scenario(g.toml, "probe"), g.reports, std::chrono::milliseconds(1000));
    if (!run.error.empty()) return "error: " + run.error;
    return g.verdict(run.reports);
}

const struct {
    const char* behaviour;
    GuestExperiment e;
} kGuestRows[] = {
    {"INIT then SIPI from the BSP's guest code to an AP in HLT", {kInitSipiHalted, 2, ap_start}},
    {"SIPI with no INIT before it, to an AP in HLT", {kSipiWithoutInit, 2, ap_start}},
};

// The BSP's guest code sends INIT to an AP that does not run, so the INIT
// stays pending (KVM_APIC_INIT); the host then does what today's QEMU does
// at a RUNTIME put: KVM_SET_VCPU_EVENTS with VALID_SMM and latched_init = 0
// (QEMU read 0 before the INIT arrived). Is the INIT still there?
const std::string kInitToIdleAp = probe_toml("probe-init-pending", R"("send_init 1", "io 0x80 1")", R"("hlt")");

std::string latched_init_after(model::KvmVm& vm) {
    auto& ap = vm.vcpu(1);
    struct kvm_vcpu_events e {};
    if (int r = ap.ioctl(KVM_GET_VCPU_EVENTS, &e); r < 0) return err("KVM_GET_VCPU_EVENTS", r);
    const bool pending = e.smi.latched_init != 0;
    e.flags = KVM_VCPUEVENT_VALID_SMM;
    e.smi.latched_init = 0;
    if (int r = ap.ioctl(KVM_SET_VCPU_EVENTS, &e); r < 0) return err("KVM_SET_VCPU_EVENTS", r);
    struct kvm_vcpu_events g {};
    ap.ioctl(KVM_GET_VCPU_EVENTS, &g);
    if (!pending) return "no INIT pending to begin with";
    return g.smi.latched_init ? "the pending INIT is kept" : "the pending INIT is cleared";
}

std::string mp_state_name(__u32 m) {
    switch (m) {
        case KVM_MP_STATE_RUNNABLE: return "RUNNABLE";
        case KVM_MP_STATE_UNINITIALIZED: return "UNINITIALIZED";
        case KVM_MP_STATE_INIT_RECEIVED: return "INIT_RECEIVED";
        case KVM_MP_STATE_HALTED: return "HALTED";
        case KVM_MP_STATE_SIPI_RECEIVED: return "SIPI_RECEIVED";
        default: return std::to_string(m);
    }
}

// What KVM_GET_MP_STATE returns for an AP with an INIT pending.
std::string mp_state_with_init_pending(model::KvmVm& vm) {
    struct kvm_mp_state m {};
    if (int r = vm.vcpu(1).ioctl(KVM_GET_MP_STATE, &m); r < 0) return err("KVM_GET_MP_STATE", r);
    return mp_state_name(m.mp_state);
}

// Userspace sets the obsolete SIPI_RECEIVED on an idle AP: what does the
// next KVM_GET_MP_STATE say?
std::string sipi_received_from_userspace(model::KvmVm& vm) {
    auto& ap = vm.vcpu(1);
    struct kvm_mp_state m {KVM_MP_STATE_SIPI_RECEIVED};
    if (int r = ap.ioctl(KVM_SET_MP_STATE, &m); r < 0) return "refused (" + std::to_string(r) + ")";
    struct kvm_mp_state g {};
    if (int r = ap.ioctl(KVM_GET_MP_STATE, &g); r < 0) return err("KVM_GET_MP_STATE", r);
    return mp_state_name(g.mp_state);
}

// A fake VM holding a scenario's guest code, driven by the experiment's own
// ioctls (no VMM, no scheduler: KVM_RUN returns at each port write).
std::string with_fake(const fakekvm::KernelConfig& k, const std::string& toml, const Experiment& then) {
    sim::InlineScheduler sched;
    sim::World world(sched);
    const auto s = harness::parse_scenario(toml, "probe");
    const auto initial = s.initial_registers();
    std::vector<fakekvm::VcpuSetup> setup;
    for (std::size_t i = 0; i < s.vcpus.size(); ++i) setup.push_back({s.vcpus[i].bsp, s.vcpus[i].image, initial[i]});
    fakekvm::FakeVm vm(world, model::Arch::X86, k, std::move(setup));
    return then(vm);
}

// The same on real vCPUs: the code is laid out and every vCPU set up, then
// `then` drives it (run_until_reports for the guest's part).
std::string with_real(const std::string& toml, const Experiment& then, std::string& why) {
    auto vm = RealVm::create(2, why);
    if (!vm) return {};
    if (const auto l = load_guest_code(*vm, harness::parse_scenario(toml, "probe")); !l.error.empty()) return "error: " + l.error;
    return then(*vm);
}

// Runs one vCPU until it has made `n` port writes; their values, fewer if
// it stops first (a real vCPU that halts for good times out after 1 s).
std::vector<std::uint32_t> run_until_reports(model::KvmVm& vm, int vcpu, std::size_t n) {
    std::vector<std::uint32_t> out;
    if (auto* real = dynamic_cast<RealVm*>(&vm)) {
        const auto run = run_vcpus(*real, vm.vcpu_count(), 1, n, std::chrono::milliseconds(1000), 1ULL << vcpu);
        for (const auto& r : run.reports) out.push_back(r.value);
        return out;
    }
    auto& v = vm.vcpu(vcpu);
    while (out.size() < n) {
        try {
            if (v.ioctl(KVM_RUN, nullptr) < 0 || v.run().exit_reason != KVM_EXIT_IO) break;
        } catch (const std::logic_error&) {
            break;  // the fake vCPU blocks for good (no other actor can wake it)
        }
        std::uint32_t value;
        std::memcpy(&value, reinterpret_cast<const unsigned char*>(&v.run()) + v.run().io.data_offset, sizeof value);
        out.push_back(value);
    }
    return out;
}

// Runs `then` after the BSP's guest code sent INIT to the idle AP.
std::string after_init(model::KvmVm& vm, const Experiment& then) {
    if (run_until_reports(vm, 0, 1).size() != 1) return "error: the BSP did not report";
    return then(vm);
}

std::string after_init_fake(const fakekvm::KernelConfig& k, const Experiment& then) {
    return with_fake(k, kInitToIdleAp, [&](model::KvmVm& vm) { return after_init(vm, then); });
}

std::string after_init_real(const Experiment& then, std::string& why) {
    return with_real(kInitToIdleAp, [&](model::KvmVm& vm) { return after_init(vm, then); }, why);
}

// What the guest's last RDTSC returned: the RDTSC log in real guest memory,
// the GuestTscRead event in the fake.
std::uint64_t last_guest_tsc(model::KvmVm& vm) {
    if (auto* real = dynamic_cast<RealVm*>(&vm)) return rdtsc_log_slot(real->memory(), 0);
    const auto& events = static_cast<fakekvm::FakeVm&>(vm).world().events();
    for (auto e = events.rbegin(); e != events.rend(); ++e)
        if (e->kind == sim::EventKind::GuestTscRead) return e->value;
    return 0;
}

// The guest-visible side of the TSC row: the host writes an IA32_TSC older
// than the current one, then the guest executes RDTSC.
const char* kGuestRdtsc = R"(name = "probe-guest-rdtsc"
arch = "x86"
[[vcpu]]
bsp = true
code = ["rdtsc", "io 0x80 1"]
)";

std::string guest_tsc_after_host_write(model::KvmVm& vm) {
    std::uint64_t before = 0;
    if (auto e = write_older_tsc(vm.vcpu(0), 100000000000ULL, before); !e.empty()) return e;
    if (run_until_reports(vm, 0, 1).size() != 1) return "error: the guest did not report";
    return last_guest_tsc(vm) < before ? "the guest's RDTSC goes back" : "the guest's RDTSC does not go back";
}

// INIT to the BSP (kvm_apic_accept_events: kvm_vcpu_reset(), then RUNNABLE
// for the BSP, INIT_RECEIVED for an AP): the BSP's guest code sends INIT to
// itself after its first port write, then runs a NOP and a second port
// write. Only the first round counts: the reset clears the ES base the
// restarted code's APIC writes go through.
const std::string kInitToBsp = probe_toml("probe-init-bsp", R"("io 0x80 1", "send_init 0", "nop", "io 0x80 2", "io 0x80 3")", R"("hlt")");

std::string init_to_bsp(model::KvmVm& vm) {
    const auto r = run_until_reports(vm, 0, 3);
    if (r.size() >= 2 && r[1] == 1) return "the BSP starts over at the reset vector without SIPI, before its next instruction";
    if (r.size() >= 3 && r[1] == 2 && r[2] == 1)
        return "the BSP runs on to its next exit (a port write), then starts over at the reset vector without SIPI";
    return r.size() < 2 ? "the BSP stops (waits for SIPI)" : "the BSP goes on";
}

// KVM_NMI (as QEMU's monitor "nmi") after the VMM's last KVM_GET_VCPU_EVENTS,
// then a KVM_SET_VCPU_EVENTS of what that GET returned.
std::string nmi_after_get(model::KvmVm& vm, __u32 flags) {
    auto& v = vm.vcpu(0);
    struct kvm_vcpu_events e {};
    if (int r = v.ioctl(KVM_GET_VCPU_EVENTS, &e); r < 0) return err("KVM_GET_VCPU_EVENTS", r);
    if (int r = v.ioctl(KVM_NMI, nullptr); r < 0) return err("KVM_NMI", r);
    e.flags = flags;
    if (int r = v.ioctl(KVM_SET_VCPU_EVENTS, &e); r < 0) return err("KVM_SET_VCPU_EVENTS", r);
    struct kvm_vcpu_events g {};
    v.ioctl(KVM_GET_VCPU_EVENTS, &g);
    return g.nmi.pending ? "the NMI is kept" : "the NMI is dropped";
}

std::string nmi_with_valid_nmi_pending(model::KvmVm& vm) { return nmi_after_get(vm, KVM_VCPUEVENT_VALID_NMI_PENDING); }
std::string nmi_without_flags(model::KvmVm& vm) { return nmi_after_get(vm, 0); }

// INIT and SIPI reach an idle AP after the VMM's last KVM_GET_VCPU_EVENTS of
// it; the VMM then puts that GET's sipi_vector back with VALID_SIPI_VECTOR
// (QEMU does at KVM_PUT_RESET_STATE). Where does the AP start?
const char* kSipiAfterGet = R"(name = "probe-sipi-after-get"
arch = "x86"
[[vcpu]]
bsp = true
code = ["send_init 1", "send_sipi 1 0x10", "io 0x80 1"]
[[vcpu]]
code = ["hlt"]
  [[vcpu.program]]
  entry = 0x10000
  code = ["io 0x80 2"]
  [[vcpu.program]]
  entry = 0x0
  code = ["io 0x80 4"]
)";

std::string sipi_vector_after_get(model::KvmVm& vm) {
    auto& ap = vm.vcpu(1);
    struct kvm_vcpu_events e {};
    if (int r = ap.ioctl(KVM_GET_VCPU_EVENTS, &e); r < 0) return err("KVM_GET_VCPU_EVENTS", r);
    if (run_until_reports(vm, 0, 1).size() != 1) return "error: the BSP did not report";
    e.flags = KVM_VCPUEVENT_VALID_SIPI_VECTOR;
    if (int r = ap.ioctl(KVM_SET_VCPU_EVENTS, &e); r < 0) return err("KVM_SET_VCPU_EVENTS", r);
    const auto r = run_until_reports(vm, 1, 1);
    if (r.empty()) return "the AP does not start";
    if (r[0] == 4) return "the AP starts at the stale vector from the GET";
    return r[0] == 2 ? "the AP starts at the SIPI's vector" : "the AP starts elsewhere";
}

// What KVM_GET_MP_STATE of the AP (vCPU 1) says once `put` has run on it
// with an INIT pending: the INIT is still there when the AP is reset to
// INIT_RECEIVED (KVM_GET_MP_STATE accepts it).
std::string init_after_put(model::KvmVm& vm, const Experiment& put) {
    if (auto e = put(vm); !e.empty()) return e;
    struct kvm_mp_state m {};
    if (int r = vm.vcpu(1).ioctl(KVM_GET_MP_STATE, &m); r < 0) return err("KVM_GET_MP_STATE", r);
    return m.mp_state == KVM_MP_STATE_INIT_RECEIVED ? "the pending INIT is kept" : "the INIT is gone (" + mp_state_name(m.mp_state) + ")";
}

std::string set_mp_state_runnable(model::KvmVm& vm) {
    struct kvm_mp_state m {KVM_MP_STATE_RUNNABLE};
    const int r = vm.vcpu(1).ioctl(KVM_SET_MP_STATE, &m);
    return r < 0 ? err("KVM_SET_MP_STATE", r) : "";
}

std::string get_set_lapic(model::KvmVm& vm) {
    struct kvm_lapic_state la {};
    if (int r = vm.vcpu(1).ioctl(KVM_GET_LAPIC, &la); r < 0) return err("KVM_GET_LAPIC", r);
    const int r = vm.vcpu(1).ioctl(KVM_SET_LAPIC, &la);
    return r < 0 ? err("KVM_SET_LAPIC", r) : "";
}

std::string set_mp_state_init_received(model::KvmVm& vm) {
    struct kvm_mp_state m {KVM_MP_STATE_INIT_RECEIVED};
    const int r = vm.vcpu(1).ioctl(KVM_SET_MP_STATE, &m);
    return r < 0 ? err("KVM_SET_MP_STATE", r) : "";
}

// The AP waits for SIPI (the host set INIT_RECEIVED, as after an INIT) and
// the BSP's guest code sends it a SIPI while it does not run, so the SIPI
// is pending (KVM_APIC_SIPI); `put` then restores state as loadvm would,
// with the AP waiting for SIPI. Does the pending SIPI start the AP?
const std::string kSipiPending = probe_toml("probe-sipi-pending", R"("send_sipi 1 0x10", "io 0x80 1")", R"("hlt")", 5);

// The same, and the BSP then sends INIT too: __apic_accept_irq() stores
// pending_events = KVM_APIC_INIT for an INIT, dropping the pending SIPI.
const std::string kSipiThenInit = probe_toml("probe-sipi-then-init", R"("send_sipi 1 0x10", "send_init 1", "io 0x80 1")", R"("hlt")", 5);

std::string sipi_after_put(model::KvmVm& vm, const Experiment& put) {
    if (auto e = set_mp_state_init_received(vm); !e.empty()) return e;
    if (run_until_reports(vm, 0, 1).size() != 1) return "error: the BSP did not report";
    if (auto e = put(vm); !e.empty()) return e;
    const auto r = run_until_reports(vm, 1, 1);
    if (r.empty()) return "the AP waits (the SIPI is gone)";
    return r[0] == 5 ? "the pending SIPI starts the AP at its vector" : "the AP starts elsewhere";
}

// What today's QEMU writes at loadvm, in its order: KVM_SET_LAPIC when the
// APIC's section loads (hw/i386/kvm/apic.c kvm_apic_post_load), then the
// KVM_PUT_FULL_STATE of cpu_synchronize_all_post_init (target/i386/kvm/kvm.c
// kvm_arch_put_registers: sregs, regs, MSRs, vcpu events, mp_state), of
// state read before the SIPI arrived. QEMU's latched_init is 0 (its GET saw
// INIT already taken) and mp_state INIT_RECEIVED (the snapshot's AP waited
// for SIPI).
std::string full_put(model::KvmVm& vm) {
    auto& ap = vm.vcpu(1);
    struct kvm_regs regs {};
    struct kvm_sregs sregs {};
    struct kvm_vcpu_events ev {};
    struct kvm_lapic_state la {};
    if (int r = ap.ioctl(KVM_GET_REGS, &regs); r < 0) return err("KVM_GET_REGS", r);
    if (int r = ap.ioctl(KVM_GET_SREGS, &sregs); r < 0) return err("KVM_GET_SREGS", r);
    if (int r = ap.ioctl(KVM_GET_VCPU_EVENTS, &ev); r < 0) return err("KVM_GET_VCPU_EVENTS", r);
    if (int r = ap.ioctl(KVM_GET_LAPIC, &la); r < 0) return err("KVM_GET_LAPIC", r);
    if (int r = ap.ioctl(KVM_SET_LAPIC, &la); r < 0) return err("KVM_SET_LAPIC", r);
    if (int r = ap.ioctl(KVM_SET_SREGS, &sregs); r < 0) return err("KVM_SET_SREGS", r);
    if (int r = ap.ioctl(KVM_SET_REGS, &regs); r < 0) return err("KVM_SET_REGS", r);
    ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SMM;
    ev.smi.latched_init = 0;
    if (int r = ap.ioctl(KVM_SET_VCPU_EVENTS, &ev); r < 0) return err("KVM_SET_VCPU_EVENTS", r);
    return set_mp_state_init_received(vm);
}

// The AP has taken INIT+SIPI and run; the host then puts latched_init = 1
// (QEMU does when its CPU_INTERRUPT_INIT is still set from an earlier GET).
// Is the INIT posted again?
std::string latched_init_after_start(model::KvmVm& vm) {
    if (run_until_reports(vm, 0, 1).size() != 1) return "error: the BSP did not report";
    if (run_until_reports(vm, 1, 1).size() != 1) return "error: the AP did not start";
    auto& ap = vm.vcpu(1);
    struct kvm_vcpu_events e {};
    if (int r = ap.ioctl(KVM_GET_VCPU_EVENTS, &e); r < 0) return err("KVM_GET_VCPU_EVENTS", r);
    e.flags = KVM_VCPUEVENT_VALID_SMM;
    e.smi.latched_init = 1;
    if (int r = ap.ioctl(KVM_SET_VCPU_EVENTS, &e); r < 0) return err("KVM_SET_VCPU_EVENTS", r);
    struct kvm_mp_state m {};
    if (int r = ap.ioctl(KVM_GET_MP_STATE, &m); r < 0) return err("KVM_GET_MP_STATE", r);
    return m.mp_state == KVM_MP_STATE_INIT_RECEIVED ? "the INIT is posted again (the AP is reset to INIT_RECEIVED)"
                                                     : "no new INIT (" + mp_state_name(m.mp_state) + ")";
}

// The guest writes IA32_TSC (WRMSR) with a value far older than its TSC:
// does the kernel record the jump in IA32_TSC_ADJUST (kvm_set_msr_common)?
const std::string kGuestTscWrite = probe_toml("probe-guest-tsc-write", R"("write IA32_TSC 0x1000", "io 0x80 1")", R"("hlt")");

std::string tsc_adjust_after_guest_write(model::KvmVm& vm) {
    if (run_until_reports(vm, 0, 1).size() != 1) return "error: the guest did not report";
    std::uint64_t adj = 0;
    if (int r = get_msr(vm.vcpu(0), x86::MSR_IA32_TSC_ADJUST, adj); r != 1) return err("KVM_GET_MSRS(IA32_TSC_ADJUST)", r);
    return adj == 0 ? "IA32_TSC_ADJUST stays 0" : "IA32_TSC_ADJUST records the jump";
}

const std::string kGuestTscWriteRdtsc =
    probe_toml("probe-guest-tsc-write-rdtsc", R"("rdtsc", "write IA32_TSC 0x1000", "rdtsc", "io 0x80 1")", R"("hlt")");

// The guest's second RDTSC after its WRMSR(IA32_TSC) of a value older than
// its first: did the write take the TSC back? (Real: the RDTSC log slots.)
// The host first sets the TSC to 10^12, so that 0x1000 is far older.
std::string guest_tsc_after_guest_write(model::KvmVm& vm) {
    if (int e = set_tsc(vm.vcpu(0), 1000000000000ULL); e != 1) return err("KVM_SET_MSRS", e);
    if (run_until_reports(vm, 0, 1).size() != 1) return "error: the guest did not report";
    std::uint64_t first = 0, second = 0;
    if (auto* real = dynamic_cast<RealVm*>(&vm)) {
        first = rdtsc_log_slot(real->memory(), 0);
        second = rdtsc_log_slot(real->memory(), 1);
    } else {
        std::vector<std::uint64_t> reads;
        for (const auto& e : static_cast<fakekvm::FakeVm&>(vm).world().events())
            if (e.kind == sim::EventKind::GuestTscRead) reads.push_back(e.value);
        if (reads.size() != 2) return "error: " + std::to_string(reads.size()) + " RDTSC reads";
        first = reads[0], second = reads[1];
    }
    return second < first ? "the guest's TSC goes back" : "the guest's TSC does not go back";
}

// A host KVM_SET_MSRS(IA32_TSC_ADJUST): is it only stored, or does the TSC
// move by it (as a guest's WRMSR would)?
std::string tsc_after_host_tsc_adjust(model::KvmVm& vm) {
    auto& v = vm.vcpu(0);
    std::uint64_t before = 0, after = 0, adj = 0;
    if (int r = get_tsc(v, before); r != 1) return err("KVM_GET_MSRS", r);
    if (int r = set_msr(v, x86::MSR_IA32_TSC_ADJUST, 1ULL << 40); r != 1) return err("KVM_SET_MSRS(IA32_TSC_ADJUST)", r);
    get_tsc(v, after);
    get_msr(v, x86::MSR_IA32_TSC_ADJUST, adj);
    const std::string stored = adj == (1ULL << 40) ? "stored" : "not stored";
    return after - before >= (1ULL << 39) ? "the TSC moves by it (" + stored + ")" : "the TSC does not move (" + stored + ")";
}

// A row whose experiment runs guest code laid out from `toml`.
struct ScenarioRow {
    const char* behaviour;
    std::string toml;
    Experiment run;
};

const ScenarioRow kScenarioRows[] = {
    {"guest RDTSC after a host KVM_SET_MSRS of an older IA32_TSC", kGuestRdtsc, guest_tsc_after_host_write},
    {"INIT from the BSP's guest code to the BSP itself", kInitToBsp, init_to_bsp},
    {"KVM_SET_VCPU_EVENTS(VALID_NMI_PENDING) of a GET from before a KVM_NMI", kGuestRdtsc, nmi_with_valid_nmi_pending},
    {"KVM_SET_VCPU_EVENTS(flags = 0) of a GET from before a KVM_NMI", kGuestRdtsc, nmi_without_flags},
    {"KVM_SET_VCPU_EVENTS(VALID_SIPI_VECTOR) of an AP's GET from before INIT+SIPI reached it", kSipiAfterGet, sipi_vector_after_get},
    {"KVM_SET_VCPU_EVENTS(VALID_SMM, latched_init = 1) after the AP took INIT+SIPI and ran, then KVM_GET_MP_STATE", kSipiAfterGet,
     latched_init_after_start},
    {"KVM_SET_MP_STATE(RUNNABLE) of an AP with an INIT pending, then KVM_GET_MP_STATE", kInitToIdleAp,
     [](model::KvmVm& vm) { return after_init(vm, [](model::KvmVm& v) { return init_after_put(v, set_mp_state_runnable); }); }},
    {"KVM_GET_LAPIC + KVM_SET_LAPIC of an AP with an INIT pending, then KVM_GET_MP_STATE", kInitToIdleAp,
     [](model::KvmVm& vm) { return after_init(vm, [](model::KvmVm& v) { return init_after_put(v, get_set_lapic); }); }},
    {"KVM_SET_MP_STATE(INIT_RECEIVED) of an AP with a SIPI pending, then KVM_RUN", kSipiPending,
     [](model::KvmVm& vm) { return sipi_after_put(vm, set_mp_state_init_received); }},
    {"loadvm's puts (LAPIC, then SREGS, REGS, VCPU_EVENTS latched_init = 0, MP_STATE INIT_RECEIVED) of an AP with a SIPI pending, then KVM_RUN",
     kSipiPending, [](model::KvmVm& vm) { return sipi_after_put(vm, full_put); }},
    {"guest WRMSR(IA32_TSC) of an older value, then host KVM_GET_MSRS(IA32_TSC_ADJUST)", kGuestTscWrite, tsc_adjust_after_guest_write},
    {"host KVM_SET_MSRS(IA32_TSC_ADJUST = 2^40), then KVM_GET_MSRS(IA32_TSC)", kGuestRdtsc, tsc_after_host_tsc_adjust},
    {"guest WRMSR(IA32_TSC) of an older value, then the guest's RDTSC", kGuestTscWriteRdtsc, guest_tsc_after_guest_write},
    {"INIT from the BSP's guest code to an AP with a SIPI pending, then KVM_RUN", kSipiThenInit,
     [](model::KvmVm& vm) { return sipi_after_put(vm, [](model::KvmVm&) { return std::string(); }); }},
};

std::string latched_init_fake(const fakekvm::KernelConfig& k) {
    if (k.init_sipi != fakekvm::InitSipi::ApicEvents) return "n/a: INIT writes mp_state, nothing is latched";
    return after_init_fake(k, latched_init_after);
}

struct Row {
    const char* behaviour;
    Experiment run;
};

const Row kRows[] = {
    {"KVM_GET_REGS after KVM_SET_REGS", regs_round_trip},
    {"KVM_GET_SREGS after KVM_SET_SREGS (real-mode CS, CR2, CR3)", sregs_round_trip},
    {"KVM_GET_MSRS after KVM_SET_MSRS (SYSENTER_CS, STAR)", msrs_round_trip},
    {"KVM_GET_MP_STATE after KVM_SET_MP_STATE(RUNNABLE)", mp_state_round_trip},
    {"KVM_GET_VCPU_EVENTS after KVM_SET_VCPU_EVENTS(NMI_PENDING)", events_round_trip},
    // Far more than a second at any TSC rate, then well within one.
    {"host KVM_SET_MSRS of an IA32_TSC 10^11 cycles older: the TSC", [](model::KvmVm& vm) { return tsc_write_back(vm, 100000000000ULL); }},
    {"host KVM_SET_MSRS of an IA32_TSC 10^6 cycles older: the TSC", [](model::KvmVm& vm) { return tsc_write_back(vm, 1000000ULL); }},
};

// Ioctl experiments on the AP (vCPU 1).
const Row kApRows[] = {
    {"KVM_SET_MP_STATE(SIPI_RECEIVED) from userspace on an idle AP, then KVM_GET_MP_STATE", sipi_received_from_userspace},
};

std::string on_fake(const fakekvm::KernelConfig& k, const Experiment& e) {
    sim::InlineScheduler sched;
    sim::World world(sched);
    const auto& cat = model::catalogue(model::Arch::X86);
    std::vector<fakekvm::VcpuSetup> setup(2);
    setup[0].bsp = true;
    setup[0].initial = cat.reset_values(true);
    setup[1].initial = cat.reset_values(false);
    fakekvm::FakeVm vm(world, model::Arch::X86, k, std::move(setup));
    return e(vm);
}

// Appends one row: the fake under every variant, then the real kernel
// unless an earlier row found it unavailable. `real` returns "" and says why
// when no VM could be created.
void add_row(ProbeReport& rep, const char* behaviour, const std::function<std::string(const fakekvm::KernelConfig&)>& fake,
             const std::function<std::string(std::string&)>& real) {
    ProbeRow r;
    r.behaviour = behaviour;
    for (const auto& k : rep.configs) r.fake.push_back(fake(k));
    if (rep.unavailable.empty()) {
        std::string why;
        r.real = real(why);
        if (r.real.empty()) rep.unavailable = why;
    }
    r.agree = !r.real.empty() && r.real == r.fake.front();
    rep.rows.push_back(std::move(r));
}

// An ioctl experiment on a fresh real VM.
std::string on_real(const Experiment& e, std::string& why) {
    auto vm = RealVm::create(2, why);
    return vm ? e(*vm) : std::string{};
}

}  // namespace

ProbeReport run_probe(const std::vector<std::pair<std::string, fakekvm::KernelConfig>>& extra) {
    ProbeReport rep;
    for (const auto& v : fakekvm::kernel_variants())
        if (v.name != "booke-no-or-tsr") {
            rep.variants.emplace_back(v.name);
            rep.configs.push_back(v.config);
        }
    for (const auto& [name, k] : extra) {
        rep.variants.push_back(name);
        rep.configs.push_back(k);
    }
    for (const auto& row : kRows)
        add_row(rep, row.behaviour, [&](const auto& k) { return on_fake(k, row.run); }, [&](std::string& why) { return on_real(row.run, why); });
    for (const auto& row : kGuestRows)
        add_row(rep, row.behaviour, [&](const auto& k) { return on_fake_guest(k, row.e); },
                [&](std::string& why) { return on_real_guest(row.e, why); });
    for (const auto& row : kApRows)
        add_row(rep, row.behaviour, [&](const auto& k) { return on_fake(k, row.run); }, [&](std::string& why) { return on_real(row.run, why); });
    for (const auto& row : kScenarioRows)
        add_row(rep, row.behaviour, [&](const auto& k) { return with_fake(k, row.toml, row.run); },
                [&](std::string& why) { return with_real(row.toml, row.run, why); });
    add_row(rep, "KVM_GET_MP_STATE of an idle AP after the BSP's guest code sent it INIT",
            [](const auto& k) { return after_init_fake(k, mp_state_with_init_pending); },
            [](std::string& why) { return after_init_real(mp_state_with_init_pending, why); });
    add_row(rep, "KVM_SET_VCPU_EVENTS(VALID_SMM, latched_init = 0) outside SMM after an INIT arrived", latched_init_fake,
            [](std::string& why) { return after_init_real(latched_init_after, why); });
    // A row where the real kernel matches another variant than the default
    // is a documented host-kernel difference, not a modelling bug.
    for (auto& r : rep.rows)
        for (std::size_t i = 0; i < r.fake.size() && !r.real.empty(); ++i)
            if (r.fake[i] == r.real && !r.agree) r.matches += (r.matches.empty() ? "" : ", ") + rep.variants[i];
    return rep;
}

MeasuredProfile measure_profile(const std::string& kernel_release) {
    MeasuredProfile out;
    // Every combination of one alternative per axis, as extra fake columns.
    std::vector<std::vector<std::string_view>> combos{{}};
    const fakekvm::KernelConfig defaults;
    for (const auto& axis : fakekvm::kernel_axes()) {
        std::vector<std::vector<std::string_view>> next;
        // arm64 and riscv64 axes: no x86 vCPU shows them, and each would
        // double the columns; they keep the fake's default (Book-E TSR is
        // enumerated as it always was, and comes out undecided).
        const bool other = axis.arch == model::Arch::Arm64 || axis.arch == model::Arch::Riscv64;
        const std::string_view kept = fakekvm::alternative_of(axis, defaults);
        if (other) out.undecided.push_back(std::string(axis.name) + ": " + std::string(kept) + " (" + std::string(model::to_string(axis.arch)) +
                                           " only: not measurable on an x86 host)");
        for (const auto& c : combos)
            for (const auto& alt : axis.alternatives) {
                if (other && alt.name != kept) continue;
                auto d = c;
                d.push_back(alt.name);
                next.push_back(std::move(d));
            }
        combos = std::move(next);
    }
    std::vector<std::pair<std::string, fakekvm::KernelConfig>> extra;
    for (const auto& c : combos) {
        fakekvm::KernelConfig k;
        std::string name;
        for (std::size_t i = 0; i < c.size(); ++i) {
            fakekvm::find_alternative(fakekvm::kernel_axes()[i], c[i])->apply(k);
            if (i) name += ',';
            name.append(c[i]);
        }
        extra.emplace_back(name, k);
    }
    auto rep = run_probe(extra);
    out.unavailable = rep.unavailable;
    if (!rep.unavailable.empty()) return out;
    const std::size_t first = rep.configs.size() - extra.size();
    // The combinations under which every row gives the real kernel's answer.
    std::vector<std::size_t> fits;
    std::size_t best = first, best_agree = 0;
    for (std::size_t c = first; c < rep.configs.size(); ++c) {
        std::size_t agree = 0;
        for (const auto& r : rep.rows) agree += !r.real.empty() && r.fake[c] == r.real;
        if (agree == rep.rows.size()) fits.push_back(c);
        if (agree > best_agree) best = c, best_agree = agree;
    }
    const std::size_t chosen = fits.empty() ? best : fits.front();
    if (fits.empty())
        for (const auto& r : rep.rows)
            if (r.fake[chosen] != r.real) out.unexplained.push_back(r.behaviour);
    // Axes whose alternatives the fitting combinations leave open: no row
    // tells them apart here (Book-E TSR on x86; ignored against
    // blocked-only, which differ only in SMM).
    const auto& combo = combos[chosen - first];
    for (std::size_t i = 0; i < fakekvm::kernel_axes().size(); ++i) {
        const auto& axis = fakekvm::kernel_axes()[i];
        out.profile.axes.emplace_back(std::string(axis.name), std::string(combo[i]));
        std::string open;
        for (auto c : fits)
            if (combos[c - first][i] != combo[i] && open.find(combos[c - first][i]) == std::string::npos) {
                if (!open.empty()) open += ", ";
                open.append(combos[c - first][i]);
            }
        if (!open.empty()) out.undecided.push_back(std::string(axis.name) + ": " + std::string(combo[i]) + " (no row tells it from " + open + ")");
    }
    out.profile.name = "host";
    out.profile.description = "measured by regsync kvm-probe on Linux " + kernel_release;
    out.profile.source = "regsync kvm-probe: the first combination of kernel axes under which every probe row gives the real kernel's answer";
    out.profile.config = extra[chosen - first].second;
    out.report = std::move(rep);
    out.column = chosen;
    out.builtin_columns = first;
    return out;
}

std::string profile_toml(const harness::KernelProfile& p) {
    const auto quote = [](const std::string& v) {
        std::string q = "\"";
        for (char c : v) q += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
        return q + "\"";
    };
    std::string t = "# Written by regsync kvm-probe --profile-out.\n";
    t += "name = " + quote(p.name) + "\ndescription = " + quote(p.description) + "\nsource = " + quote(p.source) + "\n";
    for (const auto& [a, alt] : p.axes) t += a + " = " + quote(alt) + "\n";
    return t;
}

}  // namespace regsync::realkvm

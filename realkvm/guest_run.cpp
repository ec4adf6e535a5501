#include "realkvm/guest_run.h"

#include <atomic>
#include <cstdio>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "realkvm/x86_real_mode.h"

namespace regsync::realkvm {

namespace {

// Where a vCPU's first program goes (the fake starts it at the reset
// vector; real mode needs it below 1 MiB): 0x1000 for vCPU 0, 0x2000 ...
std::uint64_t main_code_address(int vcpu) { return 0x1000u * static_cast<std::uint64_t>(vcpu + 1); }

}  // namespace

std::uint64_t code_address(const harness::Scenario& s, std::size_t vcpu, std::size_t program) {
    const auto entry = s.vcpus[vcpu].image[program].entry;
    return entry == model::catalogue(s.arch).reset_pc() ? main_code_address(static_cast<int>(vcpu)) : entry;
}

namespace {

int setup_vcpu(RealVcpu& v, std::uint64_t ip) {
    struct kvm_sregs s {};
    if (int r = v.ioctl(KVM_GET_SREGS, &s); r < 0) return r;
    s.cs.base = 0, s.cs.selector = 0;
    s.ds.base = 0, s.ds.selector = 0;
    s.es.base = kApicBase;  // the local APIC page, through es: overrides
    if (int r = v.ioctl(KVM_SET_SREGS, &s); r < 0) return r;
    struct kvm_regs g {};
    g.rip = ip;
    g.rflags = 0x2;
    if (int r = v.ioctl(KVM_SET_REGS, &g); r < 0) return r;
    struct kvm_mp_state m {KVM_MP_STATE_RUNNABLE};
    return v.ioctl(KVM_SET_MP_STATE, &m);
}

}  // namespace

GuestLayout load_guest_code(RealVm& vm, const harness::Scenario& s) {
    GuestLayout out;
    if (s.arch != model::Arch::X86) {
        out.error = "real vCPUs run x86 scenarios only";
        return out;
    }
    if (static_cast<int>(s.vcpus.size()) > vm.vcpu_count()) {
        out.error = "the VM has fewer vCPUs than the scenario";
        return out;
    }
    try {
        for (std::size_t i = 0; i < s.vcpus.size(); ++i) {
            const auto& image = s.vcpus[i].image;
            for (std::size_t p = 0; p < image.size(); ++p) {
                const std::uint64_t at = code_address(s, i, p);
                if (!vm.load(at, encode_real_mode(image[p].steps, out.rdtsc_slots).bytes)) {
                    out.error = "vcpu" + std::to_string(i) + " program " + std::to_string(p) + " does not fit in guest memory";
                    return out;
                }
            }
        }
    } catch (const std::invalid_argument& e) {
        out.error = e.what();
        return out;
    }
    // The fake starts the BSP's main program at the reset vector, so a BSP
    // reset by INIT runs it again: here the reset vector jumps there.
    vm.load(0xfffffff0, {0xea, 0x00, 0x10, 0x00, 0x00});  // jmp far 0000:1000
    for (std::size_t i = 0; i < s.vcpus.size(); ++i)
        if (int r = setup_vcpu(vm.vcpu(static_cast<int>(i)), main_code_address(static_cast<int>(i))); r < 0) {
            out.error = "setting up vcpu" + std::to_string(i) + " failed (" + std::to_string(r) + ")";
            return out;
        }
    return out;
}

GuestRun run_guest_code(RealVm& vm, const harness::Scenario& s, std::size_t expected_reports, std::chrono::milliseconds timeout,
                        std::uint64_t run_mask) {
    const auto layout = load_guest_code(vm, s);
    if (!layout.error.empty()) {
        GuestRun out;
        out.error = layout.error;
        return out;
    }
    return run_vcpus(vm, static_cast<int>(s.vcpus.size()), layout.rdtsc_slots, expected_reports, timeout, run_mask);
}

GuestRun run_vcpus(RealVm& vm, int vcpus, int rdtsc_slots, std::size_t expected_reports, std::chrono::milliseconds timeout,
                   std::uint64_t run_mask) {
    GuestRun out;
    const auto n = static_cast<std::size_t>(vcpus);
    std::mutex mu;
    std::condition_variable cv;
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < n; ++i)
        if (run_mask & (1ULL << i)) threads.emplace_back([&, i] {
            auto& v = vm.vcpu(static_cast<int>(i));
            v.bind_thread();
            while (!stop.load()) {
                const int r = v.ioctl(KVM_RUN, nullptr);
                if (r == -EINTR) continue;
                if (r < 0) {
                    std::lock_guard<std::mutex> l(mu);
                    if (out.error.empty()) out.error = "KVM_RUN on vcpu" + std::to_string(i) + " failed (" + std::to_string(r) + ")";
                    cv.notify_all();
                    return;
                }
                auto& run = v.run();
                if (run.exit_reason != KVM_EXIT_IO) continue;  // e.g. KVM_EXIT_HLT without an irqchip
                IoReport rep;
                rep.vcpu = static_cast<int>(i);
                rep.port = run.io.port;
                std::memcpy(&rep.value, reinterpret_cast<const unsigned char*>(&run) + run.io.data_offset, sizeof rep.value);
                struct kvm_sregs sr {};
                v.ioctl(KVM_GET_SREGS, &sr);
                rep.cs_base = sr.cs.base;
                std::lock_guard<std::mutex> l(mu);
                out.reports.push_back(rep);
                cv.notify_all();
            }
        });
    {
        std::unique_lock<std::mutex> l(mu);
        out.timed_out = !cv.wait_for(l, timeout, [&] { return out.reports.size() >= expected_reports || !out.error.empty(); });
    }
    stop.store(true);
    for (;;) {
        // Kick until every thread has left KVM_RUN (a kick can land just
        // before the thread re-enters).
        for (std::size_t i = 0; i < n; ++i) vm.vcpu(static_cast<int>(i)).kick();
        bool all = true;
        for (auto& t : threads) all = all && !t.joinable();
        if (all) break;
        for (auto& t : threads)
            if (t.joinable()) {
                t.join();
                break;
            }
    }
    for (std::size_t i = 0; i < n; ++i) {
        // Only vCPUs that ran: KVM_GET_MP_STATE accepts pending APIC events.
        if (!(run_mask & (1ULL << i))) continue;
        auto& v = vm.vcpu(static_cast<int>(i));
        struct kvm_mp_state m {};
        struct kvm_sregs sr {};
        struct kvm_regs rg {};
        v.ioctl(KVM_GET_MP_STATE, &m);
        v.ioctl(KVM_GET_SREGS, &sr);
        v.ioctl(KVM_GET_REGS, &rg);
        struct kvm_lapic_state la {};
        v.ioctl(KVM_GET_LAPIC, &la);
        struct kvm_vcpu_events ev {};
        v.ioctl(KVM_GET_VCPU_EVENTS, &ev);
        std::uint32_t icr = 0, icr2 = 0, svr = 0;
        std::memcpy(&icr, la.regs + 0x300, 4);
        std::memcpy(&icr2, la.regs + 0x310, 4);
        std::memcpy(&svr, la.regs + 0xf0, 4);
        char b[192];
        std::snprintf(b, sizeof b, "mp_state %u cs.base 0x%llx rip 0x%llx icr 0x%x:%x svr 0x%x latched_init %u apic_base 0x%llx", m.mp_state,
                      static_cast<unsigned long long>(sr.cs.base), static_cast<unsigned long long>(rg.rip), icr2, icr, svr,
                      ev.smi.latched_init, static_cast<unsigned long long>(sr.apic_base));
        out.final_state.push_back(b);
    }
    for (int k = 0; k < rdtsc_slots; ++k) out.rdtsc.push_back(rdtsc_log_slot(vm.memory(), k));
    return out;
}

}  // namespace regsync::realkvm

#include "realkvm/lockstep_vm.h"

#include <linux/kvm.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "fakekvm/fake_vm.h"
#include "fakekvm/guest_step_observer.h"
#include "model/ioctl_fields.h"
#include "model/kvm_abi.h"
#include "realkvm/guest_run.h"
#include "realkvm/kvm_device.h"
#include "realkvm/x86_real_mode.h"

namespace regsync::realkvm {

using model::RegIndex;

namespace {

constexpr auto kExitWait = std::chrono::milliseconds(2000);

// Room for any of the state structs (struct kvm_sregs is the largest).
struct Buf {
    alignas(8) std::array<unsigned char, 1024> b{};
    void* data() { return b.data(); }
};
static_assert(sizeof(struct kvm_sregs) <= 1024 && sizeof(x86::kvm_msrs_buf) <= 1024);

std::size_t struct_size(unsigned long request) {
    if (request == x86::kvm_get_msrs || request == x86::kvm_set_msrs) return sizeof(x86::kvm_msrs_buf);
    return _IOC_SIZE(request);
}

// A copy of `arg`; for a GET only what selects the answer (MSR indices).
Buf copy_struct(unsigned long request, const void* arg, bool whole) {
    Buf b;
    if (whole) {
        std::memcpy(b.data(), arg, struct_size(request));
    } else if (request == x86::kvm_get_msrs || request == x86::kvm_set_msrs) {
        const auto& in = *static_cast<const x86::kvm_msrs_buf*>(arg);
        auto& out = *static_cast<x86::kvm_msrs_buf*>(b.data());
        out.nmsrs = in.nmsrs;
        for (__u32 k = 0; k < in.nmsrs && k < x86::kvm_msrs_buf::kMax; ++k) out.entries[k].index = in.entries[k].index;
    }
    return b;
}


// How a KVM_RUN ended, in terms both sides share: the real code reports a
// hypercall as a port write to kHypercallPort.
struct RunExit {
    int ret = 0;
    __u32 reason = 0;
    std::uint16_t port = 0;
    std::uint32_t value = 0;

    bool interrupted() const { return ret == -EINTR; }
    bool same_as(const RunExit& o) const {
        if (interrupted() || o.interrupted()) return interrupted() == o.interrupted();
        return ret == o.ret && reason == o.reason && port == o.port && value == o.value;
    }
    std::string text() const {
        if (interrupted()) return "-EINTR";
        if (ret < 0) return "error " + std::to_string(ret);
        if (reason == KVM_EXIT_IO) {
            char b[64];
            std::snprintf(b, sizeof b, "IO port 0x%x value 0x%x", port, value);
            return b;
        }
        return "exit reason " + std::to_string(reason);
    }
};

RunExit exit_of(int ret, const struct kvm_run& run) {
    RunExit e;
    e.ret = ret;
    if (ret < 0) return e;
    e.reason = run.exit_reason;
    if (run.exit_reason == KVM_EXIT_IO) {
        e.port = run.io.port;
        std::memcpy(&e.value, reinterpret_cast<const unsigned char*>(&run) + run.io.data_offset, sizeof e.value);
    } else if (run.exit_reason == KVM_EXIT_HYPERCALL) {
        e.reason = KVM_EXIT_IO;
        e.port = kHypercallPort;
        e.value = static_cast<std::uint32_t>(run.hypercall.nr);
    }
    return e;
}

}  // namespace

bool is_translated(const model::Catalogue& c, RegIndex r) {
    const auto n = c[r].name;
    return r == c.pc || r == c.cs_base || n == "cs.selector" || r == c.tsc || r == c.tsc_deadline;
}

bool is_scratch(const model::Catalogue& c, RegIndex r) {
    const auto n = c[r].name;
    return n == "rax" || n == "rcx" || n == "rdx";
}

// One vCPU: the fake's answers to the VMM, the same ioctls on the real vCPU,
// and an OS thread that runs the real KVM_RUN.
class LockstepVcpu final : public model::KvmVcpu {
public:
    LockstepVcpu(LockstepVm& vm, RealVcpu& real, int index, std::pair<int, int> slots)
        : vm_(vm), real_(real), index_(index), slots_(slots), slot_seen_(static_cast<std::size_t>(slots.second - slots.first), 0) {
        thread_ = std::thread([this] { runner(); });
    }
    ~LockstepVcpu() override { stop(); }

    int ioctl(unsigned long request, void* arg) override {
        vm_.pace();
        if (request == KVM_RUN) return run_both();
        if (model::is_state_get(request)) return get(request, arg);
        if (model::is_state_set(request)) return set(request, arg);
        const int r = fake().ioctl(request, arg);
        if (request == KVM_NMI) real_.ioctl(request, arg);
        return r;
    }
    struct kvm_run& run() override { return fake().run(); }
    // The fake models the kick; a real vCPU stopped between the steps it
    // follows needs none, one released at a HLT does.
    void kick() override {
        fake().kick();
        if (free_running_) real_.kick();
    }
    int index() const override { return index_; }

    // The kernel's registers before the VMM's first put (nothing is known
    // yet, so nothing counts as changed; no INIT/SIPI is pending yet, so
    // KVM_GET_MP_STATE may be asked).
    void read_initial() { probe_state(true); }
    const model::RegisterValues& shadow() const { return shadow_; }

    void stop() {
        {
            std::lock_guard<std::mutex> l(mu_);
            if (stopping_) return;
            stopping_ = true;
        }
        cv_.notify_all();
        while (!exited_.load()) {
            real_.kick();
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        thread_.join();
    }
    // After the run: a vCPU still released at a HLT may have woken and run
    // on (an INIT and SIPI the fake lost, say): what it did is kept, and so
    // are RDTSCs after its last exit.
    void wind_up(std::size_t end, std::uint32_t end_step) {
        end_ = end;
        end_step_ = end_step;
        if (free_running_) {
            real_.kick();
            if (auto e = wait_real(kExitWait); e && !e->interrupted())
                vm_.out_.notes.push_back("vcpu" + std::to_string(index_) + ": after the fake's end the real vCPU had made " + e->text() +
                                         ", an exit the fake never made");
            end_free_run();
        }
        stop();
        collect_tsc(last_run_start_, end);
    }

private:
    fakekvm::FakeVcpu& fake() { return vm_.fake_->vcpu(index_); }
    const model::Catalogue& cat() const { return *vm_.cat_; }

    // A GET of every catalogue register `get` reaches (the MSRs by index).
    Buf msr_query(unsigned long get) {
        Buf b;
        if (get == x86::kvm_get_msrs) {
            auto& m = *static_cast<x86::kvm_msrs_buf*>(b.data());
            for (std::size_t i = 0; i < cat().size() && m.nmsrs < x86::kvm_msrs_buf::kMax; ++i)
                if (cat().regs[i].access == model::Access::Msrs) m.entries[m.nmsrs++].index = static_cast<__u32>(cat().regs[i].id);
        }
        return b;
    }

    // A step of this vCPU that observed state, where the fake now is.
    Observation observation(const char* what) const {
        Observation o;
        o.position = vm_.position();
        o.step = vm_.fake_->world().step();
        o.actor = vm_.fake_->world().actor();
        o.vcpu = index_;
        o.what = what;
        return o;
    }

    void emit(sim::Event e) {
        e.vcpu = static_cast<std::int16_t>(index_);
        if (vm_.fake_ == nullptr) {  // after the run
            e.step = end_step_;
            vm_.out_.real_events.emplace_back(end_, e);
            return;
        }
        e.step = vm_.fake_->world().step();
        e.actor = vm_.fake_->world().actor();
        vm_.out_.real_events.emplace_back(vm_.position(), e);
    }

    // A state read of the real kernel: a register that is not what the last
    // put or read left changed on the kernel side (the guest, INIT/SIPI, HLT).
    void observed(RegIndex r, std::uint64_t v) {
        const auto i = static_cast<std::size_t>(r);
        if (cat()[r].time_varying) {
            shadow_[i] = v;
            known_[i] = true;
            return;
        }
        // The real code's own use of its scratch registers is not a kernel
        // write that a writeback could lose: the fake's guest does not do it.
        if (known_[i] && shadow_[i] != v && !is_scratch(cat(), r)) {
            const auto who = r == cat().mp_state ? sim::Writer::Init : sim::Writer::Guest;
            emit({.kind = sim::EventKind::KernelWrite, .writer = who, .reg = r, .old = shadow_[i], .value = v, .mask = shadow_[i] ^ v});
        }
        shadow_[i] = v;
        known_[i] = true;
    }

    int get(unsigned long request, void* arg) {
        const int r = fake().ioctl(request, arg);
        Buf real = copy_struct(request, arg, false);
        if (real_.ioctl(request, real.data()) < 0) vm_.out_.notes.push_back("real " + model::ioctl_name(model::Arch::X86, request) + " failed");
        Observation o = observation(model::ioctl_name(model::Arch::X86, request).c_str());
        const auto f = model::ioctl_registers(cat(), request, arg);
        const auto x = model::ioctl_registers(cat(), request, real.data());
        const std::string fake_at = vm_.fake_progress(index_), real_at = vm_.real_progress(index_, real_regs());
        if (fake_at != real_at) o.progress = "the fake's guest is at " + fake_at + ", the real one at " + real_at;
        for (std::size_t k = 0; k < f.size() && k < x.size(); ++k) {
            const RegIndex reg = f[k].first;
            RegisterComparison c{reg, f[k].second, x[k].second, ""};
            if (c.fake != c.real) {
                if (cat()[reg].time_varying || reg == cat().tsc_deadline) c.why = "time";
                else if (is_translated(cat(), reg)) c.why = "layout";
                else if (is_scratch(cat(), reg)) c.why = "scratch";
                else if (!o.progress.empty()) c.why = "progress";
                else c.why = "DIFFERS";
            }
            o.regs.push_back(c);
            vm_.learn(index_, reg, c.fake, c.real);
            observed(reg, c.real);
        }
        vm_.out_.observations.push_back(std::move(o));
        return r;
    }

    int set(unsigned long request, void* arg) {
        // What the kernel holds just before the put. Not for mp_state:
        // KVM_GET_MP_STATE accepts pending INIT/SIPI, which the VMM's own
        // ioctls would not have done here.
        Buf before;
        if (request != KVM_SET_MP_STATE) {
            const unsigned long g = model::get_for_set(request);
            before = copy_struct(request, arg, false);
            real_.ioctl(g, before.data());
            for (const auto& [reg, v] : model::ioctl_registers(cat(), g, before.data())) observed(reg, v);
        }
        const int r = fake().ioctl(request, arg);
        // Fields the catalogue does not name keep the kernel's values.
        Buf put = request == KVM_SET_SREGS ? before : copy_struct(request, arg, true);
        for (const auto& [reg, v] : model::ioctl_registers(cat(), request, arg))
            model::set_ioctl_register(cat(), request, put.data(), reg, vm_.to_real(index_, reg, v));
        if (real_.ioctl(request, put.data()) < 0) vm_.out_.notes.push_back("real " + model::ioctl_name(model::Arch::X86, request) + " failed");
        for (auto [reg, v] : model::ioctl_registers(cat(), request, put.data())) {
            const auto i = static_cast<std::size_t>(reg);
            const bool tv = cat()[reg].time_varying;
            if (!tv && known_[i] && shadow_[i] == v) continue;
            if (tv) v = tsc_taken(reg, shadow_[i], v);
            emit({.kind = sim::EventKind::KernelWrite, .writer = sim::Writer::Userspace, .reg = reg, .old = shadow_[i], .value = v,
                  .mask = tv ? cat()[reg].mask() : shadow_[i] ^ v});
            shadow_[i] = v;
            known_[i] = true;
        }
        return r;
    }

    int run_both() {
        last_run_start_ = vm_.position();
        probe_state();  // what the kernel holds as the vCPU enters
        // The real vCPU follows the fake's guest steps (follow()) while the
        // fake's KVM_RUN runs.
        const int r = fake().ioctl(KVM_RUN, nullptr);
        if (r == model::kExecutionOver) return r;  // blocked at the end: finish() winds the real vCPU up
        const RunExit want = exit_of(r, fake().run());
        if (free_running_) stop_free_run();  // the fake left its HLT: a kick
        RunExit got;
        std::string got_text;
        if (want.interrupted()) {
            got_text = "stopped with the fake, at " + vm_.real_progress(index_, real_regs());
        } else if (exits_.empty()) {
            got_text = "no exit";
            vm_.out_.notes.push_back("vcpu" + std::to_string(index_) + ": the fake made " + want.text() + ", the real vCPU made no exit (step " +
                                     std::to_string(vm_.fake_->world().step()) + ")");
        } else {
            got = exits_.front();
            exits_.pop_front();
            got_text = got.text();
            if (!got.same_as(want))
                vm_.out_.notes.push_back("vcpu" + std::to_string(index_) + ": the fake made " + want.text() + ", the real vCPU " + got_text +
                                         " (step " + std::to_string(vm_.fake_->world().step()) + ")");
        }
        Observation o = observation("KVM_RUN exit");
        o.fake_exit = want.text();
        o.real_exit = want.interrupted() ? "-EINTR" : got_text;
        if (want.interrupted()) o.progress = got_text;
        vm_.out_.observations.push_back(std::move(o));
        collect_tsc(last_run_start_, vm_.position());
        probe_state();  // what the guest and the kernel changed meanwhile
        return r;
    }

public:
    // The fake is about to run step `k` of program `p`: the real vCPU runs
    // the same step's instructions, one KVM_RUN per instruction
    // (KVM_GUESTDBG_SINGLESTEP), keeping any exit they make for the fake's
    // exit to match. At a HLT it runs freely instead: HLT blocks in the
    // kernel until an event, as the fake's does.
    void follow(std::size_t p, std::size_t k) {
        if (free_running_) {
            // The fake's guest goes on after its HLT, so whatever woke it has
            // happened on the real vCPUs too: this one woke and ran to its
            // next exit.
            auto e = wait_real(kExitWait);
            if (!e) {
                note("woke in the fake but not on the real kernel within 2 s; kicked");
                real_.kick();
                e = wait_real(kExitWait);
                if (!e) throw std::runtime_error("vcpu" + std::to_string(index_) + ": the real vCPU does not leave KVM_RUN");
            }
            if (!e->interrupted()) exits_.push_back(*e);
            end_free_run();
        }
        const auto& prog = vm_.program(index_, p);
        if (k >= prog.offsets.size() || prog.ops[k] == fakekvm::GuestOp::Hlt) {
            release();
            return;
        }
        if (!set_single_step(true)) return;
        const std::uint64_t target = k + 1 < prog.offsets.size() ? prog.offsets[k + 1] : prog.real_size - 3;
        for (int n = 0; n < 64; ++n) {
            const auto at = vm_.locate(index_, vm_.cat_->guest_pc(real_regs()));
            // Not yet in the program (pending INIT/SIPI are taken at the next
            // entry), or short of the step's end: one more instruction.
            if (at && at->first == p && at->second >= target) {
                if (k == 0) entered(p);
                if (prog.ops[k] == fakekvm::GuestOp::Rdtsc) stepped_rdtsc(prog, k);
                return;
            }
            start_real();
            auto e = wait_real(kExitWait);
            if (!e) {
                note("one instruction of step " + std::to_string(k) + " did not return within 2 s; kicked");
                real_.kick();
                wait_real(kExitWait);
                return;
            }
            if (e->interrupted() || (e->ret >= 0 && e->reason == KVM_EXIT_DEBUG)) continue;
            exits_.push_back(*e);
        }
        note("step " + std::to_string(k) + " of program " + std::to_string(p) + " did not end within 64 instructions");
    }

    // The fake vCPU blocks in the kernel: the real one runs freely, so that
    // what wakes (or does not wake) it is the real kernel's doing.
    void blocking() { release(); }

private:
    // What the kernel made of a host write of IA32_TSC: read back at once, a
    // TSC nearer its value before the write than the written one means the
    // kernel kept its own (kvm_pvm ignores the write; KVM takes one within
    // about a second of the value it expects as a request to stay in sync).
    std::uint64_t tsc_taken(RegIndex reg, std::uint64_t before, std::uint64_t written) {
        x86::kvm_msrs_buf b;
        b.nmsrs = 1;
        b.entries[0].index = static_cast<__u32>(cat()[reg].id);
        if (real_.ioctl(x86::kvm_get_msrs, b.arg()) != 1) return written;
        const std::uint64_t now = b.entries[0].data;
        const auto dist = [](std::uint64_t a, std::uint64_t c) { return a > c ? a - c : c - a; };
        if (dist(now, before) >= dist(now, written)) return written;
        char m[160];
        std::snprintf(m, sizeof m, "the real kernel kept its %s (0x%llx) instead of the written 0x%llx", std::string(cat()[reg].name).c_str(),
                      static_cast<unsigned long long>(now), static_cast<unsigned long long>(written));
        note(m);
        return now;
    }

    // Reads what the kernel holds. Not mp_state unless asked: KVM_GET_MP_STATE
    // accepts pending INIT/SIPI, which the VMM's own ioctls would not do here.
    void probe_state(bool with_mp_state = false) {
        for (unsigned long g : {KVM_GET_REGS, KVM_GET_SREGS, x86::kvm_get_msrs, KVM_GET_MP_STATE, KVM_GET_VCPU_EVENTS}) {
            if (g == KVM_GET_MP_STATE && !with_mp_state) continue;
            Buf b = msr_query(g);
            real_.ioctl(g, b.data());
            for (const auto& [reg, v] : model::ioctl_registers(cat(), g, b.data())) observed(reg, v);
        }
    }

    void note(const std::string& what) {
        vm_.out_.notes.push_back("vcpu" + std::to_string(index_) + ": " + what + " (step " + std::to_string(vm_.fake_->world().step()) + ")");
    }

    model::RegisterValues real_regs() {
        model::RegisterValues v = shadow_;
        struct kvm_regs r {};
        struct kvm_sregs sr {};
        if (real_.ioctl(KVM_GET_REGS, &r) == 0) v[static_cast<std::size_t>(cat().pc)] = r.rip;
        if (real_.ioctl(KVM_GET_SREGS, &sr) == 0) v[static_cast<std::size_t>(cat().cs_base)] = sr.cs.base;
        return v;
    }

    bool set_single_step(bool on) {
        if (single_step_ == on) return true;
        struct kvm_guest_debug d {};
        d.control = on ? (KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP) : 0;
        if (const int r = real_.ioctl(KVM_SET_GUEST_DEBUG, &d); r < 0) {
            note("KVM_SET_GUEST_DEBUG failed (" + std::to_string(r) + "): the real guest cannot follow step by step");
            return false;
        }
        single_step_ = on;
        return true;
    }

    // From a HLT the real vCPU runs without single-stepping. The fake's
    // vCPU halts at once; the real one must get into KVM_RUN and execute
    // its HLT before a kick can find it there (a kick landing earlier would
    // find it RUNNABLE at the HLT, not HALTED). So the simulation waits,
    // at most 200 ms, until the vCPU thread has entered KVM_RUN and sleeps:
    // halted in the kernel, or back from an exit waiting for the next run.
    void release() {
        if (free_running_) return;
        const auto at = vm_.locate(index_, vm_.cat_->guest_pc(real_regs()));
        released_in_ = at ? std::optional<std::size_t>(at->first) : std::nullopt;
        set_single_step(false);
        const auto before = entered_.load();
        start_real();
        free_running_ = true;
        for (int i = 0; i < 400; ++i) {
            std::this_thread::sleep_for(std::chrono::microseconds(500));
            if (entered_.load() != before && thread_sleeps()) break;
        }
    }

    // The state letter of the vCPU thread in /proc/self/task/TID/stat: S or
    // D while it sleeps (in kvm_vcpu_block, or on our condition variable).
    bool thread_sleeps() const {
        char path[64];
        std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", static_cast<int>(tid_.load()));
        FILE* f = std::fopen(path, "r");
        if (!f) return true;
        char buf[512];
        const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
        std::fclose(f);
        buf[n] = 0;
        const char* p = std::strrchr(buf, ')');
        if (!p || p[1] == 0 || p[2] == 0) return true;
        return p[2] == 'S' || p[2] == 'D';
    }

    void stop_free_run() {
        real_.kick();
        auto e = wait_real(kExitWait);
        if (!e) throw std::runtime_error("vcpu" + std::to_string(index_) + ": the real vCPU does not leave KVM_RUN");
        if (!e->interrupted()) exits_.push_back(*e);
        end_free_run();
    }

    // A free run that went on into another program (an AP that INIT and
    // SIPI started) entered it: the oracle's GuestEntry.
    void end_free_run() {
        free_running_ = false;
        const auto at = vm_.locate(index_, vm_.cat_->guest_pc(real_regs()));
        if (at && released_in_ && at->first != *released_in_) entered(at->first);
    }

    void entered(std::size_t program) {
        emit({.kind = sim::EventKind::GuestEntry, .value = vm_.program(index_, program).fake_entry});
    }

    // An RDTSC the real guest ran in step with the fake's: it happened at
    // this very point of the trace.
    void stepped_rdtsc(const LockstepVm::Program& prog, std::size_t k) {
        int s = prog.first_slot;
        for (std::size_t j = 0; j < k; ++j) s += prog.ops[j] == fakekvm::GuestOp::Rdtsc;
        if (s < slots_.first || s >= slots_.second) return;
        const std::uint64_t v = rdtsc_log_slot(vm_.real_->memory(), s);
        slot_seen_[static_cast<std::size_t>(s - slots_.first)] = v;
        const auto at = vm_.position();
        vm_.out_.tsc_reads.push_back({index_, v, at, at});
    }

    // The guest's RDTSC log slots of this vCPU that changed since last seen
    // (those it ran freely, after a HLT).
    void collect_tsc(std::size_t from, std::size_t to) {
        for (int s = slots_.first; s < slots_.second; ++s) {
            const std::uint64_t v = rdtsc_log_slot(vm_.real_->memory(), s);
            auto& seen = slot_seen_[static_cast<std::size_t>(s - slots_.first)];
            if (v == seen) continue;
            seen = v;
            vm_.out_.tsc_reads.push_back({index_, v, from, to});
        }
    }

    void start_real() {
        {
            std::lock_guard<std::mutex> l(mu_);
            go_ = true;
            done_.reset();
        }
        cv_.notify_all();
    }

    std::optional<RunExit> wait_real(std::chrono::milliseconds t) {
        std::unique_lock<std::mutex> l(mu_);
        if (!cv_.wait_for(l, t, [&] { return done_.has_value(); })) return std::nullopt;
        auto e = done_;
        done_.reset();
        return e;
    }

    void runner() {
        real_.bind_thread();
        tid_.store(static_cast<pid_t>(syscall(SYS_gettid)));
        std::unique_lock<std::mutex> l(mu_);
        for (;;) {
            cv_.wait(l, [&] { return go_ || stopping_; });
            if (stopping_) break;
            go_ = false;
            l.unlock();
            entered_.fetch_add(1);
            const int r = real_.ioctl(KVM_RUN, nullptr);
            const RunExit e = exit_of(r, real_.run());
            l.lock();
            done_ = e;
            cv_.notify_all();
        }
        exited_.store(true);
    }

    LockstepVm& vm_;
    RealVcpu& real_;
    int index_;
    std::pair<int, int> slots_;  // this vCPU's RDTSC log slots [first, last)
    std::vector<std::uint64_t> slot_seen_;
    model::RegisterValues shadow_{};  // the real kernel's registers as last put or read
    std::array<bool, model::kMaxRegs> known_{};
    std::optional<std::size_t> released_in_;  // the program a free run began in
    std::deque<RunExit> exits_;  // real exits made while following, for the fake's to match
    bool free_running_ = false, single_step_ = false;
    std::size_t last_run_start_ = 0;
    std::size_t end_ = 0;
    std::uint32_t end_step_ = 0;

    std::thread thread_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool go_ = false, stopping_ = false;
    std::optional<RunExit> done_;
    std::atomic<bool> exited_{false};
    std::atomic<pid_t> tid_{0};
    std::atomic<std::uint64_t> entered_{0};  // KVM_RUNs the thread has begun
};

std::unique_ptr<LockstepVm> LockstepVm::create(const harness::Scenario& s, std::string& why) {
    if (s.arch != model::Arch::X86) {
        why = "only x86 scenarios run on real vCPUs";
        return nullptr;
    }
    std::unique_ptr<LockstepVm> vm(new LockstepVm());
    vm->cat_ = &model::catalogue(s.arch);
    vm->real_ = RealVm::create(static_cast<int>(s.vcpus.size()), why);
    if (!vm->real_) return nullptr;
    if (const auto l = load_guest_code(*vm->real_, s); !l.error.empty()) {
        why = l.error;
        return nullptr;
    }
    // The RDTSC log slots of each vCPU, numbered as load_guest_code did.
    // Where each program's steps are in both guests.
    int slot = 0;
    std::vector<std::pair<int, int>> slots;
    for (std::size_t i = 0; i < s.vcpus.size(); ++i) {
        const int first = slot;
        for (std::size_t p = 0; p < s.vcpus[i].image.size(); ++p) {
            const auto& prog = s.vcpus[i].image[p];
            const int first_slot = slot;
            auto enc = encode_real_mode(prog.steps, slot);
            std::vector<fakekvm::GuestOp> ops;
            for (const auto& st : prog.steps) ops.push_back(st.op);
            vm->programs_.push_back(
                {static_cast<int>(i), p, prog.entry, code_address(s, i, p), enc.bytes.size(), std::move(enc.step_offsets), std::move(ops), first_slot});
        }
        slots.emplace_back(first, slot);
    }
    // Where each vCPU's code starts, in the fake's terms and in the real
    // layout's: the VMM's first put (and a system reset) names the former.
    const auto initial = s.initial_registers();
    const auto& c = *vm->cat_;
    const RegIndex sel = *c.find("cs.selector");
    for (std::size_t i = 0; i < s.vcpus.size(); ++i) {
        const int v = static_cast<int>(i);
        for (const auto& start : {initial[i], c.reset_values(s.vcpus[i].bsp)}) {
            vm->learn(v, c.pc, start[static_cast<std::size_t>(c.pc)], 0x1000u * (i + 1));
            vm->learn(v, c.cs_base, start[static_cast<std::size_t>(c.cs_base)], 0);
            vm->learn(v, sel, start[static_cast<std::size_t>(sel)], 0);
        }
    }
    for (std::size_t i = 0; i < s.vcpus.size(); ++i) {
        vm->vcpus_.push_back(std::make_unique<LockstepVcpu>(*vm, vm->real_->vcpu(static_cast<int>(i)), static_cast<int>(i), slots[i]));
        vm->vcpus_.back()->read_initial();
        vm->out_.real_initial.push_back(vm->vcpus_.back()->shadow());
    }
    return vm;
}

LockstepVm::~LockstepVm() {
    for (auto& v : vcpus_) v->stop();
}

model::KvmVm& LockstepVm::attach(fakekvm::FakeVm& fake) {
    fake_ = &fake;
    for (int i = 0; i < fake.vcpu_count(); ++i) fake.vcpu(i).set_observer(this);
    return *this;
}

void LockstepVm::before_guest_step(int vcpu, std::size_t program, std::size_t step) {
    vcpus_[static_cast<std::size_t>(vcpu)]->follow(program, step);
}

void LockstepVm::blocking(int vcpu) { vcpus_[static_cast<std::size_t>(vcpu)]->blocking(); }

const LockstepVm::Program& LockstepVm::program(int vcpu, std::size_t index) const {
    for (const auto& p : programs_)
        if (p.vcpu == vcpu && p.index == index) return p;
    throw std::logic_error("no such program");
}

std::optional<std::pair<std::size_t, std::uint64_t>> LockstepVm::locate(int vcpu, std::uint64_t pc) const {
    for (const auto& p : programs_)
        if (p.vcpu == vcpu && pc >= p.real_base && pc < p.real_base + p.real_size) return std::make_pair(p.index, pc - p.real_base);
    return std::nullopt;
}

model::KvmVcpu& LockstepVm::vcpu(int index) { return *vcpus_[static_cast<std::size_t>(index)]; }

std::string LockstepVm::fake_progress(int vcpu) const {
    const auto& regs = fake_->vcpu(vcpu).raw_regs();
    const std::uint64_t pc = cat_->guest_pc(regs);
    for (const auto& p : programs_)
        if (p.vcpu == vcpu && pc >= p.fake_entry && pc <= p.fake_entry + p.offsets.size())
            return "program " + std::to_string(p.index) + " step " + std::to_string(pc - p.fake_entry) +
                   (pc - p.fake_entry == p.offsets.size() ? " (end)" : "");
    return "elsewhere";
}

std::string LockstepVm::real_progress(int vcpu, const model::RegisterValues& real) const {
    const auto at = locate(vcpu, cat_->guest_pc(real));
    if (!at) return "elsewhere";
    const auto& p = program(vcpu, at->first);
    const std::uint64_t off = at->second;
    const std::string prog = "program " + std::to_string(p.index);
    // The closing "hlt; jmp" (3 bytes) follows the last step.
    if (off >= p.real_size - 3) return prog + " step " + std::to_string(p.offsets.size()) + " (end)";
    std::size_t k = 0;
    while (k < p.offsets.size() && p.offsets[k] <= off) ++k;
    // At the first byte of step k-1 it is about to run it.
    if (k > 0 && p.offsets[k - 1] == off) return prog + " step " + std::to_string(k - 1);
    return prog + " inside step " + std::to_string(k - 1);
}

void LockstepVm::pace() {
    if (fake_ == nullptr) return;
    const std::uint64_t now = fake_->world().now();
    if (tick_.count() > 0 && now > paced_) std::this_thread::sleep_for(tick_ * (now - paced_));
    paced_ = std::max(paced_, now);
}

std::size_t LockstepVm::position() const { return fake_ ? fake_->world().events().size() : 0; }

std::uint64_t LockstepVm::to_real(int vcpu, RegIndex r, std::uint64_t fake) const {
    for (auto p = out_.pairs.rbegin(); p != out_.pairs.rend(); ++p)
        if (p->vcpu == vcpu && p->reg == r && p->fake == fake) return p->real;
    return fake;
}

void LockstepVm::learn(int vcpu, RegIndex r, std::uint64_t fake, std::uint64_t real) {
    out_.pairs.push_back({position(), vcpu, r, fake, real});
}

LockstepResult LockstepVm::finish(std::size_t end_position, std::uint32_t end_step) {
    fake_ = nullptr;  // the execution, and its fake VM, are over
    for (auto& v : vcpus_) v->wind_up(end_position, end_step);
    return std::move(out_);
}

}  // namespace regsync::realkvm

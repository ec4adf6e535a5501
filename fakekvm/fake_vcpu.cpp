#include "fakekvm/fake_vcpu.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>

#include "fakekvm/arch_vcpu.h"
#include "fakekvm/fake_vm.h"
#include "fakekvm/guest_step_observer.h"
#include "fakekvm/lapic.h"
#include "model/kvm_abi.h"
#include "sim/footprint.h"
#include "sim/rng.h"

namespace regsync::fakekvm {

using model::Access;
using model::RegIndex;
using sim::EventKind;
using sim::Obj;
using sim::Writer;

namespace {
constexpr std::size_t kRunPageSize = 4096;
constexpr std::size_t kIoDataOffset = 3072;  // where KVM_EXIT_IO data lives in the run page
static_assert(kIoDataOffset >= sizeof(struct kvm_run) && kIoDataOffset + 8 <= kRunPageSize);
constexpr __u64 kSyncX86Fields = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS;
}  // namespace

FakeVcpu::FakeVcpu(FakeVm& vm, int index, bool bsp, GuestImage image)
    : vm_(vm), index_(index), bsp_(bsp), image_(std::move(image)), run_page_(new unsigned char[kRunPageSize]()) {
    run_ = reinterpret_cast<struct kvm_run*>(run_page_.get());
    if (auto* av = vm.arch_vm()) arch_ = av->make_vcpu(*this);
}

FakeVcpu::~FakeVcpu() = default;

const model::Catalogue& FakeVcpu::cat() const { return vm_.cat(); }

std::uint64_t FakeVcpu::state_hash() const {
    std::uint64_t h = 0;
    for (auto x : regs_) h = sim::hash_combine(h, x);
    h = sim::hash_combine(h, static_cast<std::uint64_t>(tsc_offset_));
    h = sim::hash_combine(h, apic_sipi_vector);
    const unsigned flags = apic_init_pending | apic_sipi_pending << 1 | has_run << 2 | mutex_held_ << 3 | signal_pending_ << 4 | timer_pending_ << 5 |
                           self_init_deferred_ << 6;
    h = sim::hash_combine(h, flags);
    // What KVM_RUN reads of the kvm_run page that userspace wrote.
    h = sim::hash_combine(h, sim::hash_combine(run_->immediate_exit, sim::hash_combine(run_->kvm_valid_regs, run_->kvm_dirty_regs)));
    return arch_ ? sim::hash_combine(h, arch_->state_hash()) : h;
}
std::uint32_t FakeVcpu::obj(RegIndex r) const { return Obj::vcpu(index_, static_cast<std::uint32_t>(r)); }

std::uint64_t FakeVcpu::tsc() const {
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(vm_.world().now() * vm_.config().tsc_per_tick) + tsc_offset_);
}

std::uint64_t FakeVcpu::get(RegIndex r) {
    vm_.world().read(obj(r));
    if (cat()[r].time_varying) {
        vm_.world().read(Obj::kClock);
        return arch_ ? arch_->counter(r) : tsc();
    }
    return regs_[static_cast<std::size_t>(r)];
}

void FakeVcpu::set(RegIndex r, std::uint64_t v, Writer who) {
    const auto& d = cat()[r];
    v &= d.mask();
    if (d.time_varying) return arch_ ? arch_->set_counter(r, v, who) : set_tsc(r, v, who);
    if (r == cat().tsc_adjust) {
        if (who == Writer::Userspace && !vm_.config().host_tsc_adjust_stored) {
            vm_.world().write(obj(r));
            return;  // accepted, stores nothing
        }
        // A guest WRMSR(IA32_TSC_ADJUST) moves the TSC by the change; a host
        // write (KVM_SET_MSRS) only stores the value.
        if (const auto old = regs_[static_cast<std::size_t>(r)]; who == Writer::Guest && old != v) {
            vm_.world().read(Obj::kClock);
            tsc_offset_ += static_cast<std::int64_t>(v - old);
        }
    }
    write_reg_value(r, v, who);
}

void FakeVcpu::write_reg_value(RegIndex r, std::uint64_t v, Writer who) {
    vm_.world().write(obj(r));
    auto& slot = regs_[static_cast<std::size_t>(r)];
    const std::uint64_t old = slot;
    if (old == v) return;
    slot = v;
    vm_.world().emit({.kind = EventKind::KernelWrite, .writer = who, .vcpu = static_cast<std::int16_t>(index_),
                      .reg = r, .old = old, .value = v, .mask = old ^ v});
}

// Writing IA32_TSC sets the offset so that the guest reads v now.
void FakeVcpu::set_tsc(RegIndex r, std::uint64_t v, Writer who) {
    vm_.world().write(obj(r));
    const bool offsetting = vm_.config().tsc_offsetting;
    if (who != Writer::Guest && !offsetting) return;  // accepted, changes nothing
    vm_.world().read(Obj::kClock);
    const std::uint64_t old = tsc();
    if (who == Writer::Guest) {
        // kvm_set_msr_common(), a guest WRMSR: adjust_tsc_offset_guest()
        // by the difference, which ia32_tsc_adjust_msr records too (on PVM
        // as well, which cannot move the TSC: probed).
        const auto adj = static_cast<std::int64_t>(v - old);
        if (const auto a = cat().tsc_adjust; a >= 0 && adj != 0)
            write_reg_value(a, regs_[static_cast<std::size_t>(a)] + static_cast<std::uint64_t>(adj), who);
        if (!offsetting) return;
        tsc_offset_ += adj;
    } else {
        tsc_offset_ = vm_.synchronize_tsc(v);  // host-initiated: kvm_synchronize_tsc()
    }
    report_counter_write(r, old, tsc(), who);  // what the guest reads now: v, unless the write was taken as a sync
}

void FakeVcpu::report_counter_write(RegIndex r, std::uint64_t old, std::uint64_t now, Writer who) {
    vm_.world().emit({.kind = EventKind::KernelWrite, .writer = who, .vcpu = static_cast<std::int16_t>(index_),
                      .reg = r, .old = old, .value = now, .mask = (old ^ now) | cat()[r].mask()});
}

// apic_timer_expired() (hrtimer callback): in TSC-deadline mode it only
// marks the timer pending ("if (atomic_read(&apic->lapic_timer.pending))
// return"); the deadline is cleared when the interrupt is injected, in the
// vCPU's own context (kvm_apic_inject_pending_timer_irqs).
void FakeVcpu::lapic_timer_check() {
    const auto dl = cat().tsc_deadline;
    if (dl < 0) return;
    auto& w = vm_.world();
    w.read(obj(dl));
    w.read(Obj::vcpu(index_, Obj::kTimer));
    const std::uint64_t deadline = regs_[static_cast<std::size_t>(dl)];
    if (deadline == 0 || timer_pending_ || tsc() < deadline) return;
    w.write(Obj::vcpu(index_, Obj::kTimer));
    timer_pending_ = true;
}

void FakeVcpu::inject_pending_timer() {
    auto& w = vm_.world();
    w.read(Obj::vcpu(index_, Obj::kTimer));
    if (!timer_pending_) return;
    w.write(Obj::vcpu(index_, Obj::kTimer));
    timer_pending_ = false;
    w.emit({.kind = EventKind::TimerInterrupt, .vcpu = static_cast<std::int16_t>(index_), .value = get(cat().tsc_deadline)});
    set(cat().tsc_deadline, 0, Writer::Timer);
    // An interrupt ends HLT (kvm_vcpu_block returns, mp_state RUNNABLE).
    if (get(cat().mp_state) == KVM_MP_STATE_HALTED) set(cat().mp_state, KVM_MP_STATE_RUNNABLE, Writer::Timer);
}

std::uint64_t FakeVcpu::guest_pc() const { return cat().guest_pc(regs_); }

void FakeVcpu::timer_tick() {
    if (arch_) arch_->clock_tick();
    else lapic_timer_check();
}

void FakeVcpu::kick() {
    // kvm_vcpu_kick / pthread_kill(SIG_IPI): wakes a blocked vCPU and makes
    // the current or next KVM_RUN return -EINTR.
    vm_.world().write(Obj::vcpu(index_, Obj::kSignal));
    signal_pending_ = true;
}

void FakeVcpu::lock() {
    auto& w = vm_.world();
    w.lock_attempt(Obj::vcpu(index_, Obj::kVcpuMutex));
    if (mutex_held_) w.sched().wait_until([this] { return !mutex_held_; });
    mutex_held_ = true;
    w.acquired(Obj::vcpu(index_, Obj::kVcpuMutex));
}

void FakeVcpu::unlock() {
    vm_.world().released(Obj::vcpu(index_, Obj::kVcpuMutex));
    mutex_held_ = false;
}

int FakeVcpu::ioctl(unsigned long request, void* arg) {
    auto& w = vm_.world();
    w.sched().point();  // the scheduler may switch between any two ioctls
    lock();
    w.emit({.kind = EventKind::Ioctl, .vcpu = static_cast<std::int16_t>(index_), .aux = static_cast<std::uint32_t>(request)});
    int r;
    const bool x86 = vm_.arch() == model::Arch::X86;
    std::optional<int> own;
    if (request != KVM_RUN && arch_ && (own = arch_->ioctl(request, arg))) r = *own;
    else if (request == KVM_RUN) r = kvm_run_ioctl();
    else if (request == (x86 ? KVM_GET_REGS : ppc::KVM_PPC_GET_REGS)) r = get_regs(arg);
    else if (request == (x86 ? KVM_SET_REGS : ppc::KVM_PPC_SET_REGS)) r = set_regs(arg);
    else if (request == (x86 ? KVM_GET_SREGS : ppc::KVM_PPC_GET_SREGS)) r = get_sregs(arg);
    else if (request == (x86 ? KVM_SET_SREGS : ppc::KVM_PPC_SET_SREGS)) r = set_sregs(arg);
    else if (x86 && request == x86::kvm_get_msrs) r = get_msrs(arg);
    else if (x86 && request == x86::kvm_set_msrs) r = set_msrs(arg);
    else if (request == KVM_GET_ONE_REG) r = get_one_reg(arg);
    else if (request == KVM_SET_ONE_REG) r = set_one_reg(arg);
    else if (x86 && request == KVM_GET_MP_STATE) r = get_mp_state(arg);
    else if (x86 && request == KVM_SET_MP_STATE) r = set_mp_state(arg);
    else if (x86 && request == KVM_GET_VCPU_EVENTS) r = get_vcpu_events(arg);
    else if (x86 && request == KVM_SET_VCPU_EVENTS) r = set_vcpu_events(arg);
    else if (x86 && request == KVM_NMI) r = queue_nmi();
    else if (x86 && request == KVM_GET_LAPIC) r = get_lapic(arg);
    else if (x86 && request == KVM_SET_LAPIC) r = set_lapic(arg);
    else r = -ENOTTY;
    unlock();
    return r;
}

// ---------------------------------------------------------------- KVM_RUN

bool FakeVcpu::runnable() const {
    return cat().mp_state < 0 || regs_[static_cast<std::size_t>(cat().mp_state)] == KVM_MP_STATE_RUNNABLE;
}

bool FakeVcpu::wake_condition() const {
    if (signal_pending_ || timer_pending_) return true;
    if (arch_) return arch_->wake_condition();
    if (vm_.config().init_sipi == InitSipi::ApicEvents) return Lapic::has_events(*this);
    const auto mp = regs_[static_cast<std::size_t>(cat().mp_state)];
    return mp == KVM_MP_STATE_SIPI_RECEIVED || mp == KVM_MP_STATE_RUNNABLE;
}

int FakeVcpu::exit_to_user(__u32 reason, int ret) {
    run_->exit_reason = reason;
    vm_.world().emit({.kind = EventKind::VcpuExit, .vcpu = static_cast<std::int16_t>(index_), .aux = reason});
    return ret;
}

// KVM_CAP_SYNC_REGS (x86): sync_regs() loads what userspace marked dirty
// in kvm_run->s.regs before running; store_regs() fills the valid fields on
// every return to userspace.
int FakeVcpu::sync_regs() {
    const __u64 dirty = run_->kvm_dirty_regs;
    if ((dirty | run_->kvm_valid_regs) & ~kSyncX86Fields) return -EINVAL;
    if (dirty & KVM_SYNC_X86_REGS) set_regs(&run_->s.regs.regs);
    if (dirty & KVM_SYNC_X86_SREGS) set_sregs(&run_->s.regs.sregs);
    if (dirty & KVM_SYNC_X86_EVENTS) set_vcpu_events(&run_->s.regs.events);
    run_->kvm_dirty_regs = 0;
    return 0;
}

void FakeVcpu::store_regs() {
    const __u64 valid = run_->kvm_valid_regs;
    if (valid & KVM_SYNC_X86_REGS) get_regs(&run_->s.regs.regs);
    if (valid & KVM_SYNC_X86_SREGS) get_sregs(&run_->s.regs.sregs);
    if (valid & KVM_SYNC_X86_EVENTS) get_vcpu_events(&run_->s.regs.events);
}

int FakeVcpu::kvm_run_ioctl() {
    const int r = kvm_run_inner();
    if (r == model::kExecutionOver) return r;
    if (vm_.arch() == model::Arch::X86) store_regs();
    return r;
}

int FakeVcpu::kvm_run_inner() {
    auto& w = vm_.world();
    if (vm_.arch() == model::Arch::X86 && (run_->kvm_dirty_regs || run_->kvm_valid_regs))
        if (const int r = sync_regs(); r != 0) return r;
    w.read(Obj::vcpu(index_, Obj::kSignal));
    if (run_->immediate_exit || signal_pending_) {
        w.write(Obj::vcpu(index_, Obj::kSignal));
        signal_pending_ = false;
        run_->exit_reason = KVM_EXIT_INTR;
        return -EINTR;
    }
    w.emit({.kind = EventKind::VcpuEnter, .vcpu = static_cast<std::int16_t>(index_)});
    self_init_deferred_ = false;  // the exit that ended the last KVM_RUN has happened
    if (!has_run) w.write(Obj::vcpu(index_, Obj::kTimer));  // the guest's timers are armed from now
    has_run = true;
    const bool x86 = vm_.arch() == model::Arch::X86;
    for (;;) {
        if (x86) {
            if (vm_.config().init_sipi == InitSipi::ApicEvents) {
                if (!self_init_deferred_) Lapic::accept_events(*this);
            } else if (get(cat().mp_state) == KVM_MP_STATE_SIPI_RECEIVED) {
                // Pre-3.10 __vcpu_run: reset on SIPI; the AP's CS comes from the vector.
                w.emit({.kind = EventKind::SipiAccepted, .vcpu = static_cast<std::int16_t>(index_), .value = apic_sipi_vector});
                Lapic::vcpu_reset(*this);
                if (!bsp_) Lapic::deliver_sipi_vector(*this, apic_sipi_vector);
                set(cat().mp_state, KVM_MP_STATE_RUNNABLE, Writer::Init);
            }
        }
        w.read(Obj::vcpu(index_, Obj::kSignal));
        if (signal_pending_) {
            signal_pending_ = false;
            w.write(Obj::vcpu(index_, Obj::kSignal));
            return exit_to_user(KVM_EXIT_INTR, -EINTR);
        }
        if (x86) inject_pending_timer();
        if (arch_) arch_->run_loop_requests();
        if (!runnable()) {
            // kvm_vcpu_block(): sleep until an event or a signal.
            w.read(Obj::vcpu(index_, Obj::kApicEvents));
            w.read(Obj::vcpu(index_, Obj::kTimer));
            if (arch_) arch_->wake_footprint();
            if (cat().mp_state >= 0) w.read(obj(cat().mp_state));
            if (observer_ && !wake_condition()) observer_->blocking(index_);
            // Rest points: the loop keeps nothing in locals from one turn to the
            // next, and its callers (FakeVcpu::ioctl, Vmm::kvm_cpu_exec,
            // qemu_kvm_cpu_thread_fn) hold nothing that is not state.
            w.sched().rest_next(sim::rest::kKvmRunBlock);
            if (!w.sched().wait_or_stop([this] { return wake_condition(); })) return model::kExecutionOver;
            // arm64 and riscv: kvm_vcpu_sleep() returns inside
            // check_vcpu_requests(), which goes on to the pending reset
            // before the loop looks at signals again.
            if (arch_) arch_->run_loop_requests();
            continue;
        }
        if (const int exit = guest_step(); exit != 0) return exit_to_user(static_cast<__u32>(exit), 0);
        w.sched().rest_next(sim::rest::kKvmRunStep);
        w.sched().point();
    }
}

void FakeVcpu::halt() {
    auto& w = vm_.world();
    if (arch_) return arch_->halt();
    if (vm_.arch() != model::Arch::X86) {
        // Book-E wait: modelled as blocking until a signal.
        w.read(Obj::vcpu(index_, Obj::kSignal));
        w.sched().wait_until([this] { return signal_pending_; });
        return;
    }
    // The VM exit for HLT has happened; kvm_emulate_halt() has not yet
    // stored HALTED. Before 3.10 an INIT landing here is overwritten.
    self_init_deferred_ = false;
    w.sched().rest_next(sim::rest::kHalt);  // then it stores HALTED and goes round the run loop
    w.sched().point();
    set(cat().mp_state, KVM_MP_STATE_HALTED, Writer::Halt);
}

// Executes one guest step. Returns the KVM_EXIT_* reason when the step exits
// to userspace, 0 when the guest goes on.
int FakeVcpu::guest_step() {
    auto& w = vm_.world();
    const auto& c = cat();
    const std::uint64_t pc = guest_pc();
    const std::uint64_t step_size = vm_.arch() == model::Arch::X86 ? 1 : 4;  // a fixed-width instruction elsewhere
    w.read(obj(c.pc));
    const GuestProgram* prog = nullptr;
    std::size_t idx = 0, at = 0, past_end = image_.size();
    for (std::size_t p = 0; p < image_.size() && !prog; ++p) {
        const auto& g = image_[p];
        const std::uint64_t end = g.entry + g.steps.size() * step_size;
        if (pc >= g.entry && pc < end) {
            prog = &g;
            at = p;
            idx = (pc - g.entry) / step_size;
        } else if (pc == end) {
            past_end = p;
        }
    }
    // The observer hears of the step, or of the idle HLT just past a
    // program's end (step == its size).
    if (observer_ && prog) observer_->before_guest_step(index_, at, idx);
    else if (observer_ && past_end < image_.size()) observer_->before_guest_step(index_, past_end, image_[past_end].steps.size());
    if (prog == nullptr) {
        halt();  // past the end of its code the guest idles in HLT
        return 0;
    }
    if (idx == 0)
        w.emit({.kind = EventKind::GuestEntry, .vcpu = static_cast<std::int16_t>(index_), .value = pc});
    const GuestStep& s = prog->steps[idx];
    set(c.pc, regs_[static_cast<std::size_t>(c.pc)] + step_size, Writer::Guest);
    switch (s.op) {
        case GuestOp::Nop: break;
        case GuestOp::Write: set(s.reg, s.value, Writer::Guest); break;
        case GuestOp::Rdtsc: {
            const std::uint64_t t = get(c.tsc);
            w.emit({.kind = EventKind::GuestTscRead, .vcpu = static_cast<std::int16_t>(index_), .value = t});
            if (c.rdx < 0) {  // arm64 mrs CNTVCT_EL0, riscv rdtime: one register
                set(c.ret, t, Writer::Guest);
                break;
            }
            set(c.ret, t & 0xffffffffULL, Writer::Guest);
            set(c.rdx, t >> 32, Writer::Guest);
            break;
        }
        case GuestOp::AckTsr: set(c.tsr, get(c.tsr) & ~s.value, Writer::Guest); break;
        case GuestOp::ArmDeadline: set(c.tsc_deadline, get(c.tsc) + s.value, Writer::Guest); break;
        case GuestOp::SendInit:
            Lapic::send_init(vm_, index_, s.target);
            if (s.target == index_ && vm_.config().self_init_at_next_exit) self_init_deferred_ = true;
            break;
        case GuestOp::SendSipi: Lapic::send_sipi(vm_, index_, s.target, static_cast<std::uint32_t>(s.value)); break;
        case GuestOp::Hlt: halt(); break;
        case GuestOp::Io: {
            run_->io.direction = KVM_EXIT_IO_OUT;
            run_->io.size = 4;
            run_->io.port = s.port;
            run_->io.count = 1;
            run_->io.data_offset = kIoDataOffset;
            const auto v = static_cast<std::uint32_t>(s.value);
            std::memcpy(run_page_.get() + kIoDataOffset, &v, sizeof v);
            w.emit({.kind = EventKind::GuestIo, .vcpu = static_cast<std::int16_t>(index_), .aux = s.port, .value = s.value});
            return KVM_EXIT_IO;
        }
        case GuestOp::Hypercall:
            run_->hypercall.nr = s.value;
            return KVM_EXIT_HYPERCALL;
        case GuestOp::Arch: return arch_ ? arch_->guest_step(s) : 0;
    }
    return 0;
}

// ------------------------------------------------------ register ioctls

namespace {
template <typename F>
void for_access(const model::Catalogue& c, Access a, F&& f) {
    for (std::size_t i = 0; i < c.size(); ++i)
        if (c.regs[i].access == a) f(static_cast<RegIndex>(i), c.regs[i]);
}
}  // namespace

int FakeVcpu::get_regs(void* arg) {
    auto* fields = static_cast<__u64*>(arg);
    for_access(cat(), Access::Regs, [&](RegIndex r, const model::RegisterDesc& d) { fields[d.id] = get(r); });
    return 0;
}

int FakeVcpu::set_regs(void* arg) {
    const auto* fields = static_cast<const __u64*>(arg);
    for_access(cat(), Access::Regs, [&](RegIndex r, const model::RegisterDesc& d) { set(r, fields[d.id], Writer::Userspace); });
    return 0;
}

int FakeVcpu::get_sregs(void* arg) {
    if (vm_.arch() == model::Arch::X86) {
        auto& s = *static_cast<struct kvm_sregs*>(arg);
        std::memset(&s, 0, sizeof s);
        for_access(cat(), Access::Sregs, [&](RegIndex r, const model::RegisterDesc& d) { x86::sregs_set(s, d.id, get(r)); });
        return 0;
    }
    auto& s = *static_cast<ppc::kvm_sregs*>(arg);
    std::memset(&s, 0, sizeof s);
    s.u.e.features = ppc::KVM_SREGS_E_BASE;
    s.u.e.tsr = static_cast<__u32>(get(cat().tsr));
    s.u.e.tcr = static_cast<__u32>(get(cat().tcr));
    s.u.e.dec = static_cast<__u32>(get(cat().dec));
    return 0;
}

int FakeVcpu::set_sregs(void* arg) {
    if (vm_.arch() == model::Arch::X86) {
        auto& s = *static_cast<struct kvm_sregs*>(arg);
        for_access(cat(), Access::Sregs, [&](RegIndex r, const model::RegisterDesc& d) { set(r, x86::sregs_get(s, d.id), Writer::Userspace); });
        return 0;
    }
    // Book-E (kvmppc_set_sregs_e): TSR and DEC change only when asked to
    // through update_special, because the kernel may have changed them.
    auto& s = *static_cast<ppc::kvm_sregs*>(arg);
    if (!(s.u.e.features & ppc::KVM_SREGS_E_BASE)) return 0;
    set(cat().tcr, s.u.e.tcr, Writer::Userspace);
    if (s.u.e.update_special & ppc::KVM_SREGS_E_UPDATE_TSR) set(cat().tsr, s.u.e.tsr, Writer::Userspace);
    if (s.u.e.update_special & ppc::KVM_SREGS_E_UPDATE_DEC) set(cat().dec, s.u.e.dec, Writer::Userspace);
    return 0;
}

namespace {
std::optional<RegIndex> msr_reg(const model::Catalogue& c, __u32 index) {
    for (std::size_t i = 0; i < c.size(); ++i)
        if (c.regs[i].access == Access::Msrs && c.regs[i].id == index) return static_cast<RegIndex>(i);
    return std::nullopt;
}
std::optional<RegIndex> one_reg(const model::Catalogue& c, __u64 id) {
    for (std::size_t i = 0; i < c.size(); ++i)
        if (c.regs[i].access == Access::OneReg && c.regs[i].id == id) return static_cast<RegIndex>(i);
    return std::nullopt;
}
}  // namespace

std::optional<RegIndex> FakeVcpu::one_reg_index(std::uint64_t id) const { return one_reg(cat(), id); }

// Both return the number of MSRs processed, stopping at the first unknown one.
int FakeVcpu::get_msrs(void* arg) {
    auto* m = static_cast<x86::kvm_msrs_buf*>(arg);
    if (m->nmsrs > std::size(m->entries)) return -E2BIG;
    for (__u32 i = 0; i < m->nmsrs; ++i) {
        auto r = msr_reg(cat(), m->entries[i].index);
        if (!r) return static_cast<int>(i);
        m->entries[i].data = get(*r);
    }
    return static_cast<int>(m->nmsrs);
}

int FakeVcpu::set_msrs(void* arg) {
    auto* m = static_cast<x86::kvm_msrs_buf*>(arg);
    if (m->nmsrs > std::size(m->entries)) return -E2BIG;
    for (__u32 i = 0; i < m->nmsrs; ++i) {
        auto r = msr_reg(cat(), m->entries[i].index);
        if (!r) return static_cast<int>(i);
        set(*r, m->entries[i].data, Writer::Userspace);
    }
    return static_cast<int>(m->nmsrs);
}

int FakeVcpu::get_one_reg(void* arg) {
    auto* o = static_cast<struct kvm_one_reg*>(arg);
    auto r = one_reg(cat(), o->id);
    if (!r) return -EINVAL;  // includes the write-only OR_TSR / CLEAR_TSR ids
    const std::uint64_t v = get(*r);
    if ((o->id & KVM_REG_SIZE_MASK) == KVM_REG_SIZE_U32) {
        const auto v32 = static_cast<std::uint32_t>(v);
        std::memcpy(reinterpret_cast<void*>(o->addr), &v32, sizeof v32);
    } else {
        std::memcpy(reinterpret_cast<void*>(o->addr), &v, sizeof v);
    }
    return 0;
}

int FakeVcpu::set_one_reg(void* arg) {
    auto* o = static_cast<struct kvm_one_reg*>(arg);
    std::uint64_t v = 0;
    if ((o->id & KVM_REG_SIZE_MASK) == KVM_REG_SIZE_U32) {
        std::uint32_t v32;
        std::memcpy(&v32, reinterpret_cast<const void*>(o->addr), sizeof v32);
        v = v32;
    } else {
        std::memcpy(&v, reinterpret_cast<const void*>(o->addr), sizeof v);
    }
    if (vm_.arch() == model::Arch::PpcBookE && vm_.config().ppc_tsr_or_clear) {
        // kvmppc_set_tsr_bits / kvmppc_clr_tsr_bits: atomic against the timer.
        if (o->id == ppc::KVM_REG_PPC_OR_TSR) {
            set(cat().tsr, get(cat().tsr) | v, Writer::Userspace);
            return 0;
        }
        if (o->id == ppc::KVM_REG_PPC_CLEAR_TSR) {
            set(cat().tsr, get(cat().tsr) & ~v, Writer::Userspace);
            return 0;
        }
    }
    auto r = one_reg(cat(), o->id);
    if (!r) return -EINVAL;
    set(*r, v, Writer::Userspace);
    return 0;
}

int FakeVcpu::get_mp_state(void* arg) {
    // kvm_arch_vcpu_ioctl_get_mpstate() runs kvm_apic_accept_events() first:
    // reading mp_state may reset the vCPU for a pending INIT.
    if (vm_.config().init_sipi == InitSipi::ApicEvents) Lapic::accept_events(*this);
    static_cast<struct kvm_mp_state*>(arg)->mp_state = static_cast<__u32>(get(cat().mp_state));
    return 0;
}

int FakeVcpu::set_mp_state(void* arg) {
    const __u32 mp = static_cast<struct kvm_mp_state*>(arg)->mp_state;
    if (mp > KVM_MP_STATE_SIPI_RECEIVED) return -EINVAL;
    if (vm_.config().init_sipi == InitSipi::ApicEvents && mp == KVM_MP_STATE_SIPI_RECEIVED) {
        // SIPI_RECEIVED is obsolete: translated to INIT_RECEIVED + pending SIPI.
        set(cat().mp_state, KVM_MP_STATE_INIT_RECEIVED, Writer::Userspace);
        vm_.world().write(Obj::vcpu(index_, Obj::kApicEvents));
        apic_sipi_pending = true;
        return 0;
    }
    set(cat().mp_state, mp, Writer::Userspace);
    return 0;
}

int FakeVcpu::get_vcpu_events(void* arg) {
    auto& e = *static_cast<struct kvm_vcpu_events*>(arg);
    std::memset(&e, 0, sizeof e);
    e.exception.injected = static_cast<__u8>(get(cat().exception_injected));
    e.nmi.pending = static_cast<__u8>(get(cat().nmi_pending));
    // "never valid when reporting to user space" (x86.c)
    e.sipi_vector = 0;
    // kvm_lapic_latched_init(): a pending INIT not yet accepted.
    vm_.world().read(Obj::vcpu(index_, Obj::kApicEvents));
    e.smi.latched_init = apic_init_pending ? 1 : 0;
    e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;
    return 0;
}

// KVM_NMI (kvm_inject_nmi, then process_nmi): one more NMI pending, at most
// two (one running, one latched) as on a real CPU.
int FakeVcpu::queue_nmi() {
    set(cat().nmi_pending, std::min<std::uint64_t>(get(cat().nmi_pending) + 1, 2), Writer::Userspace);
    return 0;
}

// KVM_GET_LAPIC / KVM_SET_LAPIC: the fake keeps no APIC registers but the
// ID. kvm_apic_set_state() leaves apic->pending_events alone, so an INIT or
// SIPI pending before a KVM_SET_LAPIC is still pending after it (the probe
// checks this on the real kernel).
int FakeVcpu::get_lapic(void* arg) {
    auto& s = *static_cast<struct kvm_lapic_state*>(arg);
    std::memset(&s, 0, sizeof s);
    const std::uint32_t id = static_cast<std::uint32_t>(index_) << 24;  // APIC_ID, xAPIC layout
    std::memcpy(s.regs + 0x20, &id, sizeof id);
    return 0;
}

int FakeVcpu::set_lapic(void*) { return 0; }

int FakeVcpu::set_vcpu_events(void* arg) {
    const auto& e = *static_cast<const struct kvm_vcpu_events*>(arg);
    set(cat().exception_injected, e.exception.injected, Writer::Userspace);
    if (e.flags & KVM_VCPUEVENT_VALID_NMI_PENDING) set(cat().nmi_pending, e.nmi.pending, Writer::Userspace);
    if (e.flags & KVM_VCPUEVENT_VALID_SIPI_VECTOR) {
        vm_.world().write(Obj::vcpu(index_, Obj::kApicEvents));
        apic_sipi_vector = e.sipi_vector;
    }
    // No SMM is modelled, so INIT is never blocked: the fixed kernel ignores
    // latched_init here; the ff90afa75573 one sets or clears the pending INIT.
    if ((e.flags & KVM_VCPUEVENT_VALID_SMM) && vm_.config().latched_init_outside_smm &&
        vm_.config().init_sipi == InitSipi::ApicEvents) {
        vm_.world().write(Obj::vcpu(index_, Obj::kApicEvents));
        const bool now = e.smi.latched_init != 0;
        if (now != apic_init_pending)
            vm_.world().emit({.kind = now ? EventKind::InitLatched : EventKind::InitCleared, .writer = Writer::Userspace,
                              .vcpu = static_cast<std::int16_t>(index_)});
        apic_init_pending = now;
    }
    return 0;
}

}  // namespace regsync::fakekvm

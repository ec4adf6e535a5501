// The riscv64 kernel side (arch/riscv/kvm): ONE_REG access to core, CSR and
// timer registers (vcpu_onereg.c, vcpu_timer.c), mp_state and the pending
// reset (vcpu.c), SBI HSM and IPI (vcpu_sbi_hsm.c, vcpu_sbi_replace.c), and
// the timer. The timer is modelled as with Sstc: arming it (SBI set_timer
// or a userspace SET of state ON) fires at `compare`.
#include <linux/kvm.h>

#include <cerrno>

#include "fakekvm/arch_util.h"
#include "fakekvm/arch_vcpu.h"
#include "fakekvm/fake_vm.h"
#include "model/kvm_abi.h"
#include "sim/footprint.h"
#include "sim/rng.h"

namespace regsync::fakekvm {

namespace {

using model::RegIndex;
using sim::Obj;
using sim::Writer;
namespace R = regsync::riscv;

enum RiscvOp : std::uint8_t { HartStart = 1, HartStop, SbiIpi, SetTimer, SystemReset };

// SR_SPP | SR_SPIE: the sstatus a reset leaves (kvm_riscv_vcpu_context_reset).
constexpr std::uint64_t kResetSstatus = 0x100 | 0x20;

struct Regs {
    RegIndex pc, a0, a1, sstatus, sie, sip, time, compare, state, mp;
    explicit Regs(const model::Catalogue& c)
        : pc(c.pc), a0(*c.find("a0")), a1(*c.find("a1")), sstatus(*c.find("sstatus")), sie(*c.find("sie")), sip(*c.find("sip")), time(c.tsc),
          compare(*c.find("compare")), state(*c.find("timer_state")), mp(c.mp_state) {}
};
const Regs& regs() {
    static const Regs r(model::catalogue(model::Arch::Riscv64));
    return r;
}

class RiscvVm final : public ArchVm {
public:
    explicit RiscvVm(FakeVm& vm) : vm_(vm) {}
    std::unique_ptr<ArchVcpu> make_vcpu(FakeVcpu& v) override;
    int vm_ioctl(unsigned long, void*) override { return -EINVAL; }
    std::uint64_t state_hash() const override { return time_delta; }
    std::uint64_t cycles() const { return vm_.world().now() * vm_.config().tsc_per_tick; }
    FakeVm& vm_;
    // kvm->arch.timer.time_delta: kvm_riscv_guest_timer_init() makes guest
    // time start at about 0.
    std::uint64_t time_delta = 0;
};

class RiscvVcpu final : public ArchVcpu {
public:
    RiscvVcpu(FakeVcpu& v, RiscvVm& vm) : v_(v), vm_(vm) {}

    std::optional<int> ioctl(unsigned long request, void* arg) override {
        switch (request) {
            case KVM_GET_ONE_REG: return one_reg(*static_cast<kvm_one_reg*>(arg), false);
            case KVM_SET_ONE_REG: return one_reg(*static_cast<kvm_one_reg*>(arg), true);
            case KVM_GET_MP_STATE:
                static_cast<kvm_mp_state*>(arg)->mp_state = static_cast<__u32>(v_.get(regs().mp));
                return 0;
            case KVM_SET_MP_STATE: {
                // kvm_arch_vcpu_ioctl_set_mpstate(): RUNNABLE (stored, no
                // wake-up) or STOPPED (power off); INIT_RECEIVED only with
                // KVM_CAP_RISCV_MP_STATE_RESET, which QEMU never enables.
                const __u32 mp = static_cast<kvm_mp_state*>(arg)->mp_state;
                if (mp != KVM_MP_STATE_RUNNABLE && mp != KVM_MP_STATE_STOPPED) return -EINVAL;
                v_.set(regs().mp, mp, Writer::Userspace);
                return 0;
            }
            default: return std::nullopt;
        }
    }

    // kvm_riscv_check_vcpu_requests(), after the KVM_REQ_SLEEP wait.
    void run_loop_requests() override {
        if (v_.get(regs().mp) == KVM_MP_STATE_RUNNABLE) service_pending_reset();
    }
    bool wake_condition() const override { return v_.peek(regs().mp) == KVM_MP_STATE_RUNNABLE; }

    int guest_step(const GuestStep& s) override;

    // kvm_riscv_vcpu_wfi(): sleep until an enabled interrupt is pending
    // (kvm_riscv_vcpu_has_interrupts(): irqs_pending & vsie) or a signal.
    // Woken by an interrupt, the guest's handler takes it and disables it
    // in sie (Linux's riscv timer and IPI handlers), and idles again.
    void halt() override {
        auto& w = v_.vm().world();
        const auto& G = regs();
        w.read(Obj::vcpu(v_.index(), static_cast<std::uint32_t>(G.sip)));
        w.read(Obj::vcpu(v_.index(), static_cast<std::uint32_t>(G.sie)));
        w.read(Obj::vcpu(v_.index(), Obj::kSignal));
        w.sched().wait_until([this] { return v_.signal_pending() || enabled_irqs() != 0; });
        if (const auto irqs = enabled_irqs()) v_.set(G.sie, v_.get(G.sie) & ~irqs, Writer::Guest);
    }
    std::uint64_t enabled_irqs() const { return v_.peek(regs().sip) & v_.peek(regs().sie) & R::VSIP_VALID_MASK; }

    // kvm_riscv_current_cycles(): the VM's cycles plus time_delta.
    std::uint64_t counter(RegIndex) const override {
        v_.vm().world().read(Obj::kVmCounter);
        return vm_.cycles() + vm_.time_delta;
    }
    // kvm_riscv_vcpu_set_reg_timer(time): "gt->time_delta = reg_val -
    // get_cycles64()", the VM's.
    void set_counter(RegIndex r, std::uint64_t v, Writer who) override {
        auto& w = v_.vm().world();
        w.write(Obj::vcpu(v_.index(), static_cast<std::uint32_t>(r)));
        const std::uint64_t old = counter(r);
        w.write(Obj::kVmCounter);
        vm_.time_delta = v - vm_.cycles();
        v_.report_counter_write(r, old, v, who);
    }

    // The timer expiring (kvm_riscv_vcpu_hrtimer_expired; with Sstc the
    // hardware raises VSTIP the same way): the timer is no longer armed
    // and STIP is pending.
    void clock_tick() override {
        const auto& G = regs();
        if (v_.get(G.state) != R::KVM_RISCV_TIMER_STATE_ON) return;
        if (counter(G.time) < v_.get(G.compare)) return;
        v_.set(G.state, R::KVM_RISCV_TIMER_STATE_OFF, Writer::Timer);
        v_.set(G.sip, v_.get(G.sip) | R::SIP_STIP, Writer::Timer);
    }

    std::uint64_t state_hash() const override { return latch_.hash(); }

    // kvm_sbi_hsm_vcpu_start() on this vCPU as the target: false when it is
    // not STOPPED (SBI_ERR_ALREADY_AVAILABLE); else
    // kvm_riscv_vcpu_sbi_request_reset() and __kvm_riscv_vcpu_power_on().
    bool hart_start(int from, std::uint64_t pc, std::uint64_t opaque) { return latch_.request(v_, from, pc, opaque); }

    void raise(std::uint64_t sip_bit, Writer who) { v_.set(regs().sip, v_.get(regs().sip) | sip_bit, who); }

private:
    void service_pending_reset() {
        if (!latch_.take_request(v_)) return;
        auto& w = v_.vm().world();
        const auto payload = latch_.take_payload(v_).value_or(arch_util::StartLatch::Payload{});
        // kvm_riscv_reset_vcpu(): the context and CSRs zeroed, sstatus =
        // SPP | SPIE, the SBI payload (sepc = start, a0 = hartid, a1 =
        // opaque), the timer reset (next_cycles = -1, cancelled), the
        // pending interrupts cleared.
        const auto& cat = v_.vm().cat();
        const auto& G = regs();
        for (std::size_t i = 0; i < cat.size(); ++i) {
            const auto r = static_cast<RegIndex>(i);
            if (cat.regs[i].access != model::Access::OneReg || cat.regs[i].time_varying) continue;
            std::uint64_t reset = 0;
            if (r == G.sstatus) reset = kResetSstatus;
            else if (r == G.pc) reset = payload.pc;
            else if (r == G.a0) reset = static_cast<std::uint64_t>(v_.index());
            else if (r == G.a1) reset = payload.arg;
            else if (r == G.compare) reset = ~0ULL;
            v_.set(r, reset, Writer::Init);
        }
        w.emit({.kind = sim::EventKind::StartServiced, .vcpu = static_cast<std::int16_t>(v_.index()), .value = payload.pc});
    }

    int one_reg(kvm_one_reg& o, bool set) {
        if (v_.vm().config().riscv_reset_at_one_reg) service_pending_reset();
        const auto r = v_.one_reg_index(o.id);
        if (!r) return -ENOENT;
        if (!arch_util::one_reg_u64(o)) return -EINVAL;  // "reg_size != sizeof(unsigned long)"
        const auto& G = regs();
        if (!set) {
            arch_util::one_reg_write(o, v_.get(*r));  // sip: kvm_riscv_vcpu_flush_interrupts() first, as modelled
            return 0;
        }
        std::uint64_t v = arch_util::one_reg_read(o);
        if (*r == G.sip) {
            // kvm_riscv_vcpu_general_set_csr(): hvip's VS bits from the
            // value, then "WRITE_ONCE(vcpu->arch.irqs_pending_mask[0], 0)":
            // an interrupt raised since the last flush is dropped.
            v_.set(G.sip, v & R::VSIP_VALID_MASK, Writer::Userspace);
            return 0;
        }
        if (*r == G.state) {
            // ON arms the timer (at `compare`: with Sstc vstimecmp is
            // rewritten from next_cycles at the next vcpu_load); OFF cancels
            // it, -EINVAL when it is not armed.
            if (v == R::KVM_RISCV_TIMER_STATE_OFF && v_.get(G.state) != R::KVM_RISCV_TIMER_STATE_ON) return -EINVAL;
            v_.set(G.state, v == R::KVM_RISCV_TIMER_STATE_ON ? 1 : 0, Writer::Userspace);
            return 0;
        }
        v_.set(*r, v, Writer::Userspace);
        return 0;
    }

    FakeVcpu& v_;
    RiscvVm& vm_;
    arch_util::StartLatch latch_;  // vcpu->arch.reset_state and KVM_REQ_VCPU_RESET
};

std::unique_ptr<ArchVcpu> RiscvVm::make_vcpu(FakeVcpu& v) { return std::make_unique<RiscvVcpu>(v, *this); }

int RiscvVcpu::guest_step(const GuestStep& s) {
    const auto& G = regs();
    switch (s.arch_op) {
        case HartStart: {  // SBI HSM HART_START: a0 = the SBI error
            auto* target = static_cast<RiscvVcpu*>(v_.vm().vcpu(s.target).arch());
            const bool ok = target->hart_start(v_.index(), s.value, s.value2);
            v_.set(G.a0, static_cast<std::uint64_t>(ok ? R::SBI_SUCCESS : R::SBI_ERR_ALREADY_AVAILABLE), Writer::Guest);
            return 0;
        }
        case HartStop:  // kvm_sbi_hsm_vcpu_stop(): __kvm_riscv_vcpu_power_off()
            v_.set(G.mp, KVM_MP_STATE_STOPPED, Writer::Init);
            return 0;
        case SbiIpi:  // kvm_sbi_ext_ipi_handler(): IRQ_VS_SOFT pending on the target
            static_cast<RiscvVcpu*>(v_.vm().vcpu(s.target).arch())->raise(R::SIP_SSIP, Writer::Irq);
            v_.set(G.a0, 0, Writer::Guest);
            return 0;
        case SetTimer:  // SBI set_timer(time + delta): unset IRQ_VS_TIMER, arm at the new compare
            v_.set(G.compare, counter(G.time) + s.value, Writer::Guest);
            v_.set(G.sip, v_.get(G.sip) & ~R::SIP_STIP, Writer::Guest);
            v_.set(G.state, R::KVM_RISCV_TIMER_STATE_ON, Writer::Guest);
            return 0;
        case SystemReset: {  // SBI SRST: kvm_riscv_vcpu_sbi_system_reset(), every vCPU STOPPED, no vCPU reset
            for (int i = 0; i < v_.vm().vcpu_count(); ++i) v_.vm().vcpu(i).set(G.mp, KVM_MP_STATE_STOPPED, Writer::Init);
            auto& run = v_.run();
            run.system_event.type = KVM_SYSTEM_EVENT_RESET;
            run.system_event.ndata = 1;
            run.system_event.data[0] = 0;
            return KVM_EXIT_SYSTEM_EVENT;
        }
        default: return 0;
    }
}

}  // namespace

bool riscv64_requests_system_reset(const GuestStep& s) { return s.op == GuestOp::Arch && s.arch_op == SystemReset; }

std::unique_ptr<ArchVm> make_riscv64_vm(FakeVm& vm) { return std::make_unique<RiscvVm>(vm); }

std::string_view riscv64_writer_function(sim::Writer w) {
    switch (w) {
        case Writer::Init: return "SBI HSM and the vCPU reset (kvm_sbi_hsm_vcpu_start, kvm_riscv_reset_vcpu)";
        case Writer::Timer: return "the timer (kvm_riscv_vcpu_hrtimer_expired)";
        case Writer::Irq: return "an interrupt made pending (kvm_riscv_vcpu_set_interrupt, SBI IPI)";
        default: return "";
    }
}

std::optional<GuestStep> parse_riscv64_step(const std::vector<std::string>& w, std::size_t vcpus) {
    const std::string& op = w[0];
    GuestStep s;
    if (op == "rdtime") {
        arch_util::operands(w, 0, 0);
        s.op = GuestOp::Rdtsc;
    } else if (op == "wfi") {
        arch_util::operands(w, 0, 0);
        s.op = GuestOp::Hlt;
    } else if (op == "set_timer") {
        arch_util::operands(w, 1, 1);
        s.op = GuestOp::Arch;
        s.arch_op = SetTimer;
        s.value = arch_util::number(w[1], "time delta");
    } else if (op == "sbi_hart_start") {
        arch_util::operands(w, 2, 3);
        s.op = GuestOp::Arch;
        s.arch_op = HartStart;
        s.target = arch_util::vcpu_operand(w[1], vcpus);
        s.value = arch_util::number(w[2], "start address");
        if (s.value % 4) throw std::invalid_argument("sbi_hart_start address " + w[2] + " is not 4-byte aligned");
        if (w.size() > 3) s.value2 = arch_util::number(w[3], "opaque value");
    } else if (op == "sbi_hart_stop" || op == "sbi_system_reset") {
        arch_util::operands(w, 0, 0);
        s.op = GuestOp::Arch;
        s.arch_op = op == "sbi_hart_stop" ? HartStop : SystemReset;
    } else if (op == "sbi_ipi") {
        arch_util::operands(w, 1, 1);
        s.op = GuestOp::Arch;
        s.arch_op = SbiIpi;
        s.target = arch_util::vcpu_operand(w[1], vcpus);
    } else {
        return std::nullopt;
    }
    return s;
}

}  // namespace regsync::fakekvm

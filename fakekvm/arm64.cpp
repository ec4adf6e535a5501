// The arm64 kernel side (arch/arm64/kvm): ONE_REG access to core registers,
// system registers and the timers (guest.c, arch_timer.c, sys_regs.c),
// KVM_ARM_VCPU_INIT and mp_state (arm.c), PSCI (psci.c), the vCPU reset
// (reset.c) and the virtual timer.
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
namespace A = regsync::arm64;

enum ArmOp : std::uint8_t { PsciCpuOn = 1, PsciCpuOff, PsciSystemReset, ArmTimer };

// kvm_reset_sys_regs(): reset_unknown() fills a register with this pattern.
constexpr std::uint64_t kResetUnknown = 0x1de7ec7edbadc0deULL;

struct Regs {
    RegIndex x0, pc, pstate, ctl, cval, cnt, pcnt, mp, sctlr;
    explicit Regs(const model::Catalogue& c)
        : x0(*c.find("x0")), pc(c.pc), pstate(*c.find("pstate")), ctl(*c.find("CNTV_CTL")), cval(*c.find("CNTV_CVAL")), cnt(*c.find("CNTVCT")),
          pcnt(*c.find("CNTPCT")), mp(c.mp_state), sctlr(*c.find("SCTLR_EL1")) {}
};
const Regs& regs() {
    static const Regs r(model::catalogue(model::Arch::Arm64));
    return r;
}

class Arm64Vcpu;

class Arm64Vm final : public ArchVm {
public:
    explicit Arm64Vm(FakeVm& vm) : vm_(vm) {}
    std::unique_ptr<ArchVcpu> make_vcpu(FakeVcpu& v) override;
    int vm_ioctl(unsigned long request, void* arg) override;
    std::uint64_t state_hash() const override {
        return sim::hash_combine(sim::hash_combine(static_cast<std::uint64_t>(voffset), static_cast<std::uint64_t>(poffset)), offset_set);
    }

    // The physical counter: the virtual clock at the scenario's rate.
    std::uint64_t phys() const { return vm_.world().now() * vm_.config().tsc_per_tick; }
    FakeVm& vm_;
    // kvm->arch.timer_data.voffset / poffset (47053904e182, 6.3; the same
    // value in every vCPU's CNTVOFF before). kvm_timer_vcpu_init() sets
    // voffset to the physical counter at creation (0 here) and poffset 0.
    std::uint64_t voffset = 0, poffset = 0;
    bool offset_set = false;  // KVM_ARCH_FLAG_VM_COUNTER_OFFSET
};

class Arm64Vcpu final : public ArchVcpu {
public:
    Arm64Vcpu(FakeVcpu& v, Arm64Vm& vm) : v_(v), vm_(vm) {}

    std::optional<int> ioctl(unsigned long request, void* arg) override {
        switch (request) {
            case KVM_GET_ONE_REG: return get_one_reg(*static_cast<kvm_one_reg*>(arg));
            case KVM_SET_ONE_REG: return set_one_reg(*static_cast<kvm_one_reg*>(arg));
            case KVM_GET_MP_STATE:
                static_cast<kvm_mp_state*>(arg)->mp_state = static_cast<__u32>(v_.get(regs().mp));
                return 0;
            case KVM_SET_MP_STATE: return set_mp_state(static_cast<kvm_mp_state*>(arg)->mp_state);
            case A::kvm_arm_vcpu_init: return vcpu_init(*static_cast<A::kvm_vcpu_init*>(arg));
            default: return std::nullopt;
        }
    }

    // check_vcpu_requests(): KVM_REQ_SLEEP first (a STOPPED vCPU sleeps
    // until CPU_ON makes it runnable), then KVM_REQ_VCPU_RESET.
    void run_loop_requests() override {
        if (v_.get(regs().mp) == KVM_MP_STATE_RUNNABLE) service_pending_reset();
    }

    bool wake_condition() const override {
        const auto mp = v_.peek(regs().mp);
        return mp == KVM_MP_STATE_RUNNABLE || (mp == KVM_MP_STATE_SUSPENDED && timer_irq());
    }
    void wake_footprint() const override { v_.vm().world().read(Obj::vcpu(v_.index(), Obj::kTimer)); }

    int guest_step(const GuestStep& s) override;

    // kvm_vcpu_wfi(): sleep until the timer interrupt or a signal.
    void halt() override {
        auto& w = v_.vm().world();
        w.read(Obj::vcpu(v_.index(), Obj::kTimer));
        w.read(Obj::vcpu(v_.index(), Obj::kSignal));
        w.sched().wait_until([this] { return v_.signal_pending() || timer_irq(); });
        // Woken by the timer, the guest's handler masks it (Linux's
        // arch_timer_handler_virt sets CNTV_CTL.IMASK) and idles again.
        if (timer_irq()) v_.set(regs().ctl, v_.get(regs().ctl) | A::CTL_IMASK, Writer::Guest);
    }

    // kvm_arm_timer_read(TIMER_REG_CNT): the physical counter minus the VM's offset.
    std::uint64_t counter(RegIndex r) const override {
        v_.vm().world().read(Obj::kVmCounter);
        return vm_.phys() - (r == regs().pcnt ? vm_.poffset : vm_.voffset);
    }

    // kvm_arm_timer_set_reg(TIMER_CNT) / arch_timer_set_user(CNTVCT_EL0):
    // "if (!test_bit(KVM_ARCH_FLAG_VM_COUNTER_OFFSET, ...))
    // timer_set_offset(vtimer, kvm_phys_timer_read() - value)": the offset
    // is the VM's, so every vCPU's counter moves.
    void set_counter(RegIndex r, std::uint64_t v, Writer who) override {
        auto& w = v_.vm().world();
        w.write(Obj::vcpu(v_.index(), static_cast<std::uint32_t>(r)));
        w.read(Obj::kVmCounter);
        if (vm_.offset_set) return;  // silently dropped, and 0 returned
        const std::uint64_t old = counter(r);
        w.write(Obj::kVmCounter);
        (r == regs().pcnt ? vm_.poffset : vm_.voffset) = vm_.phys() - v;
        v_.report_counter_write(r, old, v, who);
    }

    // With 6.18's stored CTL, timer_save_state() keeps the ISTATUS the
    // hardware set when the vCPU is put: the kernel's copy gains the bit
    // when the timer fires.
    void clock_tick() override {
        if (v_.vm().config().arm64_istatus_on_read) return;
        auto& w = v_.vm().world();
        w.read(Obj::vcpu(v_.index(), static_cast<std::uint32_t>(regs().ctl)));
        w.read(Obj::vcpu(v_.index(), static_cast<std::uint32_t>(regs().cval)));
        w.read(Obj::kVmCounter);
        const auto ctl = v_.peek(regs().ctl);
        if (condition_met() && (ctl & A::CTL_ENABLE) && !(ctl & A::CTL_ISTATUS)) v_.store(regs().ctl, ctl | A::CTL_ISTATUS, Writer::Timer);
    }

    std::uint64_t state_hash() const override { return latch_.hash(); }

    // kvm_psci_vcpu_on() on this vCPU as the target: pc and x0, then
    // KVM_REQ_VCPU_RESET, RUNNABLE, kvm_vcpu_wake_up().
    bool psci_cpu_on(int from, std::uint64_t pc, std::uint64_t r0) { return latch_.request(v_, from, pc, r0); }

private:
    // CNTV_CTL's timer condition: the counter has reached CVAL (ISTATUS
    // is set "regardless of ENABLE bit", read_timer_ctl()).
    bool condition_met() const { return vm_.phys() - vm_.voffset >= v_.peek(regs().cval); }
    bool timer_irq() const {
        const auto ctl = v_.peek(regs().ctl);
        return (ctl & A::CTL_ENABLE) && !(ctl & A::CTL_IMASK) && condition_met();
    }

    // "We could owe a reset due to PSCI. Handle the pending reset here to
    // ensure userspace register accesses are ordered after the reset."
    void service_pending_reset() {
        if (latch_.take_request(v_)) kvm_reset_vcpu();
    }

    // reset.c kvm_reset_vcpu(): take the payload, zero the core registers
    // with pstate for EL1h, reset the system registers, then apply the
    // payload ("Must be done after all the sys_reg reset"), then
    // kvm_timer_vcpu_reset() (CTL = 0; CVAL and the offsets stay).
    void kvm_reset_vcpu() {
        auto& w = v_.vm().world();
        const auto payload = latch_.take_payload(v_);
        const auto& cat = v_.vm().cat();
        for (std::size_t i = 0; i < cat.size(); ++i) {
            const auto r = static_cast<RegIndex>(i);
            const auto& d = cat.regs[i];
            if (d.access != model::Access::OneReg || d.time_varying || r == regs().ctl || r == regs().cval) continue;
            std::uint64_t reset = 0;
            if (r == regs().pstate) reset = A::RESET_PSTATE_EL1;
            else if (r == regs().sctlr) reset = d.reset_value;  // reset_val() in sys_reg_descs
            else if ((d.id & 0xffff0000ULL) == A::KVM_REG_ARM64_SYSREG) reset = kResetUnknown;
            v_.set(r, reset, Writer::Init);
        }
        if (payload) {
            v_.set(regs().pc, payload->pc, Writer::Init);
            v_.set(regs().x0, payload->arg, Writer::Init);
            w.emit({.kind = sim::EventKind::StartServiced, .vcpu = static_cast<std::int16_t>(v_.index()), .value = payload->pc});
        }
        v_.set(regs().ctl, 0, Writer::Init);
    }

    int get_one_reg(kvm_one_reg& o) {
        if (v_.vm().config().arm64_reset_at_one_reg) service_pending_reset();
        const auto r = v_.one_reg_index(o.id);
        if (!r || !arch_util::one_reg_u64(o)) return -ENOENT;
        std::uint64_t v = v_.get(*r);
        // read_timer_ctl(): "if (!kvm_timer_compute_delta(timer)) ctl |=
        // ARCH_TIMER_CTRL_IT_STAT" (up to 6.17).
        if (*r == regs().ctl && v_.vm().config().arm64_istatus_on_read) {
            v_.get(regs().cval);
            v_.vm().world().read(Obj::kVmCounter);
            if (condition_met()) v |= A::CTL_ISTATUS;
        }
        arch_util::one_reg_write(o, v);
        return 0;
    }

    int set_one_reg(kvm_one_reg& o) {
        if (v_.vm().config().arm64_reset_at_one_reg) service_pending_reset();
        const auto r = v_.one_reg_index(o.id);
        if (!r || !arch_util::one_reg_u64(o)) return -ENOENT;
        std::uint64_t v = arch_util::one_reg_read(o);
        if (*r == regs().ctl) v &= ~A::CTL_ISTATUS;  // kvm_arm_timer_write(): "val & ~ARCH_TIMER_CTRL_IT_STAT"
        v_.set(*r, v, Writer::Userspace);
        return 0;
    }

    // kvm_arch_vcpu_ioctl_set_mpstate(): RUNNABLE, STOPPED (power off) or
    // SUSPENDED; anything else -EINVAL.
    int set_mp_state(__u32 mp) {
        if (mp != KVM_MP_STATE_RUNNABLE && mp != KVM_MP_STATE_STOPPED && mp != KVM_MP_STATE_SUSPENDED) return -EINVAL;
        v_.set(regs().mp, mp, Writer::Userspace);
        return 0;
    }

    // kvm_arch_vcpu_ioctl_vcpu_init(): a second INIT is a full reset
    // (kvm_vcpu_set_target() -> kvm_reset_vcpu(), which consumes a CPU_ON
    // payload); KVM_REQ_VCPU_RESET is not cleared, so a pending one resets
    // the vCPU again at its next KVM_RUN or ONE_REG access. POWER_OFF is a
    // one-shot: STOPPED, else RUNNABLE.
    int vcpu_init(const A::kvm_vcpu_init& init) {
        if (init.target != A::KVM_ARM_TARGET_GENERIC_V8) return -EINVAL;
        kvm_reset_vcpu();
        const bool off = init.features[0] & (1u << A::KVM_ARM_VCPU_POWER_OFF);
        v_.set(regs().mp, off ? KVM_MP_STATE_STOPPED : KVM_MP_STATE_RUNNABLE, Writer::Init);
        return 0;
    }

    FakeVcpu& v_;
    Arm64Vm& vm_;
    arch_util::StartLatch latch_;  // vcpu->arch.reset_state and KVM_REQ_VCPU_RESET
};

std::unique_ptr<ArchVcpu> Arm64Vm::make_vcpu(FakeVcpu& v) { return std::make_unique<Arm64Vcpu>(v, *this); }

// kvm_vm_ioctl_set_counter_offset(): -EBUSY unless every vCPU's mutex can
// be taken (kvm_trylock_all_vcpus); then the flag, and both offsets.
int Arm64Vm::vm_ioctl(unsigned long request, void* arg) {
    if (request != A::kvm_arm_set_counter_offset || !vm_.config().arm64_counter_offset_ioctl) return -EINVAL;
    const auto& o = *static_cast<const A::kvm_arm_counter_offset*>(arg);
    if (o.reserved) return -EINVAL;
    for (int i = 0; i < vm_.vcpu_count(); ++i) {
        vm_.world().read(Obj::vcpu(i, Obj::kVcpuMutex));
        if (vm_.vcpu(i).mutex_held()) return -EBUSY;
    }
    vm_.world().write(Obj::kVmCounter);
    offset_set = true;
    voffset = poffset = o.counter_offset;
    return 0;
}

int Arm64Vcpu::guest_step(const GuestStep& s) {
    const auto& R = regs();
    switch (s.arch_op) {
        case PsciCpuOn: {  // kvm_psci_vcpu_on(), x0 = the PSCI return code
            auto* target = static_cast<Arm64Vcpu*>(v_.vm().vcpu(s.target).arch());
            const bool on = target->psci_cpu_on(v_.index(), s.value, s.value2);
            v_.set(R.x0, static_cast<std::uint64_t>(on ? A::PSCI_RET_SUCCESS : A::PSCI_RET_ALREADY_ON), Writer::Guest);
            return 0;
        }
        case PsciCpuOff:  // kvm_arm_vcpu_power_off(): STOPPED, KVM_REQ_SLEEP
            v_.set(R.mp, KVM_MP_STATE_STOPPED, Writer::Init);
            return 0;
        case PsciSystemReset: {  // kvm_prepare_system_event(KVM_SYSTEM_EVENT_RESET)
            v_.set(R.x0, static_cast<std::uint64_t>(-6), Writer::Guest);  // PSCI_RET_INTERNAL_FAILURE, preloaded
            for (int i = 0; i < v_.vm().vcpu_count(); ++i) v_.vm().vcpu(i).set(R.mp, KVM_MP_STATE_STOPPED, Writer::Init);
            auto& run = v_.run();
            run.system_event.type = KVM_SYSTEM_EVENT_RESET;
            run.system_event.ndata = 1;
            run.system_event.data[0] = 0;
            return KVM_EXIT_SYSTEM_EVENT;
        }
        case ArmTimer:  // msr cntv_cval_el0 (counter + delta); msr cntv_ctl_el0, ENABLE
            v_.set(R.cval, v_.get(R.cnt) + s.value, Writer::Guest);
            v_.set(R.ctl, A::CTL_ENABLE, Writer::Guest);
            return 0;
        default: return 0;
    }
}

}  // namespace

std::unique_ptr<ArchVm> make_arm64_vm(FakeVm& vm) { return std::make_unique<Arm64Vm>(vm); }

bool arm64_requests_system_reset(const GuestStep& s) { return s.op == GuestOp::Arch && s.arch_op == PsciSystemReset; }

std::string_view arm64_writer_function(sim::Writer w) {
    switch (w) {
        case Writer::Init: return "PSCI and the vCPU reset (kvm_psci_vcpu_on, kvm_reset_vcpu)";
        case Writer::Timer: return "the arch timer (timer_save_state keeps ISTATUS)";
        default: return "";
    }
}

std::optional<GuestStep> parse_arm64_step(const std::vector<std::string>& w, std::size_t vcpus) {
    const std::string& op = w[0];
    GuestStep s;
    if (op == "read_cnt") {  // mrs x0, cntvct_el0
        arch_util::operands(w, 0, 0);
        s.op = GuestOp::Rdtsc;
    } else if (op == "wfi") {
        arch_util::operands(w, 0, 0);
        s.op = GuestOp::Hlt;
    } else if (op == "arm_timer") {
        arch_util::operands(w, 1, 1);
        s.op = GuestOp::Arch;
        s.arch_op = ArmTimer;
        s.value = arch_util::number(w[1], "counter delta");
    } else if (op == "psci_cpu_on") {
        arch_util::operands(w, 2, 3);
        s.op = GuestOp::Arch;
        s.arch_op = PsciCpuOn;
        s.target = arch_util::vcpu_operand(w[1], vcpus);
        s.value = arch_util::number(w[2], "entry address");
        if (s.value % 4) throw std::invalid_argument("psci_cpu_on entry " + w[2] + " is not 4-byte aligned");
        if (w.size() > 3) s.value2 = arch_util::number(w[3], "context id");
    } else if (op == "psci_cpu_off" || op == "psci_system_reset") {
        arch_util::operands(w, 0, 0);
        s.op = GuestOp::Arch;
        s.arch_op = op == "psci_cpu_off" ? PsciCpuOff : PsciSystemReset;
    } else {
        return std::nullopt;
    }
    return s;
}

}  // namespace regsync::fakekvm

#include "model/policies/qemu_riscv64.h"

#include <linux/kvm.h>

#include <memory>

#include "model/kvm_abi.h"

namespace regsync::model {

namespace {

RegMask bit(RegIndex r) { return RegMask{1} << r; }

// mp_state (when it is got at all) before the registers, as the candidate
// that syncs it reads it.
const SyncOrder& riscv_order() {
    static const SyncOrder o{{Access::MpState, Access::OneReg}, {Access::OneReg, Access::MpState}};
    return o;
}

class QemuRiscv64 final : public QemuKvmAllToday {
public:
    explicit QemuRiscv64(const QemuRiscv64Config& c) : cfg_(c) {}
    std::string_view name() const override { return cfg_.name; }

    void vm_state_change(CPUState& cpu, const ArchSync& arch, bool running) override {
        const auto& cat = arch.cat();
        const RegIndex time = cat.tsc, compare = *cat.find("compare"), state = *cat.find("timer_state");
        auto& saved = cpu.stopped_copy;
        if (!running) {  // kvm_riscv_get_regs_timer()
            if (cpu.stopped_copy_dirty) return;
            for (RegIndex r : {time, compare, state}) one_reg(*cpu.kvm, KVM_GET_ONE_REG, cat[r].id, saved[static_cast<std::size_t>(r)]);
            cpu.stopped_copy_dirty = true;
            return;
        }
        if (!cpu.stopped_copy_dirty) return;  // kvm_riscv_put_regs_timer()
        // KVM_RISCV_SET_TIMER(cs, name, reg): before c5cc248b47 the id was
        // RISCV_TIMER_REG(env, time) whatever `name` said.
        auto id = [&](RegIndex r) { return cfg_.set_timer_writes_time ? cat[time].id : cat[r].id; };
        one_reg(*cpu.kvm, KVM_SET_ONE_REG, id(time), saved[static_cast<std::size_t>(time)]);
        one_reg(*cpu.kvm, KVM_SET_ONE_REG, id(compare), saved[static_cast<std::size_t>(compare)]);
        if (saved[static_cast<std::size_t>(state)] != 0) one_reg(*cpu.kvm, KVM_SET_ONE_REG, id(state), saved[static_cast<std::size_t>(state)]);
        cpu.stopped_copy_dirty = false;
    }

    // The timer registers' copy in QEMU is env->kvm_timer_{time,compare,
    // state}: what savevm stores (vmstate_kvmtimer) and loadvm fills
    // (post_load sets kvm_timer_dirty, so the resume handler puts them).
    std::uint64_t read_reg(CPUState& cpu, const ArchSync& arch, RegIndex r) override {
        return is_timer(arch, r) ? cpu.stopped_copy[static_cast<std::size_t>(r)] : cpu.env[static_cast<std::size_t>(r)];
    }
    void write_reg(CPUState& cpu, const ArchSync& arch, RegIndex r, std::uint64_t v) override {
        if (!is_timer(arch, r)) {
            cpu.env[static_cast<std::size_t>(r)] = v;
            return;
        }
        cpu.stopped_copy[static_cast<std::size_t>(r)] = v;
        cpu.stopped_copy_dirty = true;
    }

protected:
    // Core and CSRs: the registers the catalogue keeps at RUNTIME.
    void get_registers(CPUState& cpu, const ArchSync& arch) override {
        RegMask mask = arch.level_mask(SyncLevel::Runtime);
        if (cfg_.sync_mp_state) mask |= bit(arch.cat().mp_state);
        arch.get(cpu, mask, riscv_order());
    }

    void put_registers(CPUState& cpu, const ArchSync& arch, SyncLevel level) override {
        const auto& cat = arch.cat();
        RegMask mask = arch.level_mask(SyncLevel::Runtime);
        if (!cfg_.sip_at_runtime && level == SyncLevel::Runtime) mask &= ~bit(*cat.find("sip"));
        if (level == SyncLevel::Reset && cfg_.put_mp_state_at_reset) {
            cpu.env[static_cast<std::size_t>(cat.mp_state)] = cpu.cpu_index == 0 ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_STOPPED;
            mask |= bit(cat.mp_state);
        }
        if (level == SyncLevel::Full && cfg_.sync_mp_state) mask |= bit(cat.mp_state);
        arch.put(cpu, mask, PutOptions{level}, riscv_order());
    }

private:
    static bool is_timer(const ArchSync& arch, RegIndex r) { return arch.cat()[r].access == Access::OneReg && arch.cat()[r].level == SyncLevel::Full; }
    QemuRiscv64Config cfg_;
};

}  // namespace

std::unique_ptr<SyncPolicy> make_qemu_riscv64(const QemuRiscv64Config& c) { return std::make_unique<QemuRiscv64>(c); }

}  // namespace regsync::model

#include "model/policies/qemu_arm64.h"

#include <linux/kvm.h>

#include <memory>

#include "model/kvm_abi.h"

namespace regsync::model {

namespace {

RegMask bit(RegIndex r) { return RegMask{1} << r; }

// Core registers and cpregs go by ONE_REG, then mp_state.
const SyncOrder& arm_order() {
    static const SyncOrder o{{Access::OneReg, Access::MpState}, {Access::OneReg, Access::MpState}};
    return o;
}
// mp_state first: a ONE_REG get after it may run a pending CPU_ON reset
// (6826c6849b46), and then the copy holds the payload with the RUNNABLE
// state that came with it.
const SyncOrder& arm_order_mp_state_first() {
    static const SyncOrder o{{Access::MpState, Access::OneReg}, {Access::OneReg, Access::MpState}};
    return o;
}

class QemuArm64 final : public QemuKvmAllToday {
public:
    explicit QemuArm64(const QemuArm64Config& c) : cfg_(c) {}
    std::string_view name() const override { return cfg_.name; }

    void post_init(CPUState& cpu, const ArchSync& arch) override {
        // kvm_arm_cpu_post_load(): after an incoming snapshot, kvm_vtime
        // is the loaded TIMER_CNT, put back when the VM resumes.
        if (cfg_.adjvtime && cpu.stopped_copy_dirty) {
            const auto cnt = static_cast<std::size_t>(arch.cat().tsc);
            cpu.stopped_copy[cnt] = cpu.env[cnt];
        }
        QemuLevels::post_init(cpu, arch);
    }

    void vm_state_change(CPUState& cpu, const ArchSync& arch, bool running) override {
        if (!cfg_.adjvtime) return;
        const auto cnt = arch.cat().tsc;
        auto& vtime = cpu.stopped_copy[static_cast<std::size_t>(cnt)];
        if (!running) {  // kvm_arm_get_virtual_time()
            if (cpu.stopped_copy_dirty) return;
            one_reg(*cpu.kvm, KVM_GET_ONE_REG, arch.cat()[cnt].id, vtime);
            cpu.stopped_copy_dirty = true;
        } else {  // kvm_arm_put_virtual_time()
            if (!cpu.stopped_copy_dirty) return;
            one_reg(*cpu.kvm, KVM_SET_ONE_REG, arch.cat()[cnt].id, vtime);
            cpu.stopped_copy_dirty = false;
        }
    }

    // kvm_arm_reset_vcpu(): the kernel resets the vCPU, and QEMU takes the
    // cpreg list back from it ("the next kvm_arch_put_registers would
    // otherwise overwrite the list from stale CPUState"); the core
    // registers keep what arm_cpu_reset_hold() and the boot code set.
    void reset_handlers(CPUState& cpu, const ArchSync& arch) override {
        arm64::kvm_vcpu_init init{};
        init.target = arm64::KVM_ARM_TARGET_GENERIC_V8;
        if (cpu.cpu_index != 0) init.features[0] |= 1u << arm64::KVM_ARM_VCPU_POWER_OFF;  // start_powered_off
        cpu.kvm->ioctl(arm64::kvm_arm_vcpu_init, &init);
        arch.get(cpu, cpreg_mask(arch), arm_order());
    }

protected:
    void get_registers(CPUState& cpu, const ArchSync& arch) override {
        arch.get(cpu, arch.all(), cfg_.mp_state_first ? arm_order_mp_state_first() : arm_order());
    }

    void put_registers(CPUState& cpu, const ArchSync& arch, SyncLevel level) override {
        const auto& cat = arch.cat();
        RegMask mask = arch.level_mask(level);
        if (!cfg_.counters_at_full_only)
            for (std::size_t i = 0; i < cat.size(); ++i)
                if (cat.regs[i].time_varying) mask |= bit(static_cast<RegIndex>(i));
        if (level < cfg_.mp_state_level) mask &= ~bit(cat.mp_state);
        arch.put(cpu, mask, PutOptions{level}, arm_order());
    }

private:
    // The cpreg list: ONE_REG registers outside KVM_REG_ARM_CORE.
    static RegMask cpreg_mask(const ArchSync& arch) {
        RegMask m = 0;
        const auto& cat = arch.cat();
        for (std::size_t i = 0; i < cat.size(); ++i)
            if (cat.regs[i].access == Access::OneReg && (cat.regs[i].id & 0xffff0000ULL) != arm64::KVM_REG_ARM_CORE)
                m |= bit(static_cast<RegIndex>(i));
        return m;
    }
    QemuArm64Config cfg_;
};

}  // namespace

std::unique_ptr<SyncPolicy> make_qemu_arm64(const QemuArm64Config& c) { return std::make_unique<QemuArm64>(c); }

}  // namespace regsync::model

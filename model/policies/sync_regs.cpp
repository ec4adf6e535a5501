#include "model/policies/sync_regs.h"

#include <cstring>

namespace regsync::model {

namespace {
constexpr __u64 kSynced = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS;

// A KvmVcpu whose REGS/SREGS/VCPU_EVENTS ioctls are served from and to the
// kvm_run page, so ArchSync's struct (de)serialisation is reused unchanged.
class SharedPage final : public KvmVcpu {
public:
    explicit SharedPage(KvmVcpu& real) : real_(real) {}
    int ioctl(unsigned long request, void* arg) override {
        auto& s = real_.run().s.regs;
        switch (request) {
            case KVM_GET_REGS: std::memcpy(arg, &s.regs, sizeof s.regs); return 0;
            case KVM_GET_SREGS: std::memcpy(arg, &s.sregs, sizeof s.sregs); return 0;
            case KVM_GET_VCPU_EVENTS: std::memcpy(arg, &s.events, sizeof s.events); return 0;
            case KVM_SET_REGS: std::memcpy(&s.regs, arg, sizeof s.regs); dirty(KVM_SYNC_X86_REGS); return 0;
            case KVM_SET_SREGS: std::memcpy(&s.sregs, arg, sizeof s.sregs); dirty(KVM_SYNC_X86_SREGS); return 0;
            case KVM_SET_VCPU_EVENTS: std::memcpy(&s.events, arg, sizeof s.events); dirty(KVM_SYNC_X86_EVENTS); return 0;
            default: return real_.ioctl(request, arg);
        }
    }
    struct kvm_run& run() override { return real_.run(); }
    void kick() override { real_.kick(); }
    int index() const override { return real_.index(); }

private:
    void dirty(__u64 bit) { real_.run().kvm_dirty_regs |= bit; }
    KvmVcpu& real_;
};

template <typename F>
void through_page(CPUState& cpu, F&& f) {
    cpu.kvm->run().kvm_valid_regs = kSynced;
    KvmVcpu* real = cpu.kvm;
    SharedPage page(*real);
    cpu.kvm = &page;
    f();
    cpu.kvm = real;
}
}  // namespace

void SyncRegs::get_registers(CPUState& cpu, const ArchSync& arch) {
    if (arch.cat().arch != Arch::X86) return QemuLevels::get_registers(cpu, arch);
    // Before the first KVM_RUN nothing was stored in the page: use the ioctls.
    if (cpu.kvm->run().kvm_valid_regs != kSynced) return QemuLevels::get_registers(cpu, arch);
    through_page(cpu, [&] { arch.get(cpu, arch.all()); });
}

void SyncRegs::put_registers(CPUState& cpu, const ArchSync& arch, SyncLevel level) {
    if (arch.cat().arch != Arch::X86) return QemuLevels::put_registers(cpu, arch, level);
    through_page(cpu, [&] { arch.put(cpu, arch.level_mask(level), PutOptions{level}); });
}

}  // namespace regsync::model

// The real /dev/kvm behind the same ioctl surface as the fake
// (model/kvm_backend.h): an x86 VM with the in-kernel irqchip, 2 MiB of
// guest memory at GPA 0 and N vCPUs. Every KVM_RUN is bounded: kick() sets
// kvm_run->immediate_exit and signals the thread inside KVM_RUN (SIGUSR1,
// installed without SA_RESTART), so the ioctl returns -EINTR, as QEMU's
// SIG_IPI does.
#pragma once
#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/kvm_backend.h"

namespace regsync::realkvm {

inline constexpr std::size_t kGuestMemory = 2u << 20;
// The top 64 KiB below 4 GiB, where the reset vector 0xfffffff0 is (a PC's
// BIOS area): a vCPU reset by INIT or at creation starts there.
inline constexpr std::uint64_t kResetArea = 0xffff0000;
inline constexpr std::size_t kResetAreaSize = 64u << 10;

class RealVcpu final : public model::KvmVcpu {
public:
    RealVcpu(int fd, struct kvm_run* run, std::size_t run_size, int index);
    ~RealVcpu() override;
    RealVcpu(const RealVcpu&) = delete;
    RealVcpu& operator=(const RealVcpu&) = delete;

    int ioctl(unsigned long request, void* arg) override;
    struct kvm_run& run() override { return *run_; }
    void kick() override;
    int index() const override { return index_; }

    // The thread that issues KVM_RUN (for kick()); call from that thread.
    void bind_thread();

private:
    int fd_;
    struct kvm_run* run_;
    std::size_t run_size_;
    int index_;
    std::atomic<bool> bound_{false};
    pthread_t thread_{};
};

class RealVm final : public model::KvmVm {
public:
    // nullptr and the reason when /dev/kvm is missing or refuses the VM, or
    // the environment sets REGSYNC_NO_KVM.
    static std::unique_ptr<RealVm> create(int vcpus, std::string& why);
    ~RealVm() override;
    RealVm(const RealVm&) = delete;
    RealVm& operator=(const RealVm&) = delete;

    model::Arch arch() const override { return model::Arch::X86; }
    int vcpu_count() const override { return static_cast<int>(vcpus_.size()); }
    RealVcpu& vcpu(int index) override { return *vcpus_[static_cast<std::size_t>(index)]; }

    std::uint8_t* memory() { return mem_; }
    // Copies into guest memory at `gpa` (low memory or the reset area);
    // false when it does not fit in either.
    bool load(std::uint64_t gpa, const std::vector<std::uint8_t>& bytes);

private:
    RealVm() = default;
    int kvm_ = -1, vm_ = -1;
    std::uint8_t* mem_ = nullptr;
    std::uint8_t* reset_area_ = nullptr;
    std::vector<std::unique_ptr<RealVcpu>> vcpus_;
};

// Empty when a VM with the in-kernel irqchip and a vCPU can be created
// here; otherwise what stopped it ("/dev/kvm: No such file or directory").
std::string kvm_unavailable_reason();
// The host: uname's kernel release, and the vendor KVM module loaded
// (kvm_intel, kvm_amd, kvm_pvm, ...; "kvm" when none shows in /sys/module).
std::string kernel_release();
std::string kvm_module();

}  // namespace regsync::realkvm

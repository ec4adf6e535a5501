// The ioctl surface a VMM uses, implemented by the fake kernel (fakekvm/)
// and by a real /dev/kvm backend alike, so VMM code runs unchanged on both.
// Return convention is the kernel handler's: >= 0 on success, -errno on error.
#pragma once
#include <linux/kvm.h>

#include <cerrno>
#include <cstdint>

#include "model/arch.h"

namespace regsync::model {

// What a fake vCPU ioctl that was blocked (KVM_RUN in HLT) returns when the
// simulated execution ends: the VMM thread then returns, changing nothing.
inline constexpr int kExecutionOver = -ESHUTDOWN;

class KvmVcpu {
public:
    virtual ~KvmVcpu() = default;
    // Raw vCPU ioctl with the kernel's request numbers and structs.
    virtual int ioctl(unsigned long request, void* arg) = 0;
    // The mmap'd struct kvm_run of this vCPU.
    virtual struct kvm_run& run() = 0;
    // Signal the vCPU thread (QEMU's SIG_IPI): a KVM_RUN in progress or
    // the next one returns -EINTR.
    virtual void kick() = 0;
    virtual int index() const = 0;
};

// KVM_GET_ONE_REG / KVM_SET_ONE_REG of one 64-bit register into or from `value`.
inline int one_reg(KvmVcpu& v, unsigned long request, std::uint64_t id, std::uint64_t& value) {
    struct kvm_one_reg o{id, reinterpret_cast<__u64>(&value)};
    return v.ioctl(request, &o);
}

class KvmVm {
public:
    virtual ~KvmVm() = default;
    virtual Arch arch() const = 0;
    virtual int vcpu_count() const = 0;
    virtual KvmVcpu& vcpu(int index) = 0;
};

}  // namespace regsync::model

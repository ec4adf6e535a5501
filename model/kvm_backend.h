// The ioctl surface a VMM uses, implemented by the fake kernel (fakekvm/)
// and by a real /dev/kvm backend alike, so VMM code runs unchanged on both.
// Return convention is the kernel handler's: >= 0 on success, -errno on error.
#pragma once
#include <linux/kvm.h>

#include <cerrno>

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

class KvmVm {
public:
    virtual ~KvmVm() = default;
    virtual Arch arch() const = 0;
    virtual int vcpu_count() const = 0;
    virtual KvmVcpu& vcpu(int index) = 0;
};

}  // namespace regsync::model

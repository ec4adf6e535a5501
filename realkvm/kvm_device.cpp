#include "realkvm/kvm_device.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>

namespace regsync::realkvm {

namespace {

// SIG_IPI: its only job is to interrupt KVM_RUN.
void install_kick_signal() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction sa {};
        sa.sa_handler = [](int) {};
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;  // no SA_RESTART: KVM_RUN returns -EINTR
        sigaction(SIGUSR1, &sa, nullptr);
    });
}

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

RealVcpu::RealVcpu(int fd, struct kvm_run* run, std::size_t run_size, int index)
    : fd_(fd), run_(run), run_size_(run_size), index_(index) {}

RealVcpu::~RealVcpu() {
    munmap(run_, run_size_);
    close(fd_);
}

int RealVcpu::ioctl(unsigned long request, void* arg) {
    const int r = ::ioctl(fd_, request, arg);
    if (r >= 0) return r;
    const int e = errno;
    if (request == KVM_RUN && e == EINTR) run_->immediate_exit = 0;  // the kick is consumed
    return -e;
}

void RealVcpu::bind_thread() {
    thread_ = pthread_self();
    bound_.store(true);
}

void RealVcpu::kick() {
    // A KVM_RUN not yet entered returns at once; one in progress gets the signal.
    __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (bound_.load()) pthread_kill(thread_, SIGUSR1);
}

std::unique_ptr<RealVm> RealVm::create(int vcpus, std::string& why) {
    // The user's switch to keep a run on the fake where /dev/kvm works
    // (and the way the skip path is tested on such machines).
    if (const char* no = std::getenv("REGSYNC_NO_KVM"); no && *no) {
        why = "REGSYNC_NO_KVM is set";
        return nullptr;
    }
    install_kick_signal();
    std::unique_ptr<RealVm> vm(new RealVm());
    vm->kvm_ = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm_ < 0) {
        why = errno_text("/dev/kvm");
        return nullptr;
    }
    if (::ioctl(vm->kvm_, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
        why = "/dev/kvm: KVM_GET_API_VERSION is not 12";
        return nullptr;
    }
    vm->vm_ = ::ioctl(vm->kvm_, KVM_CREATE_VM, 0);
    if (vm->vm_ < 0) {
        why = errno_text("KVM_CREATE_VM");
        return nullptr;
    }
    if (::ioctl(vm->vm_, KVM_CREATE_IRQCHIP, 0) < 0) {
        why = errno_text("KVM_CREATE_IRQCHIP");
        return nullptr;
    }
    void* mem = mmap(nullptr, kGuestMemory, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) {
        why = errno_text("mmap of guest memory");
        return nullptr;
    }
    vm->mem_ = static_cast<std::uint8_t*>(mem);
    struct kvm_userspace_memory_region region {};
    region.slot = 0;
    region.guest_phys_addr = 0;
    region.memory_size = kGuestMemory;
    region.userspace_addr = reinterpret_cast<std::uint64_t>(mem);
    if (::ioctl(vm->vm_, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        why = errno_text("KVM_SET_USER_MEMORY_REGION");
        return nullptr;
    }
    void* top = mmap(nullptr, kResetAreaSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (top == MAP_FAILED) {
        why = errno_text("mmap of the reset area");
        return nullptr;
    }
    vm->reset_area_ = static_cast<std::uint8_t*>(top);
    region.slot = 1;
    region.guest_phys_addr = kResetArea;
    region.memory_size = kResetAreaSize;
    region.userspace_addr = reinterpret_cast<std::uint64_t>(top);
    if (::ioctl(vm->vm_, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        why = errno_text("KVM_SET_USER_MEMORY_REGION (reset area)");
        return nullptr;
    }
    // The vCPUs get the CPUID the kernel supports, as QEMU's -cpu host does
    // (kvm_arch_init_vcpu: KVM_SET_CPUID2): some MSRs are only writable by
    // the host when the guest's CPUID has them (IA32_TSC_ADJUST).
    constexpr int kMaxCpuid = 256;
    std::vector<std::uint8_t> cpuid_buf(sizeof(struct kvm_cpuid2) + kMaxCpuid * sizeof(struct kvm_cpuid_entry2));
    auto* cpuid = reinterpret_cast<struct kvm_cpuid2*>(cpuid_buf.data());
    cpuid->nent = kMaxCpuid;
    const bool have_cpuid = ::ioctl(vm->kvm_, KVM_GET_SUPPORTED_CPUID, cpuid) == 0;
    const int run_size = ::ioctl(vm->kvm_, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size <= 0) {
        why = errno_text("KVM_GET_VCPU_MMAP_SIZE");
        return nullptr;
    }
    for (int i = 0; i < vcpus; ++i) {
        const int fd = ::ioctl(vm->vm_, KVM_CREATE_VCPU, i);
        if (fd < 0) {
            why = errno_text("KVM_CREATE_VCPU");
            return nullptr;
        }
        void* run = mmap(nullptr, static_cast<std::size_t>(run_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (run == MAP_FAILED) {
            close(fd);
            why = errno_text("mmap of struct kvm_run");
            return nullptr;
        }
        if (have_cpuid && ::ioctl(fd, KVM_SET_CPUID2, cpuid) < 0) {
            close(fd);
            why = errno_text("KVM_SET_CPUID2");
            return nullptr;
        }
        vm->vcpus_.push_back(std::make_unique<RealVcpu>(fd, static_cast<struct kvm_run*>(run), static_cast<std::size_t>(run_size), i));
    }
    return vm;
}

RealVm::~RealVm() {
    vcpus_.clear();
    if (mem_) munmap(mem_, kGuestMemory);
    if (reset_area_) munmap(reset_area_, kResetAreaSize);
    if (vm_ >= 0) close(vm_);
    if (kvm_ >= 0) close(kvm_);
}

bool RealVm::load(std::uint64_t gpa, const std::vector<std::uint8_t>& bytes) {
    if (gpa + bytes.size() <= kGuestMemory) {
        std::memcpy(mem_ + gpa, bytes.data(), bytes.size());
        return true;
    }
    if (gpa >= kResetArea && gpa - kResetArea + bytes.size() <= kResetAreaSize) {
        std::memcpy(reset_area_ + (gpa - kResetArea), bytes.data(), bytes.size());
        return true;
    }
    return false;
}

std::string kvm_unavailable_reason() {
    std::string why;
    auto vm = RealVm::create(1, why);
    return vm ? std::string{} : why;
}

std::string kernel_release() {
    struct utsname u {};
    return uname(&u) == 0 ? std::string(u.release) : "unknown";
}

std::string kvm_module() {
    std::error_code ec;
    std::vector<std::string> found;
    for (const auto& e : std::filesystem::directory_iterator("/sys/module", ec)) {
        const auto name = e.path().filename().string();
        if (name.rfind("kvm_", 0) == 0) found.push_back(name);
    }
    std::sort(found.begin(), found.end());
    return found.empty() ? "kvm" : found.front();
}

}  // namespace regsync::realkvm

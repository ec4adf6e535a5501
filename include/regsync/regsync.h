/*
 * regsync.h: the C ABI through which regsync loads and checks a VMM's own
 * register-sync layer (C99; also valid C++).
 *
 * A sync layer is the code that moves vCPU register state between the VMM's
 * CPU struct and KVM: QEMU's accel/kvm/kvm-all.c plus kvm_arch_get_registers()
 * and kvm_arch_put_registers(). regsync calls the hooks of a layer at the
 * points where QEMU's generic code calls them, runs the layer's ioctls against
 * its fake kernel (or the real /dev/kvm in kvm-replay), and judges what
 * happened. The layer keeps its own CPU struct and dirty flag; regsync never
 * looks inside them.
 *
 * A plugin is a shared object that defines, with REGSYNC_PLUGIN():
 *   regsync_plugin_abi_version  (checked before anything in the library runs
 *                                beyond its constructors)
 *   regsync_plugin_init()       (registers one or more layers)
 *
 * Threading contract. Every hook runs on a simulated thread (a fiber of
 * regsync's deterministic scheduler), all of them on one OS thread per
 * execution. A hook must not block in the OS: no pthread mutex or condition
 * wait, no sleep, no blocking read. Take regsync_lock() instead: it is a
 * scheduling point, as is every regsync_vcpu_ioctl(). A hook must not start
 * threads, must not keep pointers to ioctl structs past the call, and must
 * keep all its state in the CPU struct it returned from create_vcpu (one
 * execution's layer state is created and destroyed with the execution; there
 * may be several executions at once on different OS threads). A hook that
 * blocks in the OS is found by the supervisor's watchdog and named with the
 * system call it sleeps in.
 *
 * Which lock is held. As in QEMU: needs_synchronize, get_register and
 * set_register run under the BQL on the caller's thread; synchronize_state,
 * process_async_events, post_run and kvm_get_tsc run under the BQL on the
 * vCPU's own thread; post_reset, post_init, pre_loadvm, vm_state_change and
 * reset_handlers run under the BQL with every vCPU paused; pre_run runs on
 * the vCPU's thread after bql_unlock() (today's kvm_cpu_exec) unless the
 * layer sets REGSYNC_F_PUT_UNDER_BQL.
 *
 * Return values. Hooks returning int return 0 on success and a negative errno
 * value on a failure the layer could not handle (QEMU aborts there: "Failed to
 * put registers after init"). regsync reports it as a fault of the code under
 * test, with the hook, a trace of the execution so far and the command that
 * replays it.
 */
#ifndef REGSYNC_REGSYNC_H
#define REGSYNC_REGSYNC_H

#include <errno.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any change to the structs or the meaning of a hook below. */
#define REGSYNC_ABI_VERSION 1

/* QEMU's writeback levels (include/system/kvm.h), with the same values. */
#define REGSYNC_PUT_RUNTIME_STATE 1
#define REGSYNC_PUT_RESET_STATE 2
#define REGSYNC_PUT_FULL_STATE 3

#define REGSYNC_ARCH_X86 1
#define REGSYNC_ARCH_PPC_BOOKE 2
#define REGSYNC_ARCH_ARM64 3
#define REGSYNC_ARCH_RISCV64 4

/* Layer flags: where the layer's VMM differs from today's QEMU. */
/* pre_run is called before bql_unlock() (QEMU before 2.4). */
#define REGSYNC_F_PUT_UNDER_BQL (1u << 0)
/* do_vm_stop() sets the run state after pause_all_vcpus() (QEMU 2013). */
#define REGSYNC_F_RUNSTATE_AFTER_PAUSE (1u << 1)
/* get_register may issue ioctls: regsync calls it on the vCPU's thread. */
#define REGSYNC_F_READS_ON_VCPU_THREAD (1u << 2)

typedef struct regsync_vcpu regsync_vcpu;

/* What regsync offers a layer, reached through every vCPU handle. */
struct regsync_services {
    uint32_t size; /* sizeof(struct regsync_services) as regsync built it */
    /* A vCPU ioctl with the kernel's request numbers and structs, returning
     * >= 0 or -errno (the kernel handler's convention). Use
     * regsync_vcpu_ioctl() below for libc's. */
    int (*vcpu_ioctl)(regsync_vcpu *vcpu, unsigned long request, void *arg);
    /* A VMM lock, by number (0..15), shared by every vCPU of the machine.
     * Taking it is a scheduling point; a held lock blocks the taker. */
    void (*lock)(regsync_vcpu *vcpu, unsigned lock_id);
    void (*unlock)(regsync_vcpu *vcpu, unsigned lock_id);
    /* runstate_is_running(): recorded as a read of the run state. */
    int (*runstate_is_running)(regsync_vcpu *vcpu);
    /* The architected value of register `name` after RESET on this vCPU
     * (x86: the BSP differs in apic_base and mp_state): 0 or -ENOENT. */
    int (*reset_value)(regsync_vcpu *vcpu, const char *name, uint64_t *value);
    /* cpu_index; 0 is the BSP. */
    int (*cpu_index)(regsync_vcpu *vcpu);
};

/* regsync's handle of one vCPU: what a VMM keeps as its vcpu fd. */
struct regsync_vcpu {
    const struct regsync_services *rs; /* the only public member */
};

/* ioctl(vcpu_fd, request, arg) with libc's convention: -1 and errno. */
static inline int regsync_vcpu_ioctl(regsync_vcpu *vcpu, unsigned long request, void *arg)
{
    int r = vcpu->rs->vcpu_ioctl(vcpu, request, arg);
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return r;
}
static inline void regsync_lock(regsync_vcpu *vcpu, unsigned lock_id) { vcpu->rs->lock(vcpu, lock_id); }
static inline void regsync_unlock(regsync_vcpu *vcpu, unsigned lock_id) { vcpu->rs->unlock(vcpu, lock_id); }
static inline int regsync_runstate_is_running(regsync_vcpu *vcpu) { return vcpu->rs->runstate_is_running(vcpu); }

/* One sync layer. Hooks marked optional may be NULL. `cpu` is the pointer
 * create_vcpu returned. Register names are those of `regsync list`'s
 * catalogue (x86: rax..r15, rip, rflags, cs.base, cs.selector, cr0, cr2, cr3,
 * cr4, efer, apic_base, IA32_TSC, ..., mp_state, exception.injected,
 * nmi.pending). */
struct regsync_sync_layer {
    uint32_t abi_version; /* REGSYNC_ABI_VERSION */
    uint32_t size;        /* sizeof(struct regsync_sync_layer) */
    const char *name;     /* unique among policies, [a-z0-9.-]+ */
    const char *description;
    uint32_t arch;        /* REGSYNC_ARCH_* */
    uint32_t flags;       /* REGSYNC_F_* */
    /* Optional: the built-in policy this layer claims to behave like; the
     * matrix expects that policy's catalogue verdicts from it. */
    const char *follows;

    /* kvm_init_vcpu(): the layer's CPU struct for one vCPU. The machine's
     * initial register values then arrive through set_register. NULL fails. */
    void *(*create_vcpu)(regsync_vcpu *vcpu);
    void (*destroy_vcpu)(void *cpu);

    /* kvm_cpu_synchronize_state(): non-zero when the kernel's copy must be
     * fetched (QEMU: !cpu->vcpu_dirty), so that regsync runs
     * synchronize_state on the vCPU's thread. */
    int (*needs_synchronize)(void *cpu);
    /* do_kvm_cpu_synchronize_state(). */
    int (*synchronize_state)(void *cpu);
    /* kvm_cpu_synchronize_post_reset() / _post_init(). */
    int (*post_reset)(void *cpu);
    int (*post_init)(void *cpu);
    /* cpu_synchronize_pre_loadvm() (optional). */
    int (*pre_loadvm)(void *cpu);
    /* The VM state change notifier (optional): vm_start (1) or vm_stop (0). */
    int (*vm_state_change)(void *cpu, int running);
    /* kvm_cpu_exec(): before each KVM_RUN (the RUNTIME put), and after it
     * returns (optional). */
    int (*pre_run)(void *cpu);
    int (*post_run)(void *cpu);
    /* kvm_arch_process_async_events() (optional): 1 when it ran the VMM's
     * own INIT (do_cpu_init), 0 when not, or -errno. */
    int (*process_async_events)(void *cpu);
    /* kvmclock's kvm_synchronize_all_tsc() on vm_stop (optional). */
    int (*kvm_get_tsc)(void *cpu);
    /* Device reset handlers that write the kernel during qemu_system_reset(),
     * after the CPU reset and before the RESET put (optional). */
    int (*reset_handlers)(void *cpu);
    /* The register cache, by catalogue name: for the monitor, reset, savevm
     * and loadvm. 0, or -ENOENT for a name the layer does not keep. */
    int (*get_register)(void *cpu, const char *name, uint64_t *value);
    int (*set_register)(void *cpu, const char *name, uint64_t value);
    /* The TSC x86_cpu_reset_hold() leaves (optional). NULL: today's QEMU,
     * 1 for a TSC that is not 0 (5286c36622), else `reset`. */
    uint64_t (*tsc_after_reset)(uint64_t current, uint64_t reset);
};

/* Given to regsync_plugin_init(). */
struct regsync_registry {
    uint32_t size;
    /* 0, or -EINVAL (a malformed layer; regsync says why) or -EEXIST. */
    int (*register_layer)(struct regsync_registry *registry, const struct regsync_sync_layer *layer);
};

#if defined(__GNUC__)
#define REGSYNC_EXPORT __attribute__((visibility("default")))
#else
#define REGSYNC_EXPORT
#endif
#ifdef __cplusplus
#define REGSYNC_EXTERN_C extern "C"
#else
#define REGSYNC_EXTERN_C
#endif

/* Defines the two symbols regsync looks up; `init` is the plugin's
 * int init(struct regsync_registry *), returning 0 or -errno. */
#define REGSYNC_PLUGIN(init)                                                                          \
    REGSYNC_EXTERN_C REGSYNC_EXPORT const uint32_t regsync_plugin_abi_version = REGSYNC_ABI_VERSION;  \
    REGSYNC_EXTERN_C REGSYNC_EXPORT int regsync_plugin_init(struct regsync_registry *registry);       \
    REGSYNC_EXTERN_C REGSYNC_EXPORT int regsync_plugin_init(struct regsync_registry *registry) { return init(registry); }

#ifdef __cplusplus
}
#endif

#endif /* REGSYNC_REGSYNC_H */

/*
 * An x86 register-sync layer in plain C, written the way a VMM writes it and
 * following today's QEMU (accel/kvm/kvm-all.c, target/i386/kvm/kvm.c,
 * target/i386/helper.c): its own CPU struct and vcpu_dirty flag, the real
 * <linux/kvm.h> structs, and the KVM_PUT_*_STATE writeback levels. It uses
 * nothing of regsync but <regsync/regsync.h>; the one line that ties it to
 * regsync is the ioctl shim below.
 *
 * Built with -DINJECT_TSC_AT_RUNTIME it is the same layer with one bug: the
 * TSC is written back at every level, as if kvm_put_msrs() had lost its
 * "if (level >= KVM_PUT_RESET_STATE)" around MSR_IA32_TSC.
 */
#include <linux/kvm.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <regsync/regsync.h>

/* The only line that differs from a VMM on a real vcpu fd. */
#define kvm_vcpu_ioctl(cpu, req, arg) regsync_vcpu_ioctl((cpu)->vcpu, (req), (arg))

#define MSR_IA32_TSC 0x10
#define MSR_IA32_TSC_ADJUST 0x3b
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_STAR 0xc0000081
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define MSR_IA32_TSCDEADLINE 0x6e0

/* CPUState + CPUX86State, cut down to what this layer syncs. */
typedef struct X86CPU {
    regsync_vcpu *vcpu;
    int cpu_index;
    bool vcpu_dirty;             /* cpu->vcpu_dirty */
    bool interrupt_init;         /* cs->interrupt_request & CPU_INTERRUPT_INIT */
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    __u64 tsc;                   /* env->tsc */
    bool tsc_valid;              /* env->tsc_valid */
    __u64 tsc_adjust, sysenter_cs, star, system_time_msr, tsc_deadline;
    uint32_t mp_state;           /* env->mp_state */
    uint8_t exception_injected;  /* env->exception_injected */
    uint8_t nmi_pending;         /* env->nmi_pending */
    uint32_t sipi_vector;        /* env->sipi_vector */
} X86CPU;

/* ------------------------------------------------ registers by name */

static __u64 *field(X86CPU *cpu, const char *name)
{
    static const char *const gprs[] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp",
                                       "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
    __u64 *r[] = {&cpu->regs.rax, &cpu->regs.rbx, &cpu->regs.rcx, &cpu->regs.rdx, &cpu->regs.rsi,
                     &cpu->regs.rdi, &cpu->regs.rsp, &cpu->regs.rbp, &cpu->regs.r8,  &cpu->regs.r9,
                     &cpu->regs.r10, &cpu->regs.r11, &cpu->regs.r12, &cpu->regs.r13, &cpu->regs.r14,
                     &cpu->regs.r15};
    for (unsigned i = 0; i < 16; i++)
        if (!strcmp(name, gprs[i])) return r[i];
    if (!strcmp(name, "rip")) return &cpu->regs.rip;
    if (!strcmp(name, "rflags")) return &cpu->regs.rflags;
    if (!strcmp(name, "cs.base")) return &cpu->sregs.cs.base;
    if (!strcmp(name, "cr0")) return &cpu->sregs.cr0;
    if (!strcmp(name, "cr2")) return &cpu->sregs.cr2;
    if (!strcmp(name, "cr3")) return &cpu->sregs.cr3;
    if (!strcmp(name, "cr4")) return &cpu->sregs.cr4;
    if (!strcmp(name, "efer")) return &cpu->sregs.efer;
    if (!strcmp(name, "apic_base")) return &cpu->sregs.apic_base;
    if (!strcmp(name, "IA32_TSC")) return &cpu->tsc;
    if (!strcmp(name, "IA32_TSC_ADJUST")) return &cpu->tsc_adjust;
    if (!strcmp(name, "IA32_SYSENTER_CS")) return &cpu->sysenter_cs;
    if (!strcmp(name, "STAR")) return &cpu->star;
    if (!strcmp(name, "MSR_KVM_SYSTEM_TIME_NEW")) return &cpu->system_time_msr;
    if (!strcmp(name, "IA32_TSCDEADLINE")) return &cpu->tsc_deadline;
    return NULL;
}

static int get_register(void *opaque, const char *name, uint64_t *value)
{
    X86CPU *cpu = opaque;
    __u64 *f = field(cpu, name);
    if (f) *value = *f;
    else if (!strcmp(name, "cs.selector")) *value = cpu->sregs.cs.selector;
    else if (!strcmp(name, "mp_state")) *value = cpu->mp_state;
    else if (!strcmp(name, "exception.injected")) *value = cpu->exception_injected;
    else if (!strcmp(name, "nmi.pending")) *value = cpu->nmi_pending;
    else return -ENOENT;
    return 0;
}

static int set_register(void *opaque, const char *name, uint64_t value)
{
    X86CPU *cpu = opaque;
    __u64 *f = field(cpu, name);
    if (f) *f = value;
    else if (!strcmp(name, "cs.selector")) cpu->sregs.cs.selector = (uint16_t)value;
    else if (!strcmp(name, "mp_state")) cpu->mp_state = (uint32_t)value;
    else if (!strcmp(name, "exception.injected")) cpu->exception_injected = (uint8_t)value;
    else if (!strcmp(name, "nmi.pending")) cpu->nmi_pending = (uint8_t)value;
    else return -ENOENT;
    return 0;
}

/* ------------------------------------ kvm_arch_get/put_registers */

struct msr_buf {
    struct kvm_msrs info;
    struct kvm_msr_entry entries[8];
};

static void msr_add(struct msr_buf *b, uint32_t index, uint64_t value)
{
    b->entries[b->info.nmsrs].index = index;
    b->entries[b->info.nmsrs].data = value;
    b->info.nmsrs++;
}

static int kvm_get_vcpu_events(X86CPU *cpu)
{
    struct kvm_vcpu_events events;
    memset(&events, 0, sizeof events);
    if (kvm_vcpu_ioctl(cpu, KVM_GET_VCPU_EVENTS, &events) < 0) return -errno;
    cpu->exception_injected = events.exception.injected;
    cpu->nmi_pending = events.nmi.pending;
    if (events.flags & KVM_VCPUEVENT_VALID_SMM) cpu->interrupt_init = events.smi.latched_init != 0;
    cpu->sipi_vector = events.sipi_vector;
    return 0;
}

static int kvm_get_mp_state(X86CPU *cpu)
{
    struct kvm_mp_state mp_state;
    if (kvm_vcpu_ioctl(cpu, KVM_GET_MP_STATE, &mp_state) < 0) return -errno;
    cpu->mp_state = mp_state.mp_state;
    return 0;
}

static int kvm_get_msrs(X86CPU *cpu)
{
    struct msr_buf b;
    memset(&b, 0, sizeof b);
    bool read_tsc = !cpu->tsc_valid;
    if (read_tsc) msr_add(&b, MSR_IA32_TSC, 0);
    msr_add(&b, MSR_IA32_TSC_ADJUST, 0);
    msr_add(&b, MSR_IA32_SYSENTER_CS, 0);
    msr_add(&b, MSR_STAR, 0);
    msr_add(&b, MSR_KVM_SYSTEM_TIME_NEW, 0);
    msr_add(&b, MSR_IA32_TSCDEADLINE, 0);
    int ret = kvm_vcpu_ioctl(cpu, KVM_GET_MSRS, &b);
    if (ret < 0) return -errno;
    if ((uint32_t)ret != b.info.nmsrs) return -EIO;
    for (uint32_t i = 0; i < b.info.nmsrs; i++) {
        uint64_t v = b.entries[i].data;
        switch (b.entries[i].index) {
        case MSR_IA32_TSC: cpu->tsc = v; break;
        case MSR_IA32_TSC_ADJUST: cpu->tsc_adjust = v; break;
        case MSR_IA32_SYSENTER_CS: cpu->sysenter_cs = v; break;
        case MSR_STAR: cpu->star = v; break;
        case MSR_KVM_SYSTEM_TIME_NEW: cpu->system_time_msr = v; break;
        case MSR_IA32_TSCDEADLINE: cpu->tsc_deadline = v; break;
        }
    }
    /* "env->tsc_valid = !runstate_is_running()": the TSC stays cached while the VM is stopped. */
    if (read_tsc) cpu->tsc_valid = !regsync_runstate_is_running(cpu->vcpu);
    return 0;
}

/* kvm_arch_get_registers(): "KVM_GET_MPSTATE can modify CS and RIP, call it
 * before KVM_GET_REGS and KVM_GET_SREGS". */
static int kvm_arch_get_registers(X86CPU *cpu)
{
    int ret;
    if ((ret = kvm_get_vcpu_events(cpu)) < 0) return ret;
    if ((ret = kvm_get_mp_state(cpu)) < 0) return ret;
    if (kvm_vcpu_ioctl(cpu, KVM_GET_REGS, &cpu->regs) < 0) return -errno;
    if (kvm_vcpu_ioctl(cpu, KVM_GET_SREGS, &cpu->sregs) < 0) return -errno;
    return kvm_get_msrs(cpu);
}

static int kvm_put_msrs(X86CPU *cpu, int level)
{
    struct msr_buf b;
    memset(&b, 0, sizeof b);
#ifdef INJECT_TSC_AT_RUNTIME
    msr_add(&b, MSR_IA32_TSC, cpu->tsc); /* the bug: the guard below is gone */
    (void)level;
#else
    /* "KVM is yet unable to synchronize TSC values of multiple VCPUs on
     * writeback. Until this is fixed, we only write the offset to SMP guests
     * after migration, desynchronizing the VCPUs, but avoiding huge jump-backs
     * that would occur without any writeback at all." */
    if (level >= REGSYNC_PUT_RESET_STATE) msr_add(&b, MSR_IA32_TSC, cpu->tsc);
#endif
    msr_add(&b, MSR_IA32_TSC_ADJUST, cpu->tsc_adjust);
    msr_add(&b, MSR_IA32_SYSENTER_CS, cpu->sysenter_cs);
    msr_add(&b, MSR_STAR, cpu->star);
    if (level >= REGSYNC_PUT_RESET_STATE) msr_add(&b, MSR_KVM_SYSTEM_TIME_NEW, cpu->system_time_msr);
    int ret = kvm_vcpu_ioctl(cpu, KVM_SET_MSRS, &b);
    if (ret < 0) return -errno;
    return (uint32_t)ret == b.info.nmsrs ? 0 : -EIO;
}

static int kvm_put_vcpu_events(X86CPU *cpu, int level)
{
    struct kvm_vcpu_events events;
    memset(&events, 0, sizeof events);
    events.exception.injected = cpu->exception_injected;
    events.nmi.pending = cpu->nmi_pending;
    if (level >= REGSYNC_PUT_RESET_STATE) {
        events.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING;
        if (cpu->mp_state == KVM_MP_STATE_SIPI_RECEIVED) {
            events.flags |= KVM_VCPUEVENT_VALID_SIPI_VECTOR;
            events.sipi_vector = cpu->sipi_vector;
        }
    }
    /* has_msr_smbase: the SMI state, with the INIT latched by the last get. */
    events.flags |= KVM_VCPUEVENT_VALID_SMM;
    events.smi.latched_init = cpu->interrupt_init ? 1 : 0;
    /* cpu_reset_interrupt(cs, CPU_INTERRUPT_INIT | CPU_INTERRUPT_SMI) */
    cpu->interrupt_init = false;
    return kvm_vcpu_ioctl(cpu, KVM_SET_VCPU_EVENTS, &events) < 0 ? -errno : 0;
}

static int kvm_put_tscdeadline_msr(X86CPU *cpu)
{
    struct msr_buf b;
    memset(&b, 0, sizeof b);
    msr_add(&b, MSR_IA32_TSCDEADLINE, cpu->tsc_deadline);
    int ret = kvm_vcpu_ioctl(cpu, KVM_SET_MSRS, &b);
    if (ret < 0) return -errno;
    return ret == 1 ? 0 : -EIO;
}

/* kvm_arch_put_registers(): sregs, regs, msrs, vcpu events, mp_state, then
 * the TSC deadline in its own KVM_SET_MSRS. */
static int kvm_arch_put_registers(X86CPU *cpu, int level)
{
    int ret;
    if (kvm_vcpu_ioctl(cpu, KVM_SET_SREGS, &cpu->sregs) < 0) return -errno;
    if (kvm_vcpu_ioctl(cpu, KVM_SET_REGS, &cpu->regs) < 0) return -errno;
    if ((ret = kvm_put_msrs(cpu, level)) < 0) return ret;
    if ((ret = kvm_put_vcpu_events(cpu, level)) < 0) return ret;
    if (level >= REGSYNC_PUT_RESET_STATE) {
        struct kvm_mp_state mp_state = {.mp_state = cpu->mp_state};
        if (kvm_vcpu_ioctl(cpu, KVM_SET_MP_STATE, &mp_state) < 0) return -errno;
    }
    return kvm_put_tscdeadline_msr(cpu);
}

/* ------------------------------------------------ kvm-all.c hooks */

static void *kvm_init_vcpu(regsync_vcpu *vcpu)
{
    X86CPU *cpu = calloc(1, sizeof *cpu);
    if (!cpu) return NULL;
    cpu->vcpu = vcpu;
    cpu->cpu_index = vcpu->rs->cpu_index(vcpu);
    cpu->vcpu_dirty = true; /* kvm_init_vcpu(): "cpu->vcpu_dirty = true" */
    return cpu;
}

static void kvm_destroy_vcpu(void *opaque) { free(opaque); }

/* kvm_cpu_synchronize_state(): "if (!cpu->vcpu_dirty) run_on_cpu(...)" */
static int needs_synchronize(void *opaque) { return !((X86CPU *)opaque)->vcpu_dirty; }

/* do_kvm_cpu_synchronize_state() */
static int do_kvm_cpu_synchronize_state(void *opaque)
{
    X86CPU *cpu = opaque;
    if (!cpu->vcpu_dirty) {
        int ret = kvm_arch_get_registers(cpu);
        if (ret < 0) return ret;
        cpu->vcpu_dirty = true;
    }
    return 0;
}

static int do_kvm_cpu_synchronize_post_reset(void *opaque)
{
    X86CPU *cpu = opaque;
    int ret = kvm_arch_put_registers(cpu, REGSYNC_PUT_RESET_STATE);
    cpu->vcpu_dirty = false;
    return ret;
}

static int do_kvm_cpu_synchronize_post_init(void *opaque)
{
    X86CPU *cpu = opaque;
    int ret = kvm_arch_put_registers(cpu, REGSYNC_PUT_FULL_STATE);
    cpu->vcpu_dirty = false;
    return ret;
}

static int do_kvm_cpu_synchronize_pre_loadvm(void *opaque)
{
    ((X86CPU *)opaque)->vcpu_dirty = true;
    return 0;
}

/* kvm_cpu_exec(), after bql_unlock(): "if (cpu->vcpu_dirty) { ...
 * kvm_arch_put_registers(cpu, KVM_PUT_RUNTIME_STATE, &err) ...
 * cpu->vcpu_dirty = false; }" */
static int kvm_pre_run(void *opaque)
{
    X86CPU *cpu = opaque;
    if (cpu->vcpu_dirty) {
        int ret = kvm_arch_put_registers(cpu, REGSYNC_PUT_RUNTIME_STATE);
        if (ret < 0) return ret;
        cpu->vcpu_dirty = false;
    }
    return 0;
}

/* cpu_update_state(): "if (running) env->tsc_valid = false" */
static int cpu_update_state(void *opaque, int running)
{
    if (running) ((X86CPU *)opaque)->tsc_valid = false;
    return 0;
}

/* kvm_get_tsc(), from kvmclock_vm_state_change() on stop. */
static int kvm_get_tsc(void *opaque)
{
    X86CPU *cpu = opaque;
    struct {
        struct kvm_msrs info;
        struct kvm_msr_entry entries[1];
    } msr_data;
    if (cpu->tsc_valid) return 0;
    memset(&msr_data, 0, sizeof msr_data);
    cpu->tsc_valid = !regsync_runstate_is_running(cpu->vcpu);
    msr_data.info.nmsrs = 1;
    msr_data.entries[0].index = MSR_IA32_TSC;
    int ret = kvm_vcpu_ioctl(cpu, KVM_GET_MSRS, &msr_data);
    if (ret < 0) return -errno;
    if (ret != 1) return -EIO;
    cpu->tsc = msr_data.entries[0].data;
    return 0;
}

/* do_cpu_init() (target/i386/helper.c): cpu_reset() keeping the fields from
 * start_init_save to end_init_save, and the APIC base (the APIC device's). */
static void do_cpu_init(X86CPU *cpu)
{
    static const char *const reset[] = {
        "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
        "rip", "rflags", "cs.base", "cs.selector", "cr0", "cr2", "cr3", "cr4", "efer", "MSR_KVM_SYSTEM_TIME_NEW",
        "exception.injected", "nmi.pending"};
    uint64_t v;
    for (unsigned i = 0; i < sizeof reset / sizeof reset[0]; i++)
        if (cpu->vcpu->rs->reset_value(cpu->vcpu, reset[i], &v) == 0) set_register(cpu, reset[i], v);
    /* x86_cpu_reset_hold(): "KVM handles TSC = 0 specially ... use 1 instead" */
    if (cpu->tsc != 0) cpu->tsc = 1;
    /* kvm_arch_reset_vcpu() then kvm_arch_do_init_vcpu() */
    cpu->mp_state = cpu->cpu_index == 0 ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_INIT_RECEIVED;
    cpu->interrupt_init = false; /* interrupt_request keeps only CPU_INTERRUPT_SIPI */
}

/* kvm_arch_process_async_events(): an INIT latched by the last get, outside
 * SMM (no SMM here), is QEMU's own to deliver. */
static int kvm_arch_process_async_events(void *opaque)
{
    X86CPU *cpu = opaque;
    if (!cpu->interrupt_init) return 0;
    int ret = do_kvm_cpu_synchronize_state(cpu);
    if (ret < 0) return ret;
    do_cpu_init(cpu);
    return 1;
}

#ifdef INJECT_TSC_AT_RUNTIME
#define LAYER_NAME "c-qemu-today-tsc-runtime"
#define LAYER_DESC "examples/c-sync-layer with one bug: IA32_TSC written back at KVM_PUT_RUNTIME_STATE"
#else
#define LAYER_NAME "c-qemu-today"
#define LAYER_DESC "examples/c-sync-layer: today's QEMU x86 sync code, in C against <linux/kvm.h>"
#endif

static const struct regsync_sync_layer layer = {
    .abi_version = REGSYNC_ABI_VERSION,
    .size = sizeof(struct regsync_sync_layer),
    .name = LAYER_NAME,
    .description = LAYER_DESC,
    .arch = REGSYNC_ARCH_X86,
    .flags = 0,
    .follows = "qemu-today",
    .create_vcpu = kvm_init_vcpu,
    .destroy_vcpu = kvm_destroy_vcpu,
    .needs_synchronize = needs_synchronize,
    .synchronize_state = do_kvm_cpu_synchronize_state,
    .post_reset = do_kvm_cpu_synchronize_post_reset,
    .post_init = do_kvm_cpu_synchronize_post_init,
    .pre_loadvm = do_kvm_cpu_synchronize_pre_loadvm,
    .vm_state_change = cpu_update_state,
    .pre_run = kvm_pre_run,
    .process_async_events = kvm_arch_process_async_events,
    .kvm_get_tsc = kvm_get_tsc,
    .get_register = get_register,
    .set_register = set_register,
};

static int init(struct regsync_registry *registry) { return registry->register_layer(registry, &layer); }

REGSYNC_PLUGIN(init)

/*
 * A sync layer that misbehaves, for the supervisor's tests. It keeps every
 * register by name and never syncs; its fault is chosen when it is built:
 *   FAULT_SEGV   pre_run dereferences NULL on its third call
 *   FAULT_SLEEP  pre_run sleeps in the OS (nanosleep) on its third call
 *   FAULT_ERROR  pre_run issues a KVM_SET_MSRS the kernel refuses, and
 *                returns the error
 *   FAULT_ABI    built as if against another ABI version of regsync.h
 */
#include <linux/kvm.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <regsync/regsync.h>

#define MAX_REGS 64

typedef struct {
    regsync_vcpu *vcpu;
    unsigned n;
    char names[MAX_REGS][32];
    uint64_t values[MAX_REGS];
} FaultyCPU;

static unsigned calls;

static uint64_t *slot(FaultyCPU *cpu, const char *name, int add)
{
    for (unsigned i = 0; i < cpu->n; i++)
        if (!strcmp(cpu->names[i], name)) return &cpu->values[i];
    if (!add || cpu->n == MAX_REGS || strlen(name) >= sizeof cpu->names[0]) return NULL;
    strcpy(cpu->names[cpu->n], name);
    cpu->values[cpu->n] = 0;
    return &cpu->values[cpu->n++];
}

static void *create(regsync_vcpu *vcpu)
{
    FaultyCPU *cpu = calloc(1, sizeof *cpu);
    if (cpu) cpu->vcpu = vcpu;
    return cpu;
}
static void destroy(void *cpu) { free(cpu); }
static int no(void *cpu) { (void)cpu; return 0; }
static int get_register(void *cpu, const char *name, uint64_t *v)
{
    uint64_t *s = slot(cpu, name, 0);
    *v = s ? *s : 0;
    return 0;
}
static int set_register(void *cpu, const char *name, uint64_t v)
{
    uint64_t *s = slot(cpu, name, 1);
    if (!s) return -ENOSPC;
    *s = v;
    return 0;
}

static int pre_run(void *opaque)
{
    FaultyCPU *cpu = opaque;
    (void)cpu;
    if (++calls != 3) return 0;
#if defined(FAULT_SEGV)
    return *(volatile int *)(uintptr_t)(calls - 3); /* NULL */
#elif defined(FAULT_SLEEP)
    struct timespec t = {60, 0};
    nanosleep(&t, NULL);
    return 0;
#elif defined(FAULT_ERROR)
    struct {
        struct kvm_msrs info;
        struct kvm_msr_entry entries[1];
    } b;
    memset(&b, 0, sizeof b);
    b.info.nmsrs = 1000; /* more than the kernel takes */
    return regsync_vcpu_ioctl(cpu->vcpu, KVM_SET_MSRS, &b) < 0 ? -errno : 0;
#else
    return 0;
#endif
}

static const struct regsync_sync_layer layer = {
    .abi_version = REGSYNC_ABI_VERSION,
    .size = sizeof(struct regsync_sync_layer),
    .name = FAULTY_NAME,
    .description = "a layer that misbehaves in pre_run (tests/plugins/faulty_layer.c)",
    .arch = REGSYNC_ARCH_X86,
    .create_vcpu = create,
    .destroy_vcpu = destroy,
    .needs_synchronize = no,
    .synchronize_state = no,
    .post_reset = no,
    .post_init = no,
    .pre_run = pre_run,
    .get_register = get_register,
    .set_register = set_register,
};

static int init(struct regsync_registry *registry) { return registry->register_layer(registry, &layer); }

#ifdef FAULT_ABI
#undef REGSYNC_ABI_VERSION
#define REGSYNC_ABI_VERSION 2
#endif
REGSYNC_PLUGIN(init)

/*
 * The riscv64 counterpart of sync_layer.c: today's QEMU riscv64 register
 * sync (accel/kvm/kvm-all.c, target/riscv/kvm/kvm-cpu.c) in plain C, the
 * way a VMM port writes it: its own CPU struct and vcpu_dirty flag, ONE_REG
 * ids built as the kernel's uapi builds them, the writeback levels, the
 * timer saved on vm_stop and restored on vm_start (kvm_timer_dirty), and
 * mp_state put at KVM_PUT_RESET_STATE only. It uses nothing of regsync but
 * <regsync/regsync.h>.
 *
 * Built with -DKVM_RISCV_SET_TIMER_BUG it is QEMU from 27abe66f31 to
 * c5cc248b47: the KVM_RISCV_SET_TIMER macro ignored its `name` and wrote
 * every timer register to `time` (GitLab #1688).
 */
#include <linux/kvm.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <regsync/regsync.h>

#define kvm_vcpu_ioctl(cpu, req, arg) regsync_vcpu_ioctl((cpu)->vcpu, (req), (arg))

/* arch/riscv/include/uapi/asm/kvm.h (an x86 host has no asm/kvm.h for it):
 * KVM_REG_RISCV | KVM_REG_SIZE_U64 | type << 24 | index. */
#define KVM_REG_RISCV_CORE (0x02ULL << 24)
#define KVM_REG_RISCV_CSR (0x03ULL << 24)
#define KVM_REG_RISCV_TIMER (0x04ULL << 24)
#define RISCV_REG(type, idx) (KVM_REG_RISCV | KVM_REG_SIZE_U64 | (type) | (idx))
#define RISCV_TIMER_REG(idx) RISCV_REG(KVM_REG_RISCV_TIMER, idx)
enum { TIMER_TIME = 1, TIMER_COMPARE = 2, TIMER_STATE = 3 };

/* The registers this layer keeps: core (struct kvm_riscv_core indices) and
 * general CSRs (struct kvm_riscv_csr indices), as kvm_riscv_{get,put}_regs_core
 * and kvm_csr_cfgs[] move them. */
static const struct {
    const char *name;
    __u64 id;
} regs[] = {
    {"pc", RISCV_REG(KVM_REG_RISCV_CORE, 0)},   {"ra", RISCV_REG(KVM_REG_RISCV_CORE, 1)},
    {"sp", RISCV_REG(KVM_REG_RISCV_CORE, 2)},   {"a0", RISCV_REG(KVM_REG_RISCV_CORE, 10)},
    {"a1", RISCV_REG(KVM_REG_RISCV_CORE, 11)},  {"a2", RISCV_REG(KVM_REG_RISCV_CORE, 12)},
    {"sstatus", RISCV_REG(KVM_REG_RISCV_CSR, 0)}, {"sie", RISCV_REG(KVM_REG_RISCV_CSR, 1)},
    {"stvec", RISCV_REG(KVM_REG_RISCV_CSR, 2)},   {"sepc", RISCV_REG(KVM_REG_RISCV_CSR, 4)},
    {"scause", RISCV_REG(KVM_REG_RISCV_CSR, 5)},  {"satp", RISCV_REG(KVM_REG_RISCV_CSR, 8)},
    {"sip", RISCV_REG(KVM_REG_RISCV_CSR, 7)},
};
#define NREGS (sizeof regs / sizeof regs[0])

/* CPUState + CPURISCVState, cut down to what this layer syncs. */
typedef struct RISCVCPU {
    regsync_vcpu *vcpu;
    int cpu_index;
    bool vcpu_dirty;     /* cpu->vcpu_dirty */
    __u64 env[NREGS];    /* gpr, pc, the CSRs */
    __u64 kvm_timer_time, kvm_timer_compare, kvm_timer_state;
    bool kvm_timer_dirty;
    uint32_t mp_state;   /* what the reset gives; never read back */
    bool initialized;    /* machine init done: later timer values come from loadvm */
} RISCVCPU;

static int one_reg(RISCVCPU *cpu, unsigned long req, __u64 id, __u64 *v)
{
    struct kvm_one_reg reg = {.id = id, .addr = (__u64)(unsigned long)v};
    return kvm_vcpu_ioctl(cpu, req, &reg) < 0 ? -errno : 0;
}

static __u64 *timer_field(RISCVCPU *cpu, const char *name)
{
    if (!strcmp(name, "time")) return &cpu->kvm_timer_time;
    if (!strcmp(name, "compare")) return &cpu->kvm_timer_compare;
    if (!strcmp(name, "timer_state")) return &cpu->kvm_timer_state;
    return NULL;
}

static int get_register(void *opaque, const char *name, uint64_t *value)
{
    RISCVCPU *cpu = opaque;
    for (unsigned i = 0; i < NREGS; i++)
        if (!strcmp(name, regs[i].name)) return *value = cpu->env[i], 0;
    if (!strcmp(name, "mp_state")) return *value = cpu->mp_state, 0;
    __u64 *t = timer_field(cpu, name);
    if (!t) return -ENOENT;
    *value = *t;
    return 0;
}

/* A timer register set by loadvm is vmstate_kvmtimer's post_load: the
 * resume handler puts it (kvm_timer_dirty). */
static int set_register(void *opaque, const char *name, uint64_t value)
{
    RISCVCPU *cpu = opaque;
    for (unsigned i = 0; i < NREGS; i++)
        if (!strcmp(name, regs[i].name)) return cpu->env[i] = value, 0;
    if (!strcmp(name, "mp_state")) return cpu->mp_state = (uint32_t)value, 0;
    __u64 *t = timer_field(cpu, name);
    if (!t) return -ENOENT;
    *t = value;
    if (cpu->initialized) cpu->kvm_timer_dirty = true;
    return 0;
}

/* ------------------------------------------- target/riscv/kvm/kvm-cpu.c */

static int kvm_arch_get_registers(RISCVCPU *cpu)
{
    for (unsigned i = 0; i < NREGS; i++) {
        int ret = one_reg(cpu, KVM_GET_ONE_REG, regs[i].id, &cpu->env[i]);
        if (ret) return ret;
    }
    return 0;
}

/* Core and CSRs at every level; mp_state at KVM_PUT_RESET_STATE only
 * (8633951530): cpu 0 RUNNABLE, the others STOPPED. */
static int kvm_arch_put_registers(RISCVCPU *cpu, int level)
{
    for (unsigned i = 0; i < NREGS; i++) {
        int ret = one_reg(cpu, KVM_SET_ONE_REG, regs[i].id, &cpu->env[i]);
        if (ret) return ret;
    }
    if (level == REGSYNC_PUT_RESET_STATE) {
        struct kvm_mp_state mp = {cpu->cpu_index == 0 ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_STOPPED};
        cpu->mp_state = mp.mp_state;
        if (kvm_vcpu_ioctl(cpu, KVM_SET_MP_STATE, &mp) < 0) return -errno;
    }
    return 0;
}

/* kvm_riscv_get_regs_timer() */
static int kvm_riscv_get_regs_timer(RISCVCPU *cpu)
{
    if (cpu->kvm_timer_dirty) return 0;
    int ret = one_reg(cpu, KVM_GET_ONE_REG, RISCV_TIMER_REG(TIMER_TIME), &cpu->kvm_timer_time);
    if (!ret) ret = one_reg(cpu, KVM_GET_ONE_REG, RISCV_TIMER_REG(TIMER_COMPARE), &cpu->kvm_timer_compare);
    if (!ret) ret = one_reg(cpu, KVM_GET_ONE_REG, RISCV_TIMER_REG(TIMER_STATE), &cpu->kvm_timer_state);
    if (ret) return ret;
    cpu->kvm_timer_dirty = true;
    return 0;
}

#ifdef KVM_RISCV_SET_TIMER_BUG
/* 27abe66f31: "RISCV_TIMER_REG(env, time)" whatever `name` says. */
#define KVM_RISCV_SET_TIMER(cpu, name, reg) one_reg(cpu, KVM_SET_ONE_REG, RISCV_TIMER_REG(TIMER_TIME), &(reg))
#else
#define KVM_RISCV_SET_TIMER(cpu, name, reg) one_reg(cpu, KVM_SET_ONE_REG, RISCV_TIMER_REG(name), &(reg))
#endif

/* kvm_riscv_put_regs_timer(): state only when not 0, "or KVM will error". */
static int kvm_riscv_put_regs_timer(RISCVCPU *cpu)
{
    if (!cpu->kvm_timer_dirty) return 0;
    int ret = KVM_RISCV_SET_TIMER(cpu, TIMER_TIME, cpu->kvm_timer_time);
    if (!ret) ret = KVM_RISCV_SET_TIMER(cpu, TIMER_COMPARE, cpu->kvm_timer_compare);
    if (!ret && cpu->kvm_timer_state) ret = KVM_RISCV_SET_TIMER(cpu, TIMER_STATE, cpu->kvm_timer_state);
    if (ret) return ret;
    cpu->kvm_timer_dirty = false;
    return 0;
}

/* kvm_riscv_vm_state_change() */
static int kvm_riscv_vm_state_change(void *opaque, int running)
{
    RISCVCPU *cpu = opaque;
    return running ? kvm_riscv_put_regs_timer(cpu) : kvm_riscv_get_regs_timer(cpu);
}

/* ------------------------------------------------ accel/kvm/kvm-all.c */

static void *kvm_init_vcpu(regsync_vcpu *vcpu)
{
    RISCVCPU *cpu = calloc(1, sizeof *cpu);
    if (!cpu) return NULL;
    cpu->vcpu = vcpu;
    cpu->cpu_index = vcpu->rs->cpu_index(vcpu);
    cpu->vcpu_dirty = true;
    return cpu;
}

static void kvm_destroy_vcpu(void *cpu) { free(cpu); }

static int needs_synchronize(void *opaque) { return !((RISCVCPU *)opaque)->vcpu_dirty; }

static int do_kvm_cpu_synchronize_state(void *opaque)
{
    RISCVCPU *cpu = opaque;
    if (!cpu->vcpu_dirty) {
        int ret = kvm_arch_get_registers(cpu);
        if (ret) return ret;
        cpu->vcpu_dirty = true;
    }
    return 0;
}

static int put_and_clean(RISCVCPU *cpu, int level)
{
    int ret = kvm_arch_put_registers(cpu, level);
    if (!ret) cpu->vcpu_dirty = false;
    return ret;
}

static int do_kvm_cpu_synchronize_post_reset(void *cpu) { return put_and_clean(cpu, REGSYNC_PUT_RESET_STATE); }
static int do_kvm_cpu_synchronize_post_init(void *opaque)
{
    RISCVCPU *cpu = opaque;
    cpu->initialized = true;
    return put_and_clean(cpu, REGSYNC_PUT_FULL_STATE);
}
static int do_kvm_cpu_synchronize_pre_loadvm(void *cpu) { return ((RISCVCPU *)cpu)->vcpu_dirty = true, 0; }

/* kvm_cpu_exec(), after bql_unlock(). */
static int kvm_pre_run(void *opaque)
{
    RISCVCPU *cpu = opaque;
    return cpu->vcpu_dirty ? put_and_clean(cpu, REGSYNC_PUT_RUNTIME_STATE) : 0;
}

#ifdef KVM_RISCV_SET_TIMER_BUG
#define LAYER_NAME "c-qemu-riscv-set-timer-bug"
#define LAYER_DESC "examples/c-sync-layer riscv64 as QEMU had it from 27abe66f31 to c5cc248b47: KVM_RISCV_SET_TIMER writes to `time`"
#define LAYER_FOLLOWS "qemu-riscv-set-timer-bug"
#else
#define LAYER_NAME "c-qemu-today-riscv64"
#define LAYER_DESC "examples/c-sync-layer: today's QEMU riscv64 sync code, in C"
#define LAYER_FOLLOWS "qemu-today"
#endif

static const struct regsync_sync_layer layer = {
    .abi_version = REGSYNC_ABI_VERSION,
    .size = sizeof(struct regsync_sync_layer),
    .name = LAYER_NAME,
    .description = LAYER_DESC,
    .arch = REGSYNC_ARCH_RISCV64,
    .flags = 0,
    .follows = LAYER_FOLLOWS,
    .create_vcpu = kvm_init_vcpu,
    .destroy_vcpu = kvm_destroy_vcpu,
    .needs_synchronize = needs_synchronize,
    .synchronize_state = do_kvm_cpu_synchronize_state,
    .post_reset = do_kvm_cpu_synchronize_post_reset,
    .post_init = do_kvm_cpu_synchronize_post_init,
    .pre_loadvm = do_kvm_cpu_synchronize_pre_loadvm,
    .vm_state_change = kvm_riscv_vm_state_change,
    .pre_run = kvm_pre_run,
    .get_register = get_register,
    .set_register = set_register,
};

static int init(struct regsync_registry *registry) { return registry->register_layer(registry, &layer); }

REGSYNC_PLUGIN(init)

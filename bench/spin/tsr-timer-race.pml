/* The Book-E TSR race (scenarios/tsr-timer-race.toml) as a Promela model,
 * for comparing Spin with `regsync explore` on the same race.
 *
 * The kernel's timer sets TSR[DIS] with an atomic OR into vcpu->arch.tsr
 * (kvmppc_set_tsr_bits, no vcpu->mutex). The monitor asks the vCPU thread
 * for its registers (run_on_cpu + kick); the thread reads TSR into its
 * cache (KVM_GET_SREGS) and, before re-entering the guest, writes the
 * registers back at KVM_PUT_RUNTIME_STATE. A blind write of TSR drops a
 * bit the timer set in between (seed 002); with -DONE_REG_TSR the
 * writeback uses KVM_REG_PPC_OR_TSR/CLEAR_TSR with what QEMU changed
 * (nothing), and the bit survives.
 *
 *   spin -a tsr-timer-race.pml && gcc -O2 -o pan pan.c && ./pan
 */
#define DIS 8

byte tsr = 0;            /* kernel: vcpu->arch.tsr */
byte cache = 0;          /* QEMU: env->spr[SPR_BOOKE_TSR] */
bool dirty = false;      /* kvm_vcpu_dirty */
bool bql = false;        /* qemu_global_mutex */
bool work = false;       /* queued run_on_cpu item */
bool work_done = false;
bool kicked = false;     /* SIG_IPI pending */
bool has_run = false;    /* the guest armed its timer */
byte guest_pc = 0;       /* guest steps taken */
bool timer_fired = false;
bool vcpu_done = false;
bool monitor_done = false;

inline lock() { atomic { !bql -> bql = true } }
inline unlock() { bql = false }

active proctype vcpu_thread() {
  lock();
  do
  :: guest_pc >= 5 && !work && monitor_done -> break
  :: else ->
     /* kvm_arch_put_registers(KVM_PUT_RUNTIME_STATE) before KVM_RUN */
     if
     :: dirty ->
#ifdef ONE_REG_TSR
        skip;            /* OR_TSR/CLEAR_TSR of the bits QEMU changed: none */
#else
        tsr = cache;     /* KVM_SET_SREGS with the cached TSR */
#endif
        dirty = false
     :: else -> skip
     fi;
     unlock();
     /* KVM_RUN: guest steps until a kick or the end of the program */
     has_run = true;
     do
     :: kicked -> kicked = false; break
     :: !kicked && guest_pc < 5 -> guest_pc++
     :: !kicked && guest_pc >= 5 -> break
     od;
     lock();
     /* qemu_wait_io_event: queued work (cpu_synchronize_state) */
     if
     :: work ->
        cache = tsr;     /* KVM_GET_SREGS */
        dirty = true;
        work = false;
        work_done = true
     :: else -> skip
     fi
  od;
  unlock();
  vcpu_done = true
}

active proctype monitor() {
  lock();
  work = true;
  kicked = true;
  unlock();
  (work_done);
  monitor_done = true
}

active proctype booke_timer() {
  (has_run);
  tsr = tsr | DIS;       /* kvmppc_set_tsr_bits: an atomic OR */
  timer_fired = true
}

/* lost-kernel-write: at the end, the bit the timer set is still there */
active proctype oracle() {
  (vcpu_done && monitor_done && timer_fired) -> assert((tsr & DIS) != 0)
}

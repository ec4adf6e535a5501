/* The INIT/HLT race of Linux before 3.10 (scenarios/init-sipi-halt.toml,
 * seed 003) as a Promela model, for comparing Spin with `regsync explore`.
 *
 * The BSP's guest sends INIT then SIPI to the AP, which executes HLT. With
 * the pre-3.10 kernel, INIT writes the AP's mp_state (INIT_RECEIVED) and
 * SIPI turns INIT_RECEIVED into SIPI_RECEIVED; HLT's VM exit is followed by
 * kvm_emulate_halt() storing mp_state = HALTED, which overwrites an INIT
 * that landed in between, and the AP never starts at the SIPI vector. With
 * -DAPIC_EVENTS (3.10 on) INIT/SIPI are pending APIC events that the AP's
 * own vCPU consumes, and nothing is lost.
 *
 *   spin -a init-hlt-race.pml && gcc -O2 -o pan pan.c && ./pan
 */
mtype = { RUNNABLE, HALTED, INIT_RECEIVED, SIPI_RECEIVED };

mtype ap_mp_state = RUNNABLE;
bool init_pending = false;   /* KVM_APIC_INIT */
bool sipi_pending = false;   /* KVM_APIC_SIPI */
bool ap_started = false;     /* the AP ran code at vector << 12 */
bool bsp_done = false;
bool ap_done = false;

active proctype bsp() {
  skip;                      /* nop */
#ifdef APIC_EVENTS
  init_pending = true;
  sipi_pending = true;
#else
  ap_mp_state = INIT_RECEIVED;
  atomic { if :: ap_mp_state == INIT_RECEIVED -> ap_mp_state = SIPI_RECEIVED :: else -> skip fi }
#endif
  bsp_done = true
}

active proctype ap() {
  skip;                      /* write rbx 0x1 */
  /* HLT: VM exit, then kvm_emulate_halt() */
  ap_mp_state = HALTED;
  /* kvm_vcpu_block until something to do */
  do
#ifdef APIC_EVENTS
  :: init_pending -> init_pending = false; ap_mp_state = INIT_RECEIVED
  :: ap_mp_state == INIT_RECEIVED && sipi_pending -> sipi_pending = false; ap_mp_state = RUNNABLE; ap_started = true; break
#else
  :: ap_mp_state == SIPI_RECEIVED -> ap_mp_state = RUNNABLE; ap_started = true; break
#endif
  :: bsp_done && ap_mp_state == HALTED && !init_pending -> break   /* halted for good */
  od;
  ap_done = true
}

/* lost-init: once both are done, the AP started at the SIPI vector */
active proctype oracle() {
  (bsp_done && ap_done) -> assert(ap_started)
}

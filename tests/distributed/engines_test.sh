#!/usr/bin/env bash
# ctest label "distributed": sharded runs on the engines people run jobs on.
# Starts munge, slurmctld and slurmd on this machine (Debian's munge and
# slurm-wlm; no init system here, so directly, each stopped by its pid),
# runs four-task job arrays of `regsync explore --shard auto` and of
# `regsync matrix --shard auto`, and the same under `mpirun -np 4` (Debian's
# openmpi-bin); each time `regsync merge` of the four reports must print byte
# for byte what the unsharded run prints.
# Exit 77 (skip), with the reason, only where the engines cannot start.
#
# usage: engines_test.sh REGSYNC [SANITIZED]
set -uo pipefail
regsync="$1"
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
# Twelve sharded runs on two cores take four minutes under ASan: the engines'
# part is the same in either build, and the shard readers are fuzzed there.
[ "${2:-OFF}" = ON ] && skip "release-build budget (the sanitizer build fuzzes the shard readers instead)"
for c in munged munge slurmctld slurmd sbatch sinfo scontrol mpirun; do
  command -v "$c" >/dev/null || skip "$c is not installed (scripts/setup.sh installs munge, slurm-wlm and openmpi-bin)"
done

work="$(mktemp -d /tmp/regsync-distributed.XXXXXX)"
stop_daemons() {
  for p in slurmd slurmctld munged; do
    [ -f "$work/$p.pid" ] && kill "$(cat "$work/$p.pid")" 2>/dev/null
  done
  sleep 1
  rm -rf "$work"
}
trap stop_daemons EXIT

# --- Slurm on localhost: its own munge socket, ports and state under $work.
host="$(hostname -s)"
port=$((20000 + $$ % 20000))
dd if=/dev/urandom of="$work/munge.key" bs=1024 count=1 status=none && chmod 400 "$work/munge.key"
munged --force --key-file="$work/munge.key" --socket="$work/munge.socket" --pid-file="$work/munged.pid" \
  --log-file="$work/munged.log" --seed-file="$work/munged.seed" || skip "munged does not start: $(tail -1 "$work/munged.log" 2>/dev/null)"
mkdir -p "$work/state" "$work/spool"
cat > "$work/slurm.conf" <<CONF
ClusterName=regsync
SlurmctldHost=$host(127.0.0.1)
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$work/munge.socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldPort=$port
SlurmdPort=$((port + 1))
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=regsync Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$work/slurm.conf"
slurmctld -i || skip "slurmctld does not start: $(tail -2 "$work/slurmctld.log" 2>/dev/null | tr '\n' ' ')"
slurmd -N "$host" || skip "slurmd does not start: $(tail -2 "$work/slurmd.log" 2>/dev/null | tr '\n' ' ')"
for _ in $(seq 1 30); do
  sinfo -h -o %T 2>/dev/null | grep -q idle && break
  sleep 1
done
sinfo -h -o %T 2>/dev/null | grep -q idle || skip "the Slurm node never became idle: $(tail -2 "$work/slurmd.log" | tr '\n' ' ')"

# Two runs, each unsharded and as four shards: one that holds (the merged
# report must print what `explore` printed) and one that finds the pre-3.10
# lost INIT (the merged report must print what merging the run as one shard
# prints: explore goes on to shrink and explain, which merge does not).
clean=(explore --scenario init-sipi-halt --executions 400)
found=(explore --scenario init-sipi-halt --kernel init-mp-state --executions 400)
mkdir -p "$work/whole"
"$regsync" "${clean[@]}" > "$work/clean-unsharded.txt" || fail "the unsharded run failed"
"$regsync" "${found[@]}" --shard 0/1 --report-out "$work/whole/found.json" > /dev/null
"$regsync" merge "$work/whole/found.json" > "$work/found-unsharded.txt"
grep -q "^VIOLATION" "$work/found-unsharded.txt" || fail "the unsharded run found no violation: $(cat "$work/found-unsharded.txt")"
# The main job on two scenarios, its cells dealt to the tasks.
matrix=(matrix --scenario init-sipi-halt --scenario tsr-timer-race --trace-dir "$work/traces")
"$regsync" "${matrix[@]}" > "$work/matrix-unsharded.txt" || fail "the unsharded matrix disagrees with the catalogue: $(cat "$work/matrix-unsharded.txt")"

# Runs both arrays on one engine: $1 names it, the rest is the launcher
# (the command line is appended, with --shard auto --report-out DIR/r-%i.json).
check() {
  local engine="$1"; shift
  for run in clean found matrix; do
    local dir="$work/$engine-$run"
    mkdir -p "$dir"
    local -n a="$run"
    "$@" "$dir" "${a[@]}" > "$dir.out" 2>&1 || fail "$engine exited $? for the $run run (a shard that wrote its report exits 0): $(cat "$dir.out")"
    local n; n="$(ls "$dir"/r-*.json 2>/dev/null | wc -l)"
    [ "$n" -eq 4 ] || fail "$engine wrote $n of 4 reports for the $run run: $(cat "$dir.out" "$dir"/*.out 2>/dev/null)"
    "$regsync" merge --trace-dir "$work/traces" "$dir" > "$dir-merged.txt"
    cmp -s "$work/$run-unsharded.txt" "$dir-merged.txt" || fail "$engine: the merged $run report differs: $(diff "$work/$run-unsharded.txt" "$dir-merged.txt")"
  done
  echo "$engine, 4 tasks: the merged reports equal the unsharded ones"
}

slurm_array() {
  local dir="$1"; shift
  printf '#!/bin/bash\nexec %q' "$regsync" > "$dir/job.sh"
  printf ' %q' "$@" --shard auto --report-out "$dir/r-%i.json" >> "$dir/job.sh"
  chmod +x "$dir/job.sh"
  sbatch --wait --array=0-3 -o "$dir/task-%a.out" "$dir/job.sh"
}
check "Slurm job array" slurm_array

mpi() {
  local dir="$1"; shift
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np 4 "$regsync" "$@" --shard auto --report-out "$dir/r-%i.json"
}
check "mpirun -np 4" mpi

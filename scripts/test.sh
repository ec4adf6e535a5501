#!/usr/bin/env bash
# Test job: install what is missing, build release and sanitizer flavours
# with warnings as errors, and run the whole test suite under both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs="$(nproc)"

# After a ctest run in build dir $1: how many of the tests labelled $2 ran,
# and how many skipped and why (realkvm: they need a working /dev/kvm;
# distributed: they start Slurm's daemons and mpirun).
label_summary() {
  local ran=0 skipped=0 why="" name
  while read -r name; do
    [ -n "$name" ] || continue
    if awk -v n="name=\"$name\"" 'index($0,n){f=1} f&&/<skipped/{s=1} f&&/<\/testcase>/{exit} END{exit !s}' "$1/junit.xml"; then
      skipped=$((skipped + 1))
      # The reason, from this test's own record.
      [ -n "$why" ] || why="$(awk -v n="name=\"$name\"" 'index($0,n){f=1} f{print} f&&/<\/testcase>/{exit}' "$1/junit.xml" | grep -m1 -o "$3" || true)"
    else
      ran=$((ran + 1))
    fi
  done < <(cd "$1" && ctest -N -L "$2" | sed -n 's/^ *Test *#[0-9]*: //p')
  [ "$skipped" -eq 0 ] && why="" || why=" ($why)"
  echo "$2 tests ($(basename "$1")): $ran ran, $skipped skipped$why"
}
summaries() {
  label_summary "$1" realkvm 'no real KVM here: [^<]*\|release-build budget[^<&]*'
  label_summary "$1" distributed 'SKIP: [^<&]*'
}

scripts/build.sh release
(cd build/release && ctest --output-on-failure -j "$jobs" --output-junit junit.xml)
summaries build/release
scripts/build.sh asan
(cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j "$jobs" --output-junit junit.xml)
summaries build/asan

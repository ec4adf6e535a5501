#!/usr/bin/env bash
# Test job: install what is missing, build release and sanitizer flavours
# with warnings as errors, and run the whole test suite under both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs="$(nproc)"

# After a ctest run in build dir $1: how many of the tests labelled realkvm
# (they need a working /dev/kvm) ran, and how many skipped and why.
realkvm_summary() {
  local ran=0 skipped=0 why="" name
  while read -r name; do
    [ -n "$name" ] || continue
    if awk -v n="name=\"$name\"" 'index($0,n){f=1} f&&/<skipped/{s=1} f&&/<\/testcase>/{exit} END{exit !s}' "$1/junit.xml"; then
      skipped=$((skipped + 1))
    else
      ran=$((ran + 1))
    fi
  done < <(cd "$1" && ctest -N -L realkvm | sed -n 's/^ *Test *#[0-9]*: //p')
  [ "$skipped" -eq 0 ] || why=" ($(grep -m1 -o 'no real KVM here: [^<]*\|release-build budget[^<&]*' "$1/junit.xml" || true))"
  echo "real-KVM tests ($(basename "$1")): $ran ran, $skipped skipped$why"
}

scripts/build.sh release
(cd build/release && ctest --output-on-failure -j "$jobs" --output-junit junit.xml)
realkvm_summary build/release
scripts/build.sh asan
(cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j "$jobs" --output-junit junit.xml)
realkvm_summary build/asan

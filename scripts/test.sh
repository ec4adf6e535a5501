#!/usr/bin/env bash
# Test job: install what is missing, build release and sanitizer flavours
# with warnings as errors, and run the whole test suite under both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs="$(nproc)"
scripts/build.sh release
(cd build/release && ctest --output-on-failure -j "$jobs")
scripts/build.sh asan
(cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j "$jobs")

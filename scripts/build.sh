#!/usr/bin/env bash
# Configures and builds one flavour: release (default, g++) or asan (clang,
# with ASan, UBSan and the libFuzzer targets of fuzz/). Warnings are errors
# in both.
set -euo pipefail
cd "$(dirname "$0")/.."
flavour="${1:-release}"
case "$flavour" in
  release) dir=build/release; args=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan)    dir=build/asan; args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DREGSYNC_SANITIZE=ON -DREGSYNC_BUILD_BENCH=OFF -DREGSYNC_FUZZ=ON
                 -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++) ;;
  *) echo "usage: scripts/build.sh [release|asan]" >&2; exit 2 ;;
esac
# A build folder configured with another compiler cannot be switched in place.
if [ -f "$dir/CMakeCache.txt" ] && [ "$flavour" = asan ] && ! grep -q '^CMAKE_CXX_COMPILER:.*clang++' "$dir/CMakeCache.txt"; then
  rm -rf "$dir"
fi
cmake -S . -B "$dir" -G Ninja -DREGSYNC_WERROR=ON "${args[@]}" >/dev/null
ninja -C "$dir" "${@:2}"

#!/usr/bin/env bash
# Configures and builds one flavour: release (default) or asan.
# Warnings are errors in both.
set -euo pipefail
cd "$(dirname "$0")/.."
flavour="${1:-release}"
case "$flavour" in
  release) dir=build/release; args=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan)    dir=build/asan; args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DREGSYNC_SANITIZE=ON -DREGSYNC_BUILD_BENCH=OFF) ;;
  *) echo "usage: scripts/build.sh [release|asan]" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" -G Ninja -DREGSYNC_WERROR=ON "${args[@]}" >/dev/null
ninja -C "$dir" "${@:2}"

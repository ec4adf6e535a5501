#!/usr/bin/env bash
# What a user does: install regsync into a prefix, build the example sync
# layer out of tree against it with find_package(regsync), run its own ctest
# (the GoogleTest assertion), and run the installed regsync on the plugin.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR SANITIZE(ON|OFF)
set -euo pipefail
build="$1" src="$2" sanitize="$3"
if [ "$sanitize" = ON ]; then
  echo "skipped: the install test packages the release build (a sanitizer build's libraries need the sanitizer at the user's link)"
  exit 77
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/examples/c-sync-layer" -B "$work/example" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
ninja -C "$work/example" >/dev/null
(cd "$work/example" && ctest --output-on-failure)
regsync="$work/prefix/bin/regsync"
cd "$work"
"$regsync" list --policy-plugin "$work/example/c_sync_layer.so" > "$work/list.txt"
grep -q "^  c-qemu-today " "$work/list.txt"
# Holds where today's QEMU holds; the buggy copy is caught (exit 1).
"$regsync" explore --scenario reset-every-family --policy c-qemu-today --strategy dfs --executions 500 \
    --policy-plugin "$work/example/c_sync_layer.so"
set +e
"$regsync" explore --scenario tsc-runtime-writeback --policy c-qemu-today-tsc-runtime --kernel init-apic-events --strategy dfs \
    --executions 3000 --policy-plugin "$work/example/c_sync_layer_tsc_runtime.so" --trace-out "$work/bug.json" > "$work/out.txt"
rc=$?
set -e
cat "$work/out.txt"
[ "$rc" -eq 1 ] && grep -q 'tsc-jump-back' "$work/out.txt"
echo "install test: installed, built out of tree, ctest passed, plugin judged"

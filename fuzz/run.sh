#!/usr/bin/env bash
# Runs one fuzz target of an ASan/UBSan build made with REGSYNC_FUZZ=ON
# (scripts/build.sh asan makes one).
#
#   fuzz/run.sh BUILD TARGET SECONDS [LIBFUZZER_FLAG...]
#       fuzz TARGET (scenario, trace, profile, catalogue, shard, plugin) for
#       SECONDS from its seeds, with its dictionary; the corpus it grows and
#       any crashing input go under BUILD/fuzz/work/TARGET/.
#   fuzz/run.sh BUILD TARGET regressions
#       run every input of fuzz/regressions/TARGET/ once.
#
# Exit 0: no finding. Otherwise libFuzzer's exit status, with the input
# written to BUILD/fuzz/work/TARGET/artifacts/ (add it to
# fuzz/regressions/TARGET/ once fixed).
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "$1" && pwd)"
target="$2"
bin="$build/fuzz/fuzz_$target"
[ -x "$bin" ] || { echo "fuzz/run.sh: no $bin (configure with -DREGSYNC_FUZZ=ON)" >&2; exit 2; }
case "$target" in
  scenario)  seeds=("$src/scenarios" "$src/tests/data") ;;
  trace)     seeds=("$src/traces/regressions") ;;
  profile)   seeds=("$src/kernels") ;;
  catalogue) seeds=("$src/catalogue") ;;
  shard)     seeds=("$src/fuzz/seeds/shard") ;;
  plugin)    seeds=("$src/fuzz/seeds/plugin") ;;
  *) echo "fuzz/run.sh: unknown target '$target'" >&2; exit 2 ;;
esac
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
if [ "$3" = regressions ]; then
  shopt -s nullglob
  inputs=("$src/fuzz/regressions/$target"/*)
  [ "${#inputs[@]}" -gt 0 ] || { echo "no regression inputs for $target"; exit 0; }
  exec "$bin" -timeout=10 -rss_limit_mb=2048 "${inputs[@]}"
fi
work="$build/fuzz/work/$target"
mkdir -p "$work/corpus" "$work/artifacts"
# A fixed seed; the corpus starts from the seeds each time unless kept.
exec "$bin" -seed=1 -max_total_time="$3" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -dict="$build/fuzz/$target.dict" -artifact_prefix="$work/artifacts/" "${@:4}" "$work/corpus" "${seeds[@]}"

#!/usr/bin/env bash
# Rewrites the committed traces after a change that alters event logs:
# each top-level trace is re-explored with its own scenario, policy, kernel
# and seed, and traces/regressions/ is rebuilt from the catalogue.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/release/cli/regsync
for t in traces/*.json; do
  read -r scenario policy kernel seed < <(python3 -c "import json,sys; j=json.load(open('$t')); print(j['scenario']['source'], j['policy'], j['kernel'], j['seed'])")
  "$bin" explore --scenario "$scenario" --policy "$policy" --kernel "$kernel" --seed "$seed" --executions 20000 --trace-out "$t" >/dev/null || true
done
rm -rf traces/regressions
"$bin" regressions --out traces/regressions --executions 20000

#!/usr/bin/env bash
# Main job: install what is missing, build, and run the policy matrix: every
# (policy, kernel variant, bundled scenario) cell, compared with the bug
# catalogue in catalogue/verdicts.toml. Exit 1 if any cell disagrees.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release regsync >/dev/null
exec build/release/cli/regsync matrix -j "$(nproc)" "$@"

#!/usr/bin/env bash
# Installs the Debian 12 packages regsync needs, only those missing.
set -euo pipefail

PACKAGES=(
  g++ cmake ninja-build pkgconf
  libboost-fiber-dev libboost-context-dev
  librapidcheck-dev libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev libtomlplusplus-dev
  spin binutils
  clang libclang-rt-14-dev libfuzzer-14-dev
  slurm-wlm munge openmpi-bin
  chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

#!/usr/bin/env bash
# Installs the Debian packages sibilant needs (when run as root) and builds it.
# Not root and something missing: prints the exact apt-get line and stops.
#
# Usage: scripts/setup.sh [BUILD_DIR] [extra cmake arguments...]
# Env:   SIBILANT_JOBS (default: all cores)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${1:-$here/build}"
shift || true

packages=(
  cmake g++ make pkg-config git
  libopus-dev libsndfile1-dev libsoxr-dev libfftw3-dev libeigen3-dev
  libcli11-dev nlohmann-json3-dev
  libpng-dev chromium
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  libcpp-httplib-dev libpcap-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  ffmpeg prometheus tcpdump tshark curl jq
  pybind11-dev python3-dev python3-numpy python3-pytest python3-pandas python3-matplotlib
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: these Debian packages are missing. Install them, then run this again:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

jobs="${SIBILANT_JOBS:-$(nproc)}"
cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build_dir" -j "$jobs"

#!/usr/bin/env bash
# Configures and builds hookd into ./build (RelWithDebInfo). Usage: scripts/build.sh [targets…]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
# Two cores, heavy Beast TUs: -j2 keeps memory and the machine responsive.
cmake --build build -j "${HOOKD_BUILD_JOBS:-2}" ${1:+--target "$@"}

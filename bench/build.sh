#!/usr/bin/env bash
# Builds bench/.build/loadgen (plain g++, no dependencies beyond libc/libstdc++).
# Usage: bench/build.sh   → prints the path of the binary on its last line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/.build"
mkdir -p "$out"
if [ ! -x "$out/loadgen" ] || [ "$here/loadgen.cc" -nt "$out/loadgen" ]; then
  "${CXX:-g++}" -std=c++20 -O2 -g -Wall -Wextra -pthread "$here/loadgen.cc" -o "$out/loadgen.tmp"
  mv "$out/loadgen.tmp" "$out/loadgen"
fi
echo "$out/loadgen"

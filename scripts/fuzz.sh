#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang-14, ASan+UBSan) into ./build-fuzz and runs each
# for HOOKD_FUZZ_SECONDS (default 60) from its corpus in fuzz/corpus/<target>/, with its
# dictionary. Exits non-zero if any target crashes, leaks, times out on an input or breaks one
# of its checks; the input that did it is kept in build-fuzz/artifacts/ (fuzz/README.md says
# how to turn it into a unit test). HOOKD_FUZZ_SECONDS=0 only replays the corpora.
# Usage: scripts/fuzz.sh [target…]   (default: all; targets are fuzz/*_fuzz.cc without _fuzz.cc)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${HOOKD_FUZZ_SECONDS:-60}"
all=(http_request json_schema filter endpoint_url retry_after http1_response verify payload_template cluster_notice)
targets=("${@:-${all[@]}}")

if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DHOOKD_FUZZ=ON -DBUILD_TESTING=OFF
fi
cmake --build build-fuzz -j "${HOOKD_BUILD_JOBS:-2}" --target hookd_fuzz

dict_of() {
  case "$1" in
    http_request | http1_response) echo http ;;
    json_schema | filter | payload_template) echo json ;;
    endpoint_url) echo url ;;
    *) echo "$1" ;;
  esac
}

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
artifacts="$PWD/build-fuzz/artifacts"
mkdir -p "$artifacts"
failed=()
for t in "${targets[@]}"; do
  bin="build-fuzz/fuzz/fuzz_$t"
  corpus="fuzz/corpus/$t"
  [ -x "$bin" ] || { echo "fuzz: no target $t" >&2; exit 2; }
  # New inputs go to a scratch directory; the corpus in the tree is only read.
  scratch="build-fuzz/corpus-run/$t"
  mkdir -p "$scratch"
  log="build-fuzz/fuzz-$t.log"
  args=(-dict="fuzz/dicts/$(dict_of "$t").dict" -artifact_prefix="$artifacts/$t-" -timeout=10
        -rss_limit_mb=2560 -max_len=65536 -print_final_stats=1)
  if [ "$seconds" = 0 ]; then
    args+=(-runs=0)
  else
    args+=(-max_total_time="$seconds")
  fi
  echo "fuzz: $t for ${seconds}s"
  start=$(date +%s)
  if "$bin" "${args[@]}" "$scratch" "$corpus" >"$log" 2>&1; then
    echo "fuzz: $t ok after $(( $(date +%s) - start ))s: $(grep -m1 -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') runs"
  else
    echo "fuzz: $t FAILED (log: $log)" >&2
    grep -E -A25 '^==[0-9]+==ERROR|runtime error|fuzz check failed|ALARM|out-of-memory' "$log" | head -60 >&2 || tail -40 "$log" >&2
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]} (inputs in $artifacts)" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ok"

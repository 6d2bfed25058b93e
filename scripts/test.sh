#!/usr/bin/env bash
# Sets up, builds and runs every test (unit + integration, then the fuzz targets for a bounded
# time: scripts/fuzz.sh). The README's test command;
# .ci/run calls it. Needs root (or sudo) for the package install on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
bash scripts/build.sh
cd build
# Every test must pass the first time: none is run again (the browser tests, which drive a
# real Chromium, run alone after the others).
status=0
ctest --output-on-failure --timeout 600 -j "${HOOKD_TEST_JOBS:-2}" -LE browser "$@" || status=$?
ctest --output-on-failure --timeout 600 -L browser "$@" || status=$?
cd ..
# Every fuzz target for HOOKD_FUZZ_SECONDS (60) under ASan+UBSan; a crash fails the run.
bash scripts/fuzz.sh || status=$?
exit "$status"

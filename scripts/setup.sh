#!/usr/bin/env bash
# Installs what hookd needs, from Debian 12 packages only. Idempotent; needs root (or sudo).
#   scripts/setup.sh          build + run dependencies
#   scripts/setup.sh --test   also the test, benchmark and receiver tools
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

want=(
  g++ cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libcurl4-openssl-dev libssl-dev libsqlite3-dev libpq-dev
  libspdlog-dev libfmt-dev libcli11-dev libvalijson-dev libjemalloc-dev libre2-dev
  curl jq  # scripts/run.sh and the README's first steps
)
if [ "${1:-}" = "--test" ]; then
  want+=(googletest libgtest-dev libgmock-dev libbenchmark-dev python3 curl wrk nginx-light sqlite3 webhook openssl jq iproute2
        postgresql)  # postgresql: the server the PostgreSQL store's tests start (tests/support/pg_server.h)
  # The fuzz targets (scripts/fuzz.sh): clang-14 with libFuzzer and the ASan/UBSan runtimes.
  want+=(clang-14 libclang-rt-14-dev)
  # The machine image ships Node.js 20 with npm 11; Debian's npm conflicts with it, so only
  # fall back to Debian's when there is no node at all.
  command -v node >/dev/null || want+=(nodejs npm)
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm dependencies of the end-to-end tests (tests/e2e), from its package-lock.json: only
# when node_modules is missing or older than package.json / the lock file.
if [ "${1:-}" = "--test" ]; then
  e2e="$(cd "$(dirname "$0")/.." && pwd)/tests/e2e"
  if [ -f "$e2e/package.json" ] && { [ ! -d "$e2e/node_modules" ] ||
       [ "$e2e/package.json" -nt "$e2e/node_modules" ] ||
       { [ -f "$e2e/package-lock.json" ] && [ "$e2e/package-lock.json" -nt "$e2e/node_modules" ]; }; }; then
    echo "setup: installing the npm dependencies of tests/e2e"
    if [ -f "$e2e/package-lock.json" ]; then
      (cd "$e2e" && npm ci --no-audit --no-fund)
    else
      (cd "$e2e" && npm install --no-audit --no-fund)
    fi
    touch "$e2e/node_modules"
  fi
fi

# The admin panel's browser tests (tests/browser): Debian's Chromium (the package is
# `chromium`), driven by playwright-core from tests/browser/package-lock.json — which uses
# the system browser and downloads none.
if [ "${1:-}" = "--test" ]; then
  if [ ! -x /usr/bin/chromium ]; then
    echo "setup: installing chromium (browser tests)"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
  fi
  browser="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
  if [ -f "$browser/package.json" ] && { [ ! -d "$browser/node_modules" ] ||
       [ "$browser/package.json" -nt "$browser/node_modules" ] ||
       { [ -f "$browser/package-lock.json" ] && [ "$browser/package-lock.json" -nt "$browser/node_modules" ]; }; }; then
    echo "setup: installing the npm dependencies of tests/browser"
    if [ -f "$browser/package-lock.json" ]; then
      (cd "$browser" && npm ci --no-audit --no-fund)
    else
      (cd "$browser" && npm install --no-audit --no-fund)
    fi
    touch "$browser/node_modules"
  fi
fi

#!/usr/bin/env bash
# Quick start: installs what is needed, builds, and runs `hookd serve` on SQLite
# (./data/hookd.db), printing the URL and — on first start — the operator token.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh hookd
mkdir -p data
exec ./build/hookd serve --db sqlite:./data/hookd.db "$@"

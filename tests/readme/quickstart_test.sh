#!/usr/bin/env bash
# The README's "First steps with the API" block, run as a reader would paste it: against a
# fresh hookd started as the README says (plain HTTP to loopback allowed), from a directory
# laid out like the repository (data/admin-token, build/hookd, examples/). Fails unless the
# block runs without an error, the event is accepted, and the receiver printed the delivery
# with a valid signature.
#   tests/readme/quickstart_test.sh <hookd binary>
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${1:?usage: quickstart_test.sh <hookd binary>}"
tmp="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$tmp/data" "$tmp/build"
ln -s "$bin" "$tmp/build/hookd"
ln -s "$root/examples" "$tmp/examples"
(umask 077; printf 'hkd_%s\n' "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$tmp/data/admin-token")

"$bin" serve --listen 127.0.0.1:0 --db "sqlite:$tmp/data/hookd.db" --admin-token-file "$tmp/data/admin-token" \
  --allow-http --allow-destination 127.0.0.1/32 >"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!
url=""
for _ in $(seq 200); do
  line="$(grep -m1 '^hookd listening on ' "$tmp/serve.out" 2>/dev/null || true)"
  if [ -n "$line" ]; then url="${line#hookd listening on }"; break; fi
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/serve.err" >&2; echo "hookd did not start" >&2; exit 1; }
  sleep 0.05
done
[ -n "$url" ] || { echo "hookd did not print its address" >&2; exit 1; }

# The shell block that follows the quickstart-api marker.
awk '/<!-- quickstart-api/ {m=1; next} m && /^```sh$/ {b=1; next} b && /^```$/ {exit} b {print}' \
  "$root/README.md" >"$tmp/block.sh"
[ -s "$tmp/block.sh" ] || { echo "README.md: no quickstart-api block found" >&2; exit 1; }

status=0
(cd "$tmp" && HOOKD="$url" timeout 60 bash -euo pipefail block.sh) >"$tmp/out" 2>&1 || status=$?
cat "$tmp/out"
[ "$status" = 0 ] || { echo "FAIL: the README block exited with $status" >&2; exit 1; }
grep -q '"deliveries":1' "$tmp/out" || { echo "FAIL: the event was not accepted with one delivery" >&2; exit 1; }
grep -qE 'POST /hooks  employee\.hired  evt_[0-9A-Z]+  signature valid' "$tmp/out" ||
  { echo "FAIL: the receiver did not print a delivery with a valid signature" >&2; exit 1; }
echo "README first steps: OK"

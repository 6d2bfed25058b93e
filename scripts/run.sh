#!/usr/bin/env bash
# Quick start: installs what is needed, builds, and runs `hookd serve` on SQLite
# (./data/hookd.db), its data encrypted at rest under data/encryption.key (made on the first
# run). On the first run it also creates a demo company with a company token;
# every run prints the admin panel URL, that token (it signs in to the panel) and the
# `hookd simulate` command that makes HR events flow. Ctrl-C stops hookd.
# Extra arguments go to `hookd serve` (e.g. --listen 0.0.0.0:8080 --allow-http).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh hookd
mkdir -p data

# The operator token lives in data/admin-token (created once, readable by you only).
if [ ! -s data/admin-token ]; then
  (umask 077; printf 'hkd_%s\n' "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" >data/admin-token)
fi
admin="$(cat data/admin-token)"

# Payloads, receivers' answers and signing secrets are encrypted at rest under the key in
# data/encryption.key (created once, readable by you only). Back it up with the database:
# without it the data cannot be read.
if [ ! -s data/encryption.key ]; then
  (umask 077; ./build/hookd key generate >data/encryption.key)
fi

: >data/serve.out
./build/hookd serve --db sqlite:./data/hookd.db --admin-token-file data/admin-token \
  --encryption-key-file data/encryption.key "$@" > >(tee -a data/serve.out) &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; exit 0' INT TERM

url=""
for _ in $(seq 100); do
  line="$(grep -m1 '^hookd listening on ' data/serve.out 2>/dev/null || true)"
  if [ -n "$line" ]; then url="${line#hookd listening on }"; break; fi
  kill -0 "$pid" 2>/dev/null || { echo "hookd did not start" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "hookd did not print its address" >&2; exit 1; }

# A demo company and its token, once.
if [ ! -s data/demo.env ]; then
  company="$(curl -sf -XPOST "$url/v1/companies" -H "authorization: Bearer $admin" \
    -H 'content-type: application/json' -d '{"name":"Demo Company S.L."}' | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')"
  token="$(curl -sf -XPOST "$url/v1/companies/$company/tokens" -H "authorization: Bearer $admin" \
    -H 'content-type: application/json' -d '{"scopes":["manage","publish"],"description":"demo (scripts/run.sh)"}' |
    sed -n 's/.*"token":"\([^"]*\)".*/\1/p')"
  (umask 077; printf 'HOOKD_COMPANY=%s\nHOOKD_TOKEN=%s\n' "$company" "$token" >data/demo.env)
fi
# shellcheck disable=SC1091
. data/demo.env

cat <<EOF

  hookd is running — Ctrl-C stops it. Data: ./data/hookd.db

  Admin panel:     $url/
  Sign in with:    $HOOKD_TOKEN
                   (company $HOOKD_COMPANY, scopes manage+publish)
  Operator token:  in data/admin-token
  Encryption key:  in data/encryption.key (back it up with the database)
  API:             $url/openapi.json

  See events flow (in another terminal):
    ./build/hookd simulate --url $url --company $HOOKD_COMPANY --token $HOOKD_TOKEN --rate 5

EOF
wait "$pid"

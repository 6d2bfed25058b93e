#!/usr/bin/env bash
# IT provisioning from HR events, end to end, on this machine:
#   hookd (a throwaway SQLite database)  --signed POSTs-->  adnanh/webhook  -->  account.sh
# Creates a company and an endpoint for employee.hired and employee.left (GitHub-style
# signature, which webhook checks; ordering by employee, so a leave never overtakes its
# hire), publishes events.jsonl (three hires, one leave), waits until every delivery has
# succeeded, and prints the accounts directory. Exits 1 unless the accounts are exactly the
# two employees still there, with their departments' groups (and a forged request, not signed
# by hookd, refused by the receiver).
#
#   examples/it-provisioning/run.sh          (after scripts/run.sh or scripts/build.sh)
#   HOOKD_BIN=/path/to/hookd KEEP=1 examples/it-provisioning/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
hookd="${HOOKD_BIN:-$root/build/hookd}"
for tool in "$hookd" webhook curl jq ss; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (scripts/setup.sh --test installs it)" >&2; exit 2; }
done
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
mkdir -p "$work/accounts"
(umask 077; printf 'hkd_%s\n' "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$work/admin-token")

# hookd, allowed to deliver over plain HTTP to this machine only.
"$hookd" serve --listen 127.0.0.1:0 --db "sqlite:$work/hookd.db" --admin-token-file "$work/admin-token" \
  --allow-http --allow-destination 127.0.0.1/32 --retry-schedule 1s,2s,5s >"$work/hookd.out" 2>"$work/hookd.log" &
pids+=($!)
HOOKD=""
for _ in $(seq 200); do
  HOOKD="$(sed -n 's/^hookd listening on //p' "$work/hookd.out")"
  [ -n "$HOOKD" ] && break
  sleep 0.05
done
[ -n "$HOOKD" ] || { cat "$work/hookd.log" >&2; echo "hookd did not start" >&2; exit 1; }
OP="$(cat "$work/admin-token")"
api() {  # api METHOD PATH [JSON] — with the company token once there is one
  curl -sf -X "$1" "$HOOKD$2" -H "authorization: Bearer ${TOKEN:-$OP}" ${3:+--json "$3"}
}

CO="$(api POST /v1/companies '{"name":"Acme Logistica S.L."}' | jq -r .id)"
TOKEN="$(api POST "/v1/companies/$CO/tokens" '{"scopes":["manage","publish"],"description":"HR platform"}' | jq -r .token)"
# The endpoint first (its secret configures the receiver); its URL once the receiver listens.
endpoint="$(api POST "/v1/companies/$CO/endpoints" \
  '{"url":"http://127.0.0.1:9/","event_types":["employee.hired","employee.left"],"signature_scheme":"github","ordering":"subject","description":"IT provisioning"}')"
EP="$(jq -r .id <<<"$endpoint")"
SECRET="$(jq -r .secret <<<"$endpoint")"

HOOKD_ENDPOINT_SECRET="$SECRET" ACCOUNT_SCRIPT="$here/account.sh" ACCOUNTS_DIR="$work/accounts" \
  webhook -hooks "$here/hooks.json.tmpl" -template -ip 127.0.0.1 -port 0 -verbose >"$work/webhook.log" 2>&1 &
pids+=($!)
port=""
for _ in $(seq 200); do  # webhook -port 0 prints ":0": ask the kernel which port it got
  port="$(ss -Hltnp 2>/dev/null | grep "pid=${pids[1]}," | awk '{print $4}' | sed 's/.*://' | head -1)"
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { cat "$work/webhook.log" >&2; echo "webhook did not start" >&2; exit 1; }
api PATCH "/v1/companies/$CO/endpoints/$EP" "{\"url\":\"http://127.0.0.1:$port/hooks/it-provisioning\"}" >/dev/null

echo "hookd $HOOKD → webhook on :$port → account.sh"
n=0
while IFS= read -r event; do
  [ -n "$event" ] || continue
  n=$((n + 1))
  api POST "/v1/companies/$CO/events" "$event" | jq -r '"published \(.type) \(.id)"'
done <"$here/events.jsonl"

# Every delivery of the endpoint succeeded (or one failed for good: then stop and show it).
for _ in $(seq 600); do
  done_n="$(api GET "/v1/companies/$CO/deliveries?endpoint_id=$EP&status=succeeded&limit=500" | jq '.data | length')"
  failed_n="$(api GET "/v1/companies/$CO/deliveries?endpoint_id=$EP&status=failed&limit=500" | jq '.data | length')"
  [ "$done_n" = "$n" ] || [ "$failed_n" != 0 ] && break
  sleep 0.1
done
# Anyone can reach the receiver's URL: a hire that hookd did not sign must change nothing.
forged="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/hooks/it-provisioning" \
  -H "x-hub-signature-256: sha256=$(printf '0%.0s' $(seq 64))" \
  --json '{"type":"employee.hired","data":{"employee":{"id":"emp_6666","email":"mallory@evil.example","first_name":"M","last_name":"X","department":{"id":"d","name":"Admins"}}}}')"
echo "a forged hire, not signed by hookd: webhook answered $forged"

echo
echo "accounts/ after $n events:"
for f in "$work/accounts"/*; do
  [ -e "$f" ] || continue
  echo "  $(basename "$f"):  $(tr '\n' ' ' <"$f")"
done

# The check: exactly the two employees still there, with their groups.
expect() { grep -qx "$2" "$work/accounts/$1" 2>/dev/null || { echo "FAIL: $1 should have '$2'" >&2; exit 1; }; }
[ "$done_n" = "$n" ] || { echo "FAIL: $done_n of $n deliveries succeeded ($failed_n failed); see $work" >&2; KEEP=1; exit 1; }
expect emp_4821 "groups=all-staff,engineering"
expect emp_4821 "email=lucia.fernandez@acme.example"
expect emp_4822 "groups=all-staff,sales"
[ "$forged" = 403 ] || { echo "FAIL: the forged request was answered $forged, not 403" >&2; exit 1; }
[ ! -e "$work/accounts/emp_3307" ] || { echo "FAIL: emp_3307 left and still has an account" >&2; exit 1; }
[ "$(ls "$work/accounts" | wc -l)" = 2 ] || { echo "FAIL: unexpected accounts" >&2; exit 1; }
echo "OK: 2 accounts, the leaver's removed"

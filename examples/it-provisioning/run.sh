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
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../lib.sh"
command -v webhook >/dev/null || { echo "run.sh: webhook is missing (apt-get install webhook)" >&2; exit 2; }
start_hookd --retry-schedule 1s,2s,5s
mkdir -p "$work/accounts"

CO="$(api POST /v1/companies '{"name":"Acme Logistica S.L."}' | jq -r .id)"
TOKEN="$(api POST "/v1/companies/$CO/tokens" '{"scopes":["manage","publish"],"description":"HR platform"}' | jq -r .token)"
# The endpoint first (its secret configures the receiver); its URL once the receiver listens.
endpoint="$(api POST "/v1/companies/$CO/endpoints" \
  '{"url":"http://127.0.0.1:9/","event_types":["employee.hired","employee.left"],"signature_scheme":"github","ordering":"subject","description":"IT provisioning"}')"
EP="$(jq -r .id <<<"$endpoint")"
SECRET="$(jq -r .secret <<<"$endpoint")"

HOOKD_ENDPOINT_SECRET="$SECRET" ACCOUNT_SCRIPT="$here/account.sh" ACCOUNTS_DIR="$work/accounts" \
  bg webhook -hooks "$here/hooks.json.tmpl" -template -ip 127.0.0.1 -port 0 -verbose >"$work/webhook.log" 2>&1
# webhook -port 0 prints ":0": the kernel says which port it got.
port="$(wait_port "${pids[-1]}")" || { cat "$work/webhook.log" >&2; echo "webhook did not start" >&2; exit 1; }
api PATCH "/v1/companies/$CO/endpoints/$EP" "{\"url\":\"http://127.0.0.1:$port/hooks/it-provisioning\"}" >/dev/null

echo "hookd $HOOKD → webhook on :$port → account.sh"
n=0
while IFS= read -r event; do
  [ -n "$event" ] || continue
  n=$((n + 1))
  api POST "/v1/companies/$CO/events" "$event" | jq -r '"published \(.type) \(.id)"'
done <"$here/events.jsonl"

ok=0
wait_delivered "$EP" "$n" && ok=1

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
[ "$ok" = 1 ] || exit 1
expect emp_4821 "groups=all-staff,engineering"
expect emp_4821 "email=lucia.fernandez@acme.example"
expect emp_4822 "groups=all-staff,sales"
[ "$forged" = 403 ] || { echo "FAIL: the forged request was answered $forged, not 403" >&2; exit 1; }
[ ! -e "$work/accounts/emp_3307" ] || { echo "FAIL: emp_3307 left and still has an account" >&2; exit 1; }
[ "$(ls "$work/accounts" | wc -l)" = 2 ] || { echo "FAIL: unexpected accounts" >&2; exit 1; }
echo "OK: 2 accounts, the leaver's removed"

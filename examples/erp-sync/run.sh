#!/usr/bin/env bash
# ERP sync from HR events, with an outage of the ERP's receiver in the middle:
#   hookd --Standard Webhooks--> receiver.py (an org chart: employee -> department, office)
# Publishes three hires while the receiver is up, stops it, publishes a department change, a
# leave, a hire and its department change and another change while it is down (hookd keeps
# retrying), starts it again, waits until every delivery succeeded, asks hookd to send one of
# them again (the receiver must ignore it: it de-duplicates on webhook-id), and compares the
# org chart with expected-orgchart.json. Exits 1 when they differ, or when an event arrived
# before an earlier one of the same employee (the receiver would have refused it).
#
#   examples/erp-sync/run.sh          (after scripts/run.sh or scripts/build.sh; needs python3)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../lib.sh"
command -v python3 >/dev/null || { echo "run.sh: python3 is missing" >&2; exit 2; }
start_hookd --retry-schedule 1s,1s,2s,2s,3s,5s,5s,10s,10s

CO="$(api POST /v1/companies '{"name":"Acme Logistica S.L."}' | jq -r .id)"
TOKEN="$(api POST "/v1/companies/$CO/tokens" '{"scopes":["manage","publish"],"description":"HR platform"}' | jq -r .token)"
endpoint="$(api POST "/v1/companies/$CO/endpoints" \
  '{"url":"http://127.0.0.1:9/","event_types":["employee.hired","employee.department_changed","employee.left"],"ordering":"subject","description":"ERP org chart"}')"
EP="$(jq -r .id <<<"$endpoint")"
export HOOKD_ENDPOINT_SECRET="$(jq -r .secret <<<"$endpoint")"

start_receiver() {  # on $1 (0: any free port)
  bg python3 "$here/receiver.py" --port "$1" --state "$work/orgchart.json" >>"$work/receiver.log" 2>&1
  receiver=${pids[-1]}
  port="$(wait_port "$receiver")" || { cat "$work/receiver.log" >&2; echo "the receiver did not start" >&2; exit 1; }
}
publish() {
  while IFS= read -r event; do
    [ -n "$event" ] || continue
    n=$((n + 1))
    api POST "/v1/companies/$CO/events" "$event" | jq -r '"  published \(.type) \(.id)"'
  done <"$1"
}

start_receiver 0
api PATCH "/v1/companies/$CO/endpoints/$EP" "{\"url\":\"http://127.0.0.1:$port/erp\"}" >/dev/null
echo "hookd $HOOKD → ERP receiver on :$port (ordering by employee)"
n=0
publish "$here/before-outage.jsonl"
wait_delivered "$EP" "$n"

echo "the ERP receiver goes down"
kill -TERM "$receiver"
wait "$receiver" 2>/dev/null || true
publish "$here/during-outage.jsonl"
sleep 2  # an outage long enough for hookd's first attempts to fail
echo "  attempts so far that found the receiver down: $(api GET "/v1/companies/$CO/deliveries?endpoint_id=$EP&status=pending&limit=500" | jq '[.data[] | select(.attempts > 0)] | length') deliveries"
echo "the ERP receiver is back"
start_receiver "$port"
wait_delivered "$EP" "$n"

# hookd delivers at least once: a delivery sent again must change nothing.
again="$(api GET "/v1/companies/$CO/deliveries?endpoint_id=$EP&status=succeeded&limit=1" | jq -r '.data[0].id')"
api POST "/v1/companies/$CO/deliveries/$again/retry" >/dev/null
for _ in $(seq 100); do grep -q "duplicate, ignored" "$work/receiver.log" && break; sleep 0.1; done

echo
echo "receiver's log:"
sed 's/^/  /' "$work/receiver.log"
echo "org chart:"
jq -c '.employees | to_entries[] | {(.key): .value}' "$work/orgchart.json" | sed 's/^/  /'

fail=0
jq -S .employees "$work/orgchart.json" >"$work/got.json"
jq -S . "$here/expected-orgchart.json" >"$work/want.json"
diff -u "$work/want.json" "$work/got.json" >&2 || { echo "FAIL: the org chart differs from expected-orgchart.json" >&2; fail=1; }
grep -q "refused" "$work/receiver.log" && { echo "FAIL: an employee's event arrived out of order" >&2; fail=1; }
grep -q "duplicate, ignored" "$work/receiver.log" || { echo "FAIL: the repeated delivery was not recognised" >&2; fail=1; }
[ "$fail" = 0 ] || exit 1
echo "OK: the org chart matches after the outage; the repeated delivery was ignored"

#!/usr/bin/env bash
# Compliance alerts in the team's Slack channel: three endpoints with filters and payload
# templates deliver only what compliance must look at — a salary raised above a threshold, a
# shift over 10 hours (a clock-in left open), a rejected time off — as Slack messages
# ({"text": …}), to slack_standin.py (an incoming-webhook stand-in). Publishes six events, of
# which three must alert, and compares the channel with expected.txt. Exits 1 when they differ.
#
#   examples/compliance-alerts/run.sh      (after scripts/run.sh or scripts/build.sh; needs python3)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../lib.sh"
command -v python3 >/dev/null || { echo "run.sh: python3 is missing" >&2; exit 2; }
start_hookd

bg python3 -u "$here/slack_standin.py" --channel '#compliance' >"$work/channel.log" 2>&1
port="$(wait_port "${pids[-1]}")" || { cat "$work/channel.log" >&2; echo "the Slack stand-in did not start" >&2; exit 1; }

CO="$(api POST /v1/companies '{"name":"Acme Logistica S.L."}' | jq -r .id)"
TOKEN="$(api POST "/v1/companies/$CO/tokens" '{"scopes":["manage","publish"],"description":"HR platform"}' | jq -r .token)"
echo "hookd $HOOKD → Slack stand-in on :$port"
eps=()
while IFS= read -r ep; do
  created="$(api POST "/v1/companies/$CO/endpoints" "$(jq -c --arg url "http://127.0.0.1:$port/services/T000/B000/XXXX" '. + {url: $url}' <<<"$ep")")"
  eps+=("$(jq -r .id <<<"$created")")
  echo "  endpoint: $(jq -r .description <<<"$created")"
done < <(jq -c '.[]' "$here/endpoints.json")

alerts=0
while IFS= read -r event; do
  [ -n "$event" ] || continue
  made="$(api POST "/v1/companies/$CO/events" "$event" | jq -r .deliveries)"
  alerts=$((alerts + made))
  echo "  published $(jq -r .type <<<"$event"): $made alert(s)"
done <"$here/events.jsonl"

n=0
for ep in "${eps[@]}"; do
  c="$(api GET "/v1/companies/$CO/deliveries?endpoint_id=$ep&limit=500" | jq '.data | length')"
  wait_delivered "$ep" "$c"
  n=$((n + c))
done
echo
echo "the channel:"
grep '^#compliance' "$work/channel.log" | sed 's/^/  /'

grep '^#compliance' "$work/channel.log" | sort >"$work/got.txt"
sort "$here/expected.txt" >"$work/want.txt"
diff -u "$work/want.txt" "$work/got.txt" >&2 || { echo "FAIL: the channel differs from expected.txt" >&2; exit 1; }
echo "OK: $n alerts of 6 events, each in Slack's format"

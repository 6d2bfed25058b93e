#!/usr/bin/env bash
# Zapier / Make: an approved time off becomes a team-calendar entry and a team message, through
# a REST Hooks subscription (SPEC §6) — against zapier_standin.py, which does what Zapier's
# REST Hooks trigger does: subscribe, load samples, catch deliveries, and answer 410 once the
# Zap is turned off, which makes hookd delete the subscription.
# Publishes four approvals one by one: the first two reach the Zap, the third finds it turned
# off (410) and the fourth is not delivered at all (no subscription left). Exits 1 otherwise.
#
#   examples/zapier/run.sh          (after scripts/run.sh or scripts/build.sh; needs python3)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../lib.sh"
command -v python3 >/dev/null || { echo "run.sh: python3 is missing" >&2; exit 2; }
start_hookd

CO="$(api POST /v1/companies '{"name":"Acme Logistica S.L."}' | jq -r .id)"
# What the user pastes into Zapier when connecting the account: a company token.
TOKEN="$(api POST "/v1/companies/$CO/tokens" '{"scopes":["manage"],"description":"Zapier"}' | jq -r .token)"
PUBLISH="$(TOKEN="" api POST "/v1/companies/$CO/tokens" '{"scopes":["publish"],"description":"HR platform"}' | jq -r .token)"

HOOKD="$HOOKD" HOOKD_TOKEN="$TOKEN" bg python3 -u "$here/zapier_standin.py" --turn-off-after 2 >"$work/zap.log" 2>&1
for _ in $(seq 200); do grep -q '^ready$' "$work/zap.log" && break; kill -0 "${pids[-1]}" 2>/dev/null || break; sleep 0.05; done
grep -q '^ready$' "$work/zap.log" || { cat "$work/zap.log" >&2; echo "the stand-in did not start" >&2; exit 1; }

publish() {  # one approval; prints how many deliveries hookd made for it
  curl -sS --fail-with-body "$HOOKD/v1/companies/$CO/events" -H "authorization: Bearer $PUBLISH" --json "$1" | jq -r .deliveries
}
settled() {  # every delivery so far finished (succeeded or failed)
  [ "$(api GET "/v1/companies/$CO/deliveries?status=pending&limit=500" | jq '.data | length')" = 0 ]
}
i=0
declare -a made
while IFS= read -r event; do
  i=$((i + 1))
  made[$i]="$(publish "$event")"
  for _ in $(seq 200); do settled && break; sleep 0.05; done
done <"$here/approvals.jsonl"

sed 's/^/  /' "$work/zap.log" | grep -v '^  ready$'
hooks="$(api GET "/v1/companies/$CO/endpoints?limit=500" | jq '[.data[] | select(.kind == "rest_hook")] | length')"
echo "deliveries per approval: ${made[*]}; REST hook subscriptions left: $hooks"

fail=0
[ "$(grep -c '^zap: calendar entry' "$work/zap.log")" = 2 ] || { echo "FAIL: expected 2 calendar entries" >&2; fail=1; }
grep -q 'answered 410' "$work/zap.log" || { echo "FAIL: the turned-off Zap never answered 410" >&2; fail=1; }
[ "${made[*]}" = "1 1 1 0" ] || { echo "FAIL: deliveries per approval ${made[*]}, expected 1 1 1 0" >&2; fail=1; }
[ "$hooks" = 0 ] || { echo "FAIL: the subscription was not deleted after the 410" >&2; fail=1; }
[ "$fail" = 0 ] || exit 1
echo "OK: two approvals reached the Zap; its 410 unsubscribed it"

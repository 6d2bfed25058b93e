# Shared by the examples' run.sh: a throwaway hookd and a small API helper. Source it with
# `here` set to the example's folder. Sets: work (a temp dir, removed at exit unless KEEP=1),
# HOOKD (its base URL), OP (operator token); `api METHOD PATH [JSON]` (company token once
# TOKEN is set); `bg CMD…` starts a process stopped at exit; `wait_port PID` prints the TCP
# port a process listens on.
set -euo pipefail
root="$(cd "$here/../.." && pwd)"
hookd="${HOOKD_BIN:-$root/build/hookd}"
for tool in "$hookd" curl jq ss; do
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
bg() { "$@" & pids+=($!); }

wait_port() {  # the port a process listens on, from the kernel (race-free with port 0)
  local port=""
  for _ in $(seq 200); do
    port="$(ss -Hltnp 2>/dev/null | grep "pid=$1," | awk '{print $4}' | sed 's/.*://' | head -1)"
    [ -n "$port" ] && { echo "$port"; return 0; }
    kill -0 "$1" 2>/dev/null || break
    sleep 0.05
  done
  return 1
}

# hookd, allowed to deliver over plain HTTP to this machine only; quick retries for a demo.
start_hookd() {
  (umask 077; printf 'hkd_%s\n' "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$work/admin-token")
  bg "$hookd" serve --listen 127.0.0.1:0 --db "sqlite:$work/hookd.db" --admin-token-file "$work/admin-token" \
    --allow-http --allow-destination 127.0.0.1/32 "$@" >"$work/hookd.out" 2>"$work/hookd.log"
  HOOKD=""
  for _ in $(seq 200); do
    HOOKD="$(sed -n 's/^hookd listening on //p' "$work/hookd.out")"
    [ -n "$HOOKD" ] && break
    sleep 0.05
  done
  [ -n "$HOOKD" ] || { cat "$work/hookd.log" >&2; echo "hookd did not start" >&2; exit 1; }
  OP="$(cat "$work/admin-token")"
}
api() { curl -sS --fail-with-body -X "$1" "$HOOKD$2" -H "authorization: Bearer ${TOKEN:-$OP}" ${3:+--json "$3"}; }

# Waits until `n` deliveries of endpoint $1 succeeded; fails when one failed for good.
wait_delivered() {
  local ep=$1 n=$2 ok=0 failed=0
  for _ in $(seq 900); do
    ok="$(api GET "/v1/companies/$CO/deliveries?endpoint_id=$ep&status=succeeded&limit=500" | jq '.data | length')"
    failed="$(api GET "/v1/companies/$CO/deliveries?endpoint_id=$ep&status=failed&limit=500" | jq '.data | length')"
    [ "$ok" -ge "$n" ] || [ "$failed" != 0 ] && break
    sleep 0.1
  done
  [ "$ok" -ge "$n" ] || { echo "FAIL: $ok of $n deliveries succeeded ($failed failed); KEEP=1 keeps $work" >&2; return 1; }
}

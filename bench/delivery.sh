#!/usr/bin/env bash
# Delivery benchmark (issue 3): events POSTed to hookd over HTTP, delivered to a fast local
# receiver (nginx `return 204`), durable all the way (ingest commit + outcome commit), next
# to a yardstick measured in the same run: wrk's raw POST rate against that nginx.
#
#   (0) yardstick  wrk POST → nginx directly (same body, -t2 -c64)
#   (1) e2e        1 endpoint: wrk POSTs single events for DUR s; delivered/s = events ÷ time
#                  from the first POST until the last delivery succeeded (drain included)
#   (2) fan-out    50 endpoints: FANOUT_EVENTS events in batches; deliveries/s likewise, and
#                  the CPU each delivery cost (hookd, nginx, the whole machine)
#   (2b) fanout-curl  the same with every request through libcurl (--plain-http curl)
#   (3) latency    1 endpoint, loadgen at LAT_RATE events/s: ingest-to-receiver latency =
#                  nginx's receive time ($msec) − the event's created_at (set before commit)
#   (5) isolation  1 healthy endpoint (nginx) + 3 bad ones on the same events — a receiver that
#                  never answers, one that resets every connection, one that answers after
#                  5 s — at LAT_RATE events/s: the healthy endpoint's ingest-to-receiver latency
#                  percentiles under that load, and what the bad ones' attempts ended with
#   (4) backlog    receiver down: BACKLOG events ingested, first attempts fail (connection
#                  refused) and wait for their retry; hookd's RSS is read with all of them in
#                  memory. Then the receiver comes back and hookd restarts with the retries
#                  due (next_attempt_at moved to now in the db: the clock fast-forwarded), and
#                  the drain rate is measured from the restart (recovery load included).
#   (6) idle       PostgreSQL only: the statements and transactions the nodes run in IDLE_DUR s
#                  with nothing to do (lease renewals), per node and per second
#
# DB=postgres: hookd on a throwaway PostgreSQL 15 (bench/pg.sh: Unix socket, fsync and
# synchronous_commit on, pg_stat_statements), a fresh database per run; NODES=N starts N
# `hookd serve` on it (the same --db and --admin-token; node i connects as role hookd<i>, so
# pg_stat_statements tells the nodes apart), and the load is spread over them: wrk's threads
# round-robin over the nodes (max(2, N) threads), fan-out batches round-robin, the latency
# part one loadgen per node at LAT_RATE/N. Parts (1) and (2) then also print the statements
# and commits per event (pg_stat_statements calls of the hookd roles; pg_stat_database
# xact_commit) and the server's CPU per event. Parts (5), (2b) and (4) are SQLite only.
# PG_DIR + PG_PORT + PG_PID (from bench/cluster.sh) reuse a running throwaway server.
#
# Usage: bench/delivery.sh   (loopback only; stops by itself; ~5 minutes with the defaults)
# Knobs: DUR=15 LAT_RATE=1000 LAT_DUR=20 FANOUT_EVENTS=2000 BACKLOG=1000000
#        RUNS="yardstick e2e fanout fanout-curl latency isolation backlog idle" KEEP_TMP=1 FANOUT_CONC=16
#        HOOKD_ARGS="--dispatch-threads 2" (extra flags) DB=sqlite|postgres NODES=1 IDLE_DUR=20
#        ENCRYPTION=off|on|both (on: a key in --encryption-key-file; both: the cost of it, below)
#        DIRTY_BACKGROUND_BYTES=16777216 (root: vm.dirty_background_bytes for the run, put back
#        at the end — the kernel then writes dirty page cache back in small pieces instead of
#        hundreds of MB at once, which stalls every WAL flush behind it; see part (3))
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
DUR="${DUR:-15}"
LAT_RATE="${LAT_RATE:-1000}"
LAT_DUR="${LAT_DUR:-20}"
FANOUT_EVENTS="${FANOUT_EVENTS:-2000}"
BACKLOG="${BACKLOG:-1000000}"
DB="${DB:-sqlite}"
RUNS_GIVEN="${RUNS:-}"  # before the defaults below (ENCRYPTION=both has its own)
NODES="${NODES:-1}"
IDLE_DUR="${IDLE_DUR:-20}"
case "$DB" in
  sqlite) RUNS="${RUNS:-yardstick e2e fanout fanout-curl latency isolation backlog}"; db_tool=sqlite3
          [ "$NODES" = 1 ] || { echo "delivery.sh: NODES > 1 needs DB=postgres" >&2; exit 2; } ;;
  postgres) RUNS="${RUNS:-yardstick e2e fanout latency idle}"; db_tool=psql ;;
  *) echo "delivery.sh: DB=sqlite or DB=postgres" >&2; exit 2 ;;
esac
want() { [[ " $RUNS " == *" $1 "* ]]; }
for r in isolation fanout-curl backlog; do
  if [ "$DB" = postgres ] && want "$r"; then echo "delivery.sh: part $r is SQLite only" >&2; exit 2; fi
done
if [ "$DB" = sqlite ] && want idle; then echo "delivery.sh: part idle is PostgreSQL only" >&2; exit 2; fi
HOOKD="${HOOKD:-$root/build/hookd}"
for tool in wrk curl jq "$db_tool" nginx python3; do
  command -v "$tool" >/dev/null || { echo "delivery.sh: $tool is required" >&2; exit 2; }
done
[ -x "$HOOKD" ] || (cd "$root" && bash scripts/build.sh hookd)
LOADGEN="$("$here/build.sh" | tail -n1)"

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
RESULTS_DIR="${RESULTS_DIR:-$here/results/delivery-$stamp}"
mkdir -p "$RESULTS_DIR"

# ENCRYPTION=both: the cost of encryption at rest (issue 13: target < 10 % fewer events/s end
# to end). The chosen parts run four times, alternating without and with a key (off, on, off,
# on: a drift of the machine hits both), each run with its own yardstick; then the means.
ENCRYPTION="${ENCRYPTION:-off}"
case "$ENCRYPTION" in
  off|on) ;;
  both)
    RUNS="${RUNS_GIVEN:-yardstick e2e fanout latency}"
    for i in 1 2; do
      for v in off on; do
        ENCRYPTION="$v" RUNS="$RUNS" RESULTS_DIR="$RESULTS_DIR/$v-$i" bash "$0"
      done
    done
    python3 - "$RESULTS_DIR" <<'PY' | tee "$RESULTS_DIR/summary.txt"
import sys, pathlib, statistics
root = pathlib.Path(sys.argv[1])
def load(d):
    out = {}
    for line in (d / "results.env").read_text().splitlines():
        k, _, v = line.partition("=")
        out[k] = v
    return out
runs = {v: [load(root / f"{v}-{i}") for i in (1, 2)] for v in ("off", "on")}
print(f"encryption at rest, ENCRYPTION=both ({root.name}): means of 2 runs each, alternating off/on")
for key, label in (("yardstick", "(0) yardstick req/s"), ("e2e", "(1) e2e events/s"), ("fanout", "(2) fan-out deliveries/s"),
                   ("latency_p99", "(3) latency p99 ms")):
    def num(x):
        try:
            return float(x)
        except (TypeError, ValueError):
            return None
    vals = {v: [num(r.get(key)) for r in runs[v] if num(r.get(key)) is not None] for v in runs}
    if not vals["off"] or not vals["on"]:
        continue
    off, on = statistics.mean(vals["off"]), statistics.mean(vals["on"])
    change = f"{(on - off) / off * 100:+.1f} %" if off else "n/a"
    print(f"  {label:28} without key {off:>9.1f} {vals['off']}   with key {on:>9.1f} {vals['on']}   {change}")
PY
    exit 0 ;;
  *) echo "delivery.sh: ENCRYPTION=off, on or both" >&2; exit 2 ;;
esac
tmp="$(mktemp -d /tmp/hookd-dbench.XXXXXX)"
hookd_pids=()
hookd_pid=""
bad_pid=""
nginx_up=0
own_pg=0
dirty_saved=""
if [ -n "${DIRTY_BACKGROUND_BYTES:-}" ]; then
  dirty_saved="$(sysctl -n vm.dirty_background_bytes) $(sysctl -n vm.dirty_background_ratio)"
  sysctl -qw vm.dirty_background_bytes="$DIRTY_BACKGROUND_BYTES"
fi
cleanup() {
  disown -a  # no "Killed" line per node
  if [ -n "$dirty_saved" ]; then  # one of the two is 0: setting it last would zero the other
    read -r b r <<<"$dirty_saved"
    if [ "$b" != 0 ]; then sysctl -qw vm.dirty_background_bytes="$b"; else sysctl -qw vm.dirty_background_ratio="$r"; fi
  fi
  for p in "${hookd_pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  if [ -n "${dirty_pid:-}" ]; then kill "$dirty_pid" 2>/dev/null || true; fi
  if [ -n "$bad_pid" ]; then kill "$bad_pid" 2>/dev/null || true; fi
  if [ "$nginx_up" = 1 ]; then nginx -c "$tmp/nginx.conf" -p "$tmp" -s stop 2>/dev/null || true; fi
  sleep 0.3
  for f in "$tmp"/hookd*.err; do [ -f "$f" ] && cp "$f" "$RESULTS_DIR/$(basename "$f" .err).stderr.log" 2>/dev/null; done
  if [ "$own_pg" = 1 ]; then cp "$PG_DIR/server.log" "$RESULTS_DIR/postgres.log" 2>/dev/null; pg_stop; fi
  if [ -n "${KEEP_TMP:-}" ]; then echo "kept $tmp" >&2; else case "$tmp" in /tmp/hookd-dbench.*) rm -rf "$tmp" ;; esac; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '%s\n' "$*" | tee -a "$RESULTS_DIR/summary.txt"; }
kv() { echo "$1=$2" >>"$RESULTS_DIR/results.env"; }  # machine-readable results, for bench/cluster.sh
now_ms() { date +%s%3N; }
ratio() {  # ratio A B → A/B with 3 decimals, or "n/a" when B (e.g. a yardstick not run) is 0
  python3 -c "import sys; a, b = int(sys.argv[1]), int(sys.argv[2]); print(f'{a / b:.3f}' if b else 'n/a')" "$1" "$2"
}

# ---------------------------------------------------------------- the receiver: nginx, return 204
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
mkdir -p "$tmp/logs"
{
  echo "worker_processes 1;"
  echo "error_log $tmp/logs/error.log warn;"
  echo "pid $tmp/nginx.pid;"
  echo "events { worker_connections 4096; }"
  echo "http {"
  echo "  log_format hookd '\$msec \$http_webhook_id';"
  echo "  access_log off;"
  echo "  keepalive_requests 1000000;"
  echo "  keepalive_timeout 120s;"
  echo "  client_body_buffer_size 64k;"
  echo "  client_body_temp_path $tmp/body; proxy_temp_path $tmp/proxy; fastcgi_temp_path $tmp/fcgi;"
  echo "  uwsgi_temp_path $tmp/uwsgi; scgi_temp_path $tmp/scgi;"
  echo "  server {"
  echo "    listen 127.0.0.1:$port;"
  echo "    location /lat { access_log $tmp/logs/lat.log hookd buffer=64k flush=1s; return 204; }"
  echo "    location /iso { access_log $tmp/logs/iso.log hookd buffer=64k flush=1s; return 204; }"
  echo "    location / { return 204; }"
  echo "  }"
  echo "}"
} >"$tmp/nginx.conf"
nginx_start() { nginx -c "$tmp/nginx.conf" -p "$tmp" -g 'daemon on;' && nginx_up=1; sleep 0.3; }
nginx_stop() { nginx -c "$tmp/nginx.conf" -p "$tmp" -s stop 2>/dev/null || true; nginx_up=0; sleep 0.5; }
nginx_start
rx="http://127.0.0.1:$port"

# ---------------------------------------------------------------- the database
if [ "$DB" = postgres ]; then
  # shellcheck source=bench/pg.sh
  . "$here/pg.sh"
  if [ -z "$PG_DIR" ]; then pg_start; own_pg=1; fi
  PGDB="hookd_bench_${stamp,,}_$$"
  pg_sql postgres "CREATE DATABASE $PGDB" >/dev/null
  for i in $(seq "$NODES"); do  # a role per node: pg_stat_statements counts per role
    pg_sql postgres "DO \$\$ BEGIN CREATE ROLE hookd$i LOGIN SUPERUSER; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$" >/dev/null
  done
  db_url() { pg_url "$PGDB" "hookd$1"; }
else
  db_url() { echo "sqlite:$tmp/hookd.db"; }
fi

# ---------------------------------------------------------------- hookd
cp "$HOOKD" "$tmp/hookd"
TOK="hkd_bench_$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
HARGS=(--admin-token "$TOK" --allow-http --allow-destination 127.0.0.1/32)
# shellcheck disable=SC2206  # extra `hookd serve` flags, split on spaces on purpose
[ -n "${HOOKD_ARGS:-}" ] && HARGS+=($HOOKD_ARGS)
if [ "$ENCRYPTION" = on ]; then
  "$tmp/hookd" key generate >"$tmp/encryption.key"
  HARGS+=(--encryption-key-file "$tmp/encryption.key")
fi
base=""
bases=()
start_hookd() {  # start_hookd [extra args…] → NODES nodes; bases[i], hookd_pids[i]; base, hookd_pid: node 1's
  local i line pid
  bases=(); hookd_pids=()
  for i in $(seq "$NODES"); do
    : >"$tmp/hookd$i.out"
    "$tmp/hookd" serve --listen 127.0.0.1:0 --db "$(db_url "$i")" "${HARGS[@]}" "$@" >"$tmp/hookd$i.out" 2>>"$tmp/hookd$i.err" &
    pid=$!
    hookd_pids+=("$pid")
    for _ in $(seq 600); do
      line="$(head -n1 "$tmp/hookd$i.out" 2>/dev/null || true)"
      if [[ "$line" =~ ^hookd\ listening\ on\ (http://127\.0\.0\.1:[0-9]+)$ ]]; then bases+=("${BASH_REMATCH[1]}"); break; fi
      kill -0 "$pid" 2>/dev/null || { cat "$tmp/hookd$i.err" >&2; exit 1; }
      sleep 0.1
    done
    (( ${#bases[@]} == i )) || { echo "hookd node $i did not start" >&2; exit 1; }
  done
  base="${bases[0]}"; hookd_pid="${hookd_pids[0]}"
  (( NODES > 1 )) && wait_leases_balanced
  return 0
}
stop_hookd() {
  local p
  for p in "${hookd_pids[@]}"; do kill -TERM "$p"; done
  for p in "${hookd_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  hookd_pids=(); hookd_pid=""
}
# Several nodes share the 256 shards only after a few lease renewals: wait until every node
# holds some, none more than its fair share (⌈256 / N⌉: 86, 86, 84 for 3) and no shard is
# free, so that every part runs on a settled cluster.
wait_leases_balanced() {
  local t0 spread
  t0="$(now_ms)"
  for _ in $(seq 600); do
    spread="$(q "SELECT count(*) || ' ' || min(n) || ' ' || max(n) || ' ' || sum(n) FROM (SELECT owner, count(*) AS n FROM shard_leases WHERE owner IS NOT NULL AND expires_at > now() GROUP BY owner) o;")"
    read -r owners lo hi total <<<"$spread"
    if [ "${owners:-0}" = "$NODES" ] && (( total == 256 && hi <= (256 + NODES - 1) / NODES )); then
      log "$NODES nodes hold their share of the 256 shards ($lo–$hi each) $(( $(now_ms) - t0 )) ms after the last one started"
      return
    fi
    sleep 0.1
  done
  log "WARNING: the shards did not balance over $NODES nodes in 60 s: $(q "SELECT string_agg(coalesce(owner, '-') || ':' || n, ' ') FROM (SELECT owner, count(*) AS n FROM shard_leases GROUP BY owner) o;")"
}
api() {
  local out code
  out="$(curl -sS -X "$1" "$base$2" -H "authorization: Bearer $3" -H 'content-type: application/json' \
         ${4:+--data-binary "$4"} -w '\n%{http_code}')"
  code="${out##*$'\n'}"; out="${out%$'\n'*}"
  [[ "$code" == 2* ]] || { echo "delivery.sh: $1 $2 → $code $out" >&2; return 1; }
  printf '%s' "$out"
}
new_company() {  # new_company NAME → sets cid, ctok
  cid="$(api POST /v1/companies "$TOK" "{\"name\":\"$1\"}" | jq -r .id)"
  ctok="$(api POST "/v1/companies/$cid/tokens" "$TOK" '{"scopes":["manage","publish"]}' | jq -r .token)"
}
new_endpoint() {  # new_endpoint URL [MAX_CONCURRENCY] → endpoint id
  api POST "/v1/companies/$cid/endpoints" "$ctok" \
    "{\"url\":\"$1\",\"event_types\":[\"*\"],\"max_concurrency\":${2:-32}}" | jq -r .id
}
if [ "$DB" = postgres ]; then
  q() { pg_sql "$PGDB" "$1" 2>/dev/null || echo 0; }
else
  q() { sqlite3 "file:$tmp/hookd.db?mode=ro" "$1" 2>/dev/null || echo 0; }
fi
succeeded() { q "SELECT count(*) FROM deliveries WHERE company_id='$1' AND status='succeeded';"; }
# Deliveries counted as succeeded by hookd's /metrics (a counter read: cheap, unlike a count over
# the deliveries table every 100 ms, which took a good part of a core from the run it measured).
metric_succeeded() {  # summed over the nodes
  local b
  for b in "${bases[@]}"; do curl -s "$b/metrics"; done \
    | awk '/^hookd_deliveries_total\{outcome="succeeded"\}/ {n += $2} END {printf "%d", n}'
}
buckets() {  # buckets SERIES [BASE…] → a histogram's buckets ("le count" lines) summed over the nodes
  # (all of them, or those BASE URLs); SERIES is what precedes le=, e.g. 'hookd_store_sync_seconds_bucket{'
  local b series="$1"; shift
  for b in "${@:-${bases[@]}}"; do curl -s "$b/metrics"; done \
    | grep -F "$series" | sed -n 's/.*le="\([^"]*\)"} \([0-9]*\)$/\1 \2/p' \
    | awk '{n[$1] += $2} END {for (k in n) print k, n[k]}'
}
lag_buckets() { buckets 'hookd_delivery_lag_seconds_bucket{attempt="first",' "$@"; }
sync_buckets() { buckets 'hookd_store_sync_seconds_bucket{' "$@"; }
lag_report() {  # lag_report BEFORE AFTER [WHAT] → percentiles (as bucket bounds) of what was counted between
  python3 - "$@" <<'PY'
import sys
def read(text):
    out = {}
    for line in text.splitlines():
        le, n = line.split()
        out[float('inf') if le == '+Inf' else float(le)] = int(n)
    return out
a, b = read(sys.argv[1]), read(sys.argv[2])
cum = sorted((le, b[le] - a.get(le, 0)) for le in b)
total = cum[-1][1] if cum else 0
def p(x):
    for le, n in cum:
        if n >= x / 100 * total:
            return '> 300 s' if le == float('inf') else f'≤ {le * 1000:g} ms'
    return '?'
what = sys.argv[3] if len(sys.argv) > 3 else 'first attempts'
print(f"{total} {what}: p50 {p(50)}, p90 {p(90)}, p99 {p(99)}" if total else f"no {what} counted")
PY
}
wait_delivered() {  # wait_delivered CID N TIMEOUT_S [METRIC_BASE] → the time (ms) when all N are
  # durably succeeded: /metrics is polled every 50 ms until it counts N more than METRIC_BASE,
  # then the db is asked (it holds them once the outcome commit is done) until it agrees.
  # Gives up (status 1, a line on stderr) at TIMEOUT_S, or when the db's count has not moved
  # for STALL_S (60) s: deliveries stuck pending are a finding, not a reason to wait 10 min.
  local deadline=$(( $(now_ms) + $3 * 1000 )) mbase="${4:-}" n last=-1 moved
  moved="$(now_ms)"
  if [ -n "$mbase" ]; then
    while (( $(now_ms) < deadline && $(now_ms) - moved < ${STALL_S:-60} * 1000 )); do
      n=$(( $(metric_succeeded) - mbase ))
      (( n >= $2 )) && break
      if (( n != last )); then last=$n; moved="$(now_ms)"; fi
      sleep 0.05
    done
  fi
  moved="$(now_ms)" last=-1
  while (( $(now_ms) < deadline && $(now_ms) - moved < ${STALL_S:-60} * 1000 )); do
    n="$(succeeded "$1")"
    if (( n >= $2 )); then now_ms; return; fi
    if (( n != last )); then last=$n; moved="$(now_ms)"; fi
    sleep 0.05
  done
  echo "STUCK: $(succeeded "$1") of $2 deliveries succeeded in the db, none more for ${STALL_S:-60} s (or ${3} s in all); hookd's /metrics counts $(( $(metric_succeeded) - ${mbase:-0} )) successes; by status: $(q "SELECT string_agg(status || ' ' || n, ', ') FROM (SELECT status, count(*) AS n FROM deliveries WHERE company_id='$1' GROUP BY status) s;")" >&2
  return 1
}
# stuck PART → logs wait_delivered's complaint (kept in $tmp/stuck.txt) and records it
stuck() { log "$1 STUCK — $(cat "$tmp/stuck.txt")"; kv "$2" stuck; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# CPU time (ms, user + system) used so far by hookd, by nginx's workers, and by the whole machine
# (all cores, from /proc/stat): sampled around a part, they give µs of CPU per delivery — a
# steadier figure than the rate on a shared VM, where the same run moves by ±20 %.
HZ="$(getconf CLK_TCK)"
cpu_ms_of() {  # cpu_ms_of PID… → summed utime + stime in ms
  local t=0 p f
  for p in "$@"; do
    f="$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null)" || continue
    t=$(( t + ${f% *} + ${f#* } ))
  done
  echo $(( t * 1000 / HZ ))
}
machine_cpu_ms() { awk -v hz="$HZ" '/^cpu / {print int(($2 + $3 + $4 + $7 + $8 + $9) * 1000 / hz)}' /proc/stat; }
nginx_workers() { pgrep -P "$(cat "$tmp/nginx.pid")" | tr '\n' ' '; }
# hookd's CPU by thread name ("hookd-http=…,hookd-writer=…", ms), to see which part grew —
# summed over the nodes. (hookd's thread names have no spaces, so stat's fields split plainly.)
thread_ms() {
  local p files=()
  for p in "${hookd_pids[@]}"; do files+=(/proc/"$p"/task/*/stat); done
  awk -v hz="$HZ" '{gsub(/[()]/, "", $2); ms[$2] += ($14 + $15) * 1000 / hz}
    END {for (k in ms) printf "%s=%d,", k, ms[k]}' "${files[@]}" 2>/dev/null || true
}
# shellcheck disable=SC2046  # pids, split on purpose
# The server's processes one by one ("pid=ms,…"): a process that ended between two samples
# (an autovacuum worker) would otherwise take its whole CPU time off the sum.
pg_cpu_ms() {
  local p
  [ "$DB" = postgres ] || { echo "-"; return; }
  local out
  out="$(for p in $(pg_backend_pids); do echo "$p=$(cpu_ms_of "$p")"; done | paste -sd, -)"
  echo "${out:--}"
}
# PostgreSQL's CPU by backend ("hookd-writer=…,hookd-listener=…,walwriter=…", ms): the
# application name hookd gives each of its connections, or the server process's type.
pg_cpu_by_backend() {
  [ "$DB" = postgres ] || { echo "-"; return; }
  local pid kind
  pg_sql postgres "SELECT pid, replace(coalesce(nullif(application_name, ''), backend_type), ' ', '-')
      FROM pg_stat_activity WHERE application_name <> 'psql'" | tr '|' ' ' | while read -r pid kind; do
    echo "$kind/$pid $(cut -d' ' -f14,15 "/proc/$pid/stat" 2>/dev/null)"
  done | awk -v hz="$HZ" 'NF == 3 {printf "%s=%d,", $1, ($2 + $3) * 1000 / hz} END {print "-"}'
}
cpu_sample() { echo "$(cpu_ms_of "${hookd_pids[@]}") $(cpu_ms_of $(nginx_workers)) $(machine_cpu_ms) $(pg_cpu_ms) $(thread_ms)- $(pg_cpu_by_backend)"; }
cpu_report() {  # cpu_report "SAMPLE_BEFORE" "SAMPLE_AFTER" N ELAPSED_MS → "cpu per delivery: …"
  python3 -c "import sys
a, b = sys.argv[1].split(), sys.argv[2].split()
h, n, m = (int(b[i]) - int(a[i]) for i in range(3))
k, ms = int(sys.argv[3]), max(1, int(sys.argv[4]))
kv = lambda f, i: dict((p.split('=')[0], int(p.split('=')[1])) for p in (f[i] if len(f) > i else '').split(',') if '=' in p)
# Per process (pid, or kind/pid): what it used since the first sample, or since it started;
# one that ended meanwhile is left out (not its whole time taken off).
def deltas(i):
  ta, tb = kv(a, i), kv(b, i)
  return {key: tb[key] - ta.get(key, 0) for key in tb}
pg = sum(deltas(3).values())
def split(i, strip):  # field i ("name=ms,…,-" or "name/pid=ms,…") → µs per delivery by name, largest first
  by = {}
  for key, d in deltas(i).items():
    by[key.split('/')[0]] = by.get(key.split('/')[0], 0) + d
  parts = sorted((d * 1000 / k, t.removeprefix(strip)) for t, d in by.items())
  return ', '.join(f'{name} {us:.1f}' for us, name in reversed(parts) if us >= 0.5)
by_thread = split(4, 'hookd-')
by_backend = split(5, 'hookd-')
server = f', postgres {pg * 1000 / k:.1f} µs ({by_backend})' if sys.argv[5] == 'postgres' else ''
print(f'cpu per delivery: hookd {h * 1000 / k:.1f} µs ({by_thread}){server}, nginx {n * 1000 / k:.1f} µs, whole machine {m * 1000 / k:.1f} µs (machine {m * 100 / ms:.0f} % of one core)')" \
    "$1" "$2" "$3" "$4" "$DB"
}
# PostgreSQL's counters for the hookd roles in this run's database: "statements commits_stmt
# xact_commit xact_rollback" — statements (pg_stat_statements calls, BEGIN and COMMIT
# included), COMMIT statements among them, and the database's transactions (pg_stat_database:
# implicit single-statement ones too, and the benchmark's own few queries). pg_stat_database
# is flushed by each backend at most once a second, or 10 s after it went idle: pg_counters
# waits PG_FLUSH_WAIT (11) s first, so that a part's last second is in.
pg_counters() {
  [ "$DB" = postgres ] || { echo "0 0 0 0"; return; }
  sleep "${PG_FLUSH_WAIT:-11}"
  pg_sql postgres "SELECT (SELECT coalesce(sum(calls), 0) || ' ' || coalesce(sum(calls) FILTER (WHERE upper(query) LIKE 'COMMIT%'), 0)
      FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
      WHERE r.rolname LIKE 'hookd%' AND s.dbid = (SELECT oid FROM pg_database WHERE datname = '$PGDB'))
    || ' ' || (SELECT xact_commit || ' ' || xact_rollback FROM pg_stat_database WHERE datname = '$PGDB')"
}
# PG_TOP=N: the N statements of the hookd roles that took the most server time so far (this
# run's database), with calls and mean ms, into results/pg_top_PART.txt and the log — where
# the writer's time goes. With PG_CONF="-c pg_stat_statements.track_planning=on", planning too.
# Then pg_stat_wal's counters since the server started.
pg_top() {  # pg_top PART
  [ -n "${PG_TOP:-}" ] || return 0
  pg_sql postgres "SELECT round(sum(s.total_exec_time)) || ' ms exec, ' || round(sum(s.total_plan_time)) || ' ms plan, '
      || sum(s.calls) || ' calls, mean ' || round((sum(s.total_exec_time) / sum(s.calls))::numeric, 3) || ' ms: '
      || left(regexp_replace(s.query, '\s+', ' ', 'g'), 90)
    FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
    WHERE r.rolname LIKE 'hookd%' AND s.dbid = (SELECT oid FROM pg_database WHERE datname = '$PGDB')
    GROUP BY s.query ORDER BY sum(s.total_exec_time) DESC LIMIT ${PG_TOP}" >"$RESULTS_DIR/pg_top_$1.txt"
  # The WAL flushes (with PG_CONF="-c track_wal_io_timing=on", their time too).
  pg_sql postgres "SELECT wal_sync || ' WAL syncs, ' || round(wal_sync_time) || ' ms syncing, ' || wal_write
      || ' WAL writes, ' || round(wal_write_time) || ' ms writing, ' || pg_size_pretty(wal_bytes) || ' (whole server)'
    FROM pg_stat_wal" >>"$RESULTS_DIR/pg_top_$1.txt"
  while IFS= read -r line; do log "               top: $line"; done <"$RESULTS_DIR/pg_top_$1.txt"
}
pg_report() {  # pg_report PART "COUNTERS_BEFORE" "COUNTERS_AFTER" EVENTS [DELIVERIES] → one line (and kv's)
  python3 -c "import sys
part = sys.argv[1]
a, b = [int(x) for x in sys.argv[2].split()], [int(x) for x in sys.argv[3].split()]
st, cm, xc, xr = (b[i] - a[i] for i in range(4))
ev, dl = int(sys.argv[4]), int(sys.argv[5] or 0)
per = lambda x: f'{x / ev:.3f}'
line = f'postgres per event: {per(st)} statements ({per(cm)} COMMIT statements), {per(xc)} transactions committed (pg_stat_database; {xr} rolled back in all)'
if dl: line += f'; per delivery: {st / dl:.3f} statements, {xc / dl:.3f} transactions'
print(line)
with open(sys.argv[6], 'a') as f:
    f.write(f'{part}_stmts_per_event={per(st)}\\n{part}_commit_stmts_per_event={per(cm)}\\n{part}_xacts_per_event={per(xc)}\\n')" \
    "$1" "$2" "$3" "$4" "${5:-}" "$RESULTS_DIR/results.env"
}

event_tpl='{"type":"employee.hired","data":{"employee":{"id":"emp_%s","first_name":"Lucía","last_name":"García","email":"lucia@acme.example","start_date":"2026-12-01"}}}'
printf "$event_tpl" 1 >"$tmp/event1.json"
printf "$event_tpl" '{{seq}}' >"$tmp/event.json"
for i in $(seq 100); do printf "$event_tpl" "b$i"; done | jq -cs . >"$tmp/batch.json"

wrk_lua() {  # wrk_lua TOKEN BODYFILE [nodes] → path of a wrk script POSTing that body
  # ("nodes": wrk's threads connect round-robin to the hookd nodes instead of the URL's host)
  local f="$tmp/wrk-$RANDOM.lua" b
  {
    if [ "${3:-}" = nodes ] && (( ${#bases[@]} > 1 )); then
      printf 'local nodes = {'
      for b in "${bases[@]}"; do printf '"%s",' "${b##*:}"; done
      echo '}'
      echo 'local n = 0'
      echo 'function setup(thread)'
      echo '  n = n + 1'
      echo '  thread.addr = wrk.lookup("127.0.0.1", nodes[(n - 1) % #nodes + 1])[1]'
      echo 'end'
    fi
    echo 'wrk.method = "POST"'
    echo "wrk.body = io.open(\"$2\"):read(\"*a\")"
    echo 'wrk.headers["content-type"] = "application/json"'
    echo "wrk.headers[\"authorization\"] = \"Bearer $1\""
    echo 'function done(summary, latency, requests)'
    echo '  io.write(string.format("WRKRESULT requests=%d non2xx=%d\n", summary.requests, summary.errors.status))'
    echo 'end'
  } >"$f"
  echo "$f"
}
field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" | head -n1; }

log "hookd delivery benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, commit $(git -C "$root" rev-parse --short HEAD), encryption at rest $ENCRYPTION"
if [ "$DB" = postgres ]; then
  log "receiver: nginx (1 worker, return 204, keep-alive); hookd: $NODES node(s) on PostgreSQL $(pg_sql postgres 'SHOW server_version' | cut -d' ' -f1) (Unix socket, synchronous_commit on, fsync on: a 202 after COMMIT); all on loopback, one machine"
else
  log "receiver: nginx (1 worker, return 204, keep-alive); hookd: SQLite WAL, fdatasync before every 202; all on loopback, one machine"
fi
kv db "$DB"; kv nodes "$NODES"; kv encryption "$ENCRYPTION"; kv commit "$(git -C "$root" rev-parse --short HEAD)"
start_hookd --retry-schedule 5s,5m
# An endpoint created through node 1 reaches the other nodes' caches by NOTIFY (milliseconds):
# a second's pause before a part's load, so no event is posted to a node that does not know it.
settle() { if (( NODES > 1 )); then sleep 1; fi; }
WRK_T=$(( NODES > 2 ? NODES : 2 ))  # wrk's threads: at least one per node (-t2 for 1 or 2 nodes)
# post_at_rate NAME → loadgen POSTs single events to $cid at LAT_RATE/s for LAT_DUR s, one
# loadgen per node at LAT_RATE/NODES each, all at once; their outputs in NAME_loadgen[i].txt.
post_at_rate() {
  local i pids=()
  for i in "${!bases[@]}"; do
    "$LOADGEN" --url "${bases[$i]}/v1/companies/$cid/events" --method POST --body-file "$tmp/event.json" \
      --header "authorization: Bearer $ctok" --header 'content-type: application/json' \
      --rate "$(python3 -c "print($LAT_RATE / $NODES)")" --duration "$LAT_DUR" --connections 16 \
      >"$RESULTS_DIR/${1}_loadgen$( ((NODES > 1)) && echo "_node$((i + 1))").txt" 2>&1 &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || true; done
}

latency_report() {  # latency_report NGINX_LOG → percentiles of (receive time − created_at) for $cid's events
  q "SELECT id || ' ' || created_at FROM events WHERE company_id='$cid';" >"$tmp/created.txt"
  python3 - "$tmp/created.txt" "$1" <<'PY'
import sys
created = {}
for line in open(sys.argv[1]):
    i, t = line.split()
    created[i] = int(t)
import datetime
lat = []
for line in open(sys.argv[2]):
    parts = line.split()
    if len(parts) == 2 and parts[1] in created:
        lat.append((float(parts[0]) * 1000 - created[parts[1]], created[parts[1]]))
lat.sort()
def p(x):
    return lat[min(len(lat) - 1, int(x / 100 * len(lat)))][0]
# When the slowest one was accepted (UTC), to line up with the server's log.
at = datetime.datetime.fromtimestamp(lat[-1][1] / 1000, datetime.timezone.utc).strftime("%H:%M:%S.%f")[:-3]
print(f"events {len(created)} delivered {len(lat)}: p50 {p(50):.1f} p90 {p(90):.1f} p99 {p(99):.1f} p99.9 {p(99.9):.1f} max {lat[-1][0]:.1f} ms (accepted {at} UTC)")
PY
}

# ---------------------------------------------------------------- (0) yardstick
yard=0
if want yardstick; then
  out="$(wrk -t2 -c64 -d"${DUR}s" -s "$(wrk_lua none "$tmp/event1.json")" "$rx/yard")"
  echo "$out" >"$RESULTS_DIR/yardstick.txt"
  yard="$(echo "$out" | awk '/Requests\/sec/ {printf "%d", $2}')"
  log "(0) yardstick  wrk POST → nginx  -t2 -c64: $yard req/s"
  kv yardstick "$yard"
fi

# ---------------------------------------------------------------- (1) e2e, 1 endpoint
steady=0
if want e2e; then
  new_company "E2E"
  new_endpoint "$rx/e2e" 64 >/dev/null
  settle
  p0="$(pg_counters)"
  m0="$(metric_succeeded)"
  c0="$(cpu_sample)"
  t0="$(now_ms)"
  out="$(wrk -t"$WRK_T" -c64 -d"${DUR}s" -s "$(wrk_lua "$ctok" "$tmp/event1.json" nodes)" "$base/v1/companies/$cid/events")"
  echo "$out" >"$RESULTS_DIR/e2e_wrk.txt"
  sent="$(echo "$out" | field requests)"
  non2xx="$(echo "$out" | field non2xx)"
  accepted=$(( sent - non2xx ))
  if ! t1="$(wait_delivered "$cid" "$accepted" 300 "$m0" 2>"$tmp/stuck.txt")"; then stuck "(1) e2e       " e2e; t1=""; fi
fi
if want e2e && [ -n "$t1" ]; then
  c1="$(cpu_sample)"
  steady=$(( accepted * 1000 / (t1 - t0) ))
  log "(1) e2e        1 endpoint: $accepted events accepted in ${DUR}s (non-2xx $non2xx), all delivered $((t1 - t0)) ms after the first POST → $steady events/s delivered end to end = $(ratio "$steady" "$yard") × yardstick (target ≥ 10000)"
  log "               $(cpu_report "$c0" "$c1" "$accepted" "$((t1 - t0))") — the CPU per event includes ingest, the $WRK_T wrk threads are not in hookd's"
  kv e2e "$steady"; kv e2e_accepted "$accepted"; kv e2e_non2xx "$non2xx"
  if [ "$DB" = postgres ]; then
    log "               $(pg_report e2e "$p0" "$(pg_counters)" "$accepted")"
    pg_top e2e
  fi
fi

# ---------------------------------------------------------------- (2) fan-out to 50 endpoints
fanout() {  # fanout LABEL NOTE
  new_company "Fanout $1"
  for i in $(seq 50); do new_endpoint "$rx/f$i" "${FANOUT_CONC:-16}" >/dev/null; done
  settle
  batches=$(( FANOUT_EVENTS / 100 ))
  p0="$(pg_counters)"
  m0="$(metric_succeeded)"
  c0="$(cpu_sample)"
  t0="$(now_ms)"
  # One curl process posting every batch over kept-alive connections, FANOUT_CLIENTS (2) at a
  # time: the figure is hookd's, not that of one process started per batch and of the idle
  # gap between two batches. With several nodes, the batches go round-robin to them.
  local args=() b
  for b in $(seq "$batches"); do args+=(-o /dev/null "${bases[b % NODES]}/v1/companies/$cid/events/batch"); done
  codes="$(curl -sS --no-progress-meter --parallel --parallel-max "${FANOUT_CLIENTS:-2}" -X POST -H "authorization: Bearer $ctok" \
    -H 'content-type: application/json' --data-binary @"$tmp/batch.json" -w '%{http_code}\n' "${args[@]}")"
  t_ing="$(now_ms)"
  accepted_batches="$(grep -c '^202$' <<<"$codes" || true)"
  [ "$accepted_batches" = "$batches" ] || { echo "fan-out: only $accepted_batches of $batches batches accepted: $(sort <<<"$codes" | uniq -c | tr '\n' ' ')" >&2; exit 1; }
  want_n=$(( batches * 100 * 50 ))
  if ! t1="$(wait_delivered "$cid" "$want_n" 600 "$m0" 2>"$tmp/stuck.txt")"; then stuck "$1" fanout; return; fi
  c1="$(cpu_sample)"
  fan=$(( want_n * 1000 / (t1 - t0) ))
  log "$1 $((batches * 100)) events × 50 endpoints = $want_n deliveries$2: ingested in $((t_ing - t0)) ms, all delivered after $((t1 - t0)) ms → $fan deliveries/s = $(ratio "$fan" "$yard") × yardstick (target ≥ 30000)"
  log "               $(cpu_report "$c0" "$c1" "$want_n" "$((t1 - t0))")"
  kv fanout "$fan"
  if [ "$DB" = postgres ]; then
    log "               $(pg_report fanout "$p0" "$(pg_counters)" "$((batches * 100))" "$want_n")"
  fi
}
if want fanout; then
  fanout "(2) fan-out   " ""
fi

# ---------------------------------------------------------------- (3) latency at LAT_RATE/s
if want latency; then
  new_company "Latency"
  new_endpoint "$rx/lat" 32 >/dev/null
  settle
  : >"$tmp/logs/lat.log"
  lag0="$(lag_buckets)"
  sync0=(); for i in "${!bases[@]}"; do sync0+=("$(sync_buckets "${bases[$i]}")"); done
  # The page cache meanwhile: the largest writeback of dirty pages at once, and when — a WAL
  # flush (every 202's COMMIT) queued behind a few hundred MB of it waits 100–300 ms.
  ( while :; do echo "$(now_ms) $(awk '/^Dirty:/ {print $2}' /proc/meminfo)"; sleep 0.1; done ) >"$tmp/dirty.txt" &
  dirty_pid=$!
  post_at_rate latency
  sleep 3  # last deliveries and nginx's log flush
  kill "$dirty_pid" 2>/dev/null; wait "$dirty_pid" 2>/dev/null || true
  latency_report "$tmp/logs/lat.log" >"$RESULTS_DIR/latency.txt"
  log "(3) latency    ingest-to-receiver at $LAT_RATE events/s for ${LAT_DUR}s$( ((NODES > 1)) && echo ", posted to $NODES nodes"): $(cat "$RESULTS_DIR/latency.txt") (target p99 < 10 ms$( ((NODES > 1)) && echo "; < 20 ms with several nodes"))"
  kv latency_p99 "$(sed -n 's/.* p99 \([0-9.]*\) .*/\1/p' "$RESULTS_DIR/latency.txt")"
  # The part of it inside hookd: from the event's acceptance to the attempt's start, as
  # hookd_delivery_lag_seconds counts it (bucket bounds); the rest is the request on loopback.
  log "               inside hookd (hookd_delivery_lag_seconds, acceptance to send): $(lag_report "$lag0" "$(lag_buckets)")"
  for i in "${!bases[@]}"; do  # the durable COMMITs every 202 waited for (WAL flush; with several nodes, their turn)
    log "               node $((i + 1)) durable COMMITs (hookd_store_sync_seconds): $(lag_report "${sync0[$i]}" "$(sync_buckets "${bases[$i]}")" commits)"
  done
  # Did ingest keep up? The receiver's figure starts at created_at, inside hookd: events that
  # waited in loadgen for a free connection (a saturated node) are not in it, loadgen's are.
  ingest="$(cat "$RESULTS_DIR"/latency_loadgen*.txt | python3 -c "import sys, re
rs = [dict(kv.split('=') for kv in l.split()[1:]) for l in sys.stdin if l.startswith('RESULT ')]
ans, sch = sum(int(r['answered']) for r in rs), sum(int(r['scheduled']) for r in rs)
print(f\"{ans} {sch} {max(float(r['p99_ms']) for r in rs):.1f}\" if rs else '0 0 0')")"
  read -r answered scheduled ingest_p99 <<<"$ingest"
  log "               ingest: $answered of $scheduled events answered in time ($(( answered / LAT_DUR ))/s), loadgen p99 from the scheduled send $ingest_p99 ms$( (( answered < scheduled )) && echo " — SATURATED: the receiver's percentiles above leave out the wait before hookd accepted")"
  kv latency_answered "$answered"; kv latency_scheduled "$scheduled"; kv latency_ingest_p99 "$ingest_p99"
  log "               page cache: $(python3 - "$tmp/dirty.txt" "$(sysctl -n vm.dirty_background_bytes)" "$(sysctl -n vm.dirty_background_ratio)" <<'PY'
import datetime, sys
s = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 2]
drops = [(a[1] - b[1], b[0]) for a, b in zip(s, s[1:])]
mb, at = max(drops) if drops else (0, 0)
when = datetime.datetime.fromtimestamp(at / 1000, datetime.timezone.utc).strftime("%H:%M:%S.%f")[:-3] if at else "-"
dirty = f"vm.dirty_background_bytes={sys.argv[2]}" if sys.argv[2] != "0" else f"vm.dirty_background_ratio={sys.argv[3]}"
wb = f"the largest writeback at once {mb / 1024:.0f} MB, by {when} UTC" if mb > 0 else "no writeback"
print(f"up to {max(v for _, v in s) / 1024 if s else 0:.0f} MB dirty; {wb} ({dirty})")
PY
)"
fi

# ---------------------------------------------------------------- (5) isolation
if want isolation; then
  cat >"$tmp/bad.py" <<'PY'
# Three bad receivers on one port: /hang reads the request and never answers, /reset resets
# the connection (RST) once the request is read, /slow answers 200 after 5 s.
import asyncio, socket, struct, sys

async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b"\r\n", 1)[0].split(b" ")[1]
            n = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    n = int(line.split(b":")[1])
            await reader.readexactly(n)
            if path.startswith(b"/hang"):
                await asyncio.sleep(3600)
            elif path.startswith(b"/reset"):
                s = writer.get_extra_info("socket")
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return
            else:
                await asyncio.sleep(5)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
    except Exception:
        writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    async with server:
        await server.serve_forever()

asyncio.run(main())
PY
  bad_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  python3 "$tmp/bad.py" "$bad_port" & bad_pid=$!
  sleep 0.5
  new_company "Isolation"
  new_endpoint "$rx/iso" 32 >/dev/null
  for b in hang reset slow; do new_endpoint "http://127.0.0.1:$bad_port/$b" 16 >/dev/null; done
  : >"$tmp/logs/iso.log"
  post_at_rate isolation
  sleep 3  # last deliveries and nginx's log flush
  q "SELECT u || ' ' || s || ' ' || n FROM (SELECT json_extract(e.config, '$.url') AS u, d.status AS s, count(*) AS n FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id WHERE d.company_id='$cid' GROUP BY u, s) ORDER BY 1;" \
    | sed "s|http://127.0.0.1:$bad_port||; s|$rx||" | tr '\n' ';' >"$RESULTS_DIR/isolation_deliveries.txt"
  latency_report "$tmp/logs/iso.log" >"$RESULTS_DIR/isolation.txt"
  q "SELECT u || ' ' || x || ' ' || n FROM (SELECT json_extract(e.config, '$.url') AS u, coalesce(a.error, 'ok') AS x, count(*) AS n FROM attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN endpoints e ON e.id = d.endpoint_id WHERE a.company_id='$cid' AND json_extract(e.config, '$.url') LIKE '%:$bad_port/%' GROUP BY u, x) ORDER BY 1;" \
    | sed "s|http://127.0.0.1:$bad_port||" | tr '\n' ';' >"$RESULTS_DIR/isolation_bad.txt"
  kill "$bad_pid" 2>/dev/null || true
  log "(5) isolation  healthy endpoint beside hang/reset/slow receivers, $LAT_RATE events/s for ${LAT_DUR}s, ingest-to-receiver: $(cat "$RESULTS_DIR/isolation.txt")"
  log "               attempts by the bad endpoints so far (path error count): $(cat "$RESULTS_DIR/isolation_bad.txt")"
  log "               deliveries (endpoint status count): $(cat "$RESULTS_DIR/isolation_deliveries.txt")"
fi

# ---------------------------------------------------------------- (2b) fan-out through libcurl
# The same through libcurl for every request (--plain-http curl): what the built-in HTTP/1.1
# path saves, measured in the same run.
if want fanout-curl; then
  stop_hookd
  start_hookd --retry-schedule 5s,5m --plain-http curl
  fanout "(2b) fan-out  " " with --plain-http curl"
  stop_hookd
  start_hookd --retry-schedule 5s,5m
fi

# ---------------------------------------------------------------- (4) backlog
if want backlog; then
  stop_hookd
  start_hookd --retry-schedule 1h
  new_company "Backlog"
  new_endpoint "$rx/backlog" 64 >/dev/null
  nginx_stop  # the receiver is down
  rss0="$(rss_kb "$hookd_pid")"
  batches=$(( BACKLOG / 100 ))
  t0="$(now_ms)"
  url="$base/v1/companies/$cid/events/batch"
  export url ctok tmp
  # 8 clients, each POSTing its share of the batches on one keep-alive connection.
  seq 8 | xargs -P 8 -I{} sh -c 'n='"$((batches / 8))"'; i=0; cfg=$(mktemp); while [ $i -lt $n ]; do printf "url = \"%s\"\noutput = /dev/null\n" "$url" >>"$cfg"; i=$((i+1)); done; curl -sS -X POST -H "authorization: Bearer $ctok" -H "content-type: application/json" --data-binary @"$tmp/batch.json" -K "$cfg"; rm -f "$cfg"'
  t_ing="$(now_ms)"
  total="$(q "SELECT count(*) FROM deliveries WHERE company_id='$cid';")"
  n=0
  for _ in $(seq 900); do  # every first attempt failed and waits for its retry
    n="$(q "SELECT count(*) FROM deliveries WHERE company_id='$cid' AND attempts >= 1;")"
    (( n >= total )) && break
    sleep 1
  done
  rss1="$(rss_kb "$hookd_pid")"
  log "(4) backlog    $total deliveries created in $((t_ing - t0)) ms with the receiver down; first attempts failed: $n"
  log "               hookd RSS with all of them waiting in memory: $((rss1 / 1024)) MB (at start $((rss0 / 1024)) MB) (target < 300 MB)"
  stop_hookd
  sqlite3 "$tmp/hookd.db" "UPDATE deliveries SET next_attempt_at = 0 WHERE company_id='$cid' AND status='pending';"
  nginx_start  # the receiver is back
  before="$(succeeded "$cid")"
  t0="$(now_ms)"
  start_hookd --retry-schedule 1h
  peak=0
  deadline=$(( t0 + 900000 ))
  while (( $(now_ms) < deadline )); do
    r="$(rss_kb "$hookd_pid")"
    (( r > peak )) && peak=$r
    (( $(succeeded "$cid") >= total )) && break
    sleep 1
  done
  t1="$(now_ms)"
  drained=$(( $(succeeded "$cid") - before ))
  drain=$(( drained * 1000 / (t1 - t0) ))
  log "               receiver back, hookd restarted: $drained delivered in $((t1 - t0)) ms (recovery included) → $drain deliveries/s = $(ratio "$drain" "$steady") × the e2e rate (target ≥ 0.8); peak RSS while draining $((peak / 1024)) MB"
fi
# ---------------------------------------------------------------- (6) idle
# What the nodes ask of PostgreSQL with nothing to do: pg_stat_statements calls by each node's
# role, and the database's committed transactions, over IDLE_DUR s (after PG_FLUSH_WAIT s of
# quiet, so that the parts before are over and flushed).
if want idle; then
  idle_sample() {
    pg_sql postgres "SELECT string_agg(r.rolname || '=' || n, ',' ORDER BY r.rolname) FROM pg_roles r JOIN
        (SELECT userid, sum(calls) AS n FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '$PGDB') GROUP BY userid) s
        ON s.userid = r.oid WHERE r.rolname LIKE 'hookd%'"
  }
  sleep "${PG_FLUSH_WAIT:-11}"
  s0="$(idle_sample)"; x0="$(q "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database();")"; t0="$(now_ms)"
  sleep "$IDLE_DUR"
  s1="$(idle_sample)"; x1="$(q "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database();")"; t1="$(now_ms)"
  idle="$(python3 -c "import sys
a = dict(kv.split('=') for kv in sys.argv[1].split(',') if kv)
b = dict(kv.split('=') for kv in sys.argv[2].split(',') if kv)
secs, n = int(sys.argv[5]) / 1000, int(sys.argv[6])
per = {k: (int(b[k]) - int(a.get(k, 0))) / secs for k in sorted(b)}
xacts = (int(sys.argv[4]) - int(sys.argv[3]) - 1) / secs  # − 1: the benchmark's own first read
print(' '.join(f'{k} {v:.2f}' for k, v in per.items()) + f' statements/s; max {max(per.values()):.2f} per node; transactions committed {xacts:.2f}/s in all = {xacts / n:.2f}/s per node')" \
    "$s0" "$s1" "$x0" "$x1" "$((t1 - t0))" "$NODES")"
  log "(6) idle       $NODES node(s) idle for $(( (t1 - t0) / 1000 )) s: $idle"
  kv idle_stmts_per_node "$(sed -n 's/.*max \([0-9.]*\) per node.*/\1/p' <<<"$idle")"
  kv idle_xacts_per_node "$(sed -n 's/.* = \([0-9.]*\)\/s per node.*/\1/p' <<<"$idle")"
fi
if [ "$DB" = postgres ]; then
  # Every statement the nodes ran in this run, most called first; and what went wrong.
  pg_sql postgres "SELECT r.rolname || ' ' || calls || ' calls ' || round(total_exec_time::numeric, 1) || ' ms ' || rows || ' rows: ' || regexp_replace(query, '\s+', ' ', 'g')
      FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
      WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = '$PGDB') AND r.rolname LIKE 'hookd%' ORDER BY calls DESC" \
    >"$RESULTS_DIR/pg_stat_statements.txt" || true
  # Per table: rows inserted, updated (of which HOT: no index touched), dead, and vacuums.
  pg_sql "$PGDB" "SELECT relname || ': ins ' || n_tup_ins || ' upd ' || n_tup_upd || ' hot_upd ' || n_tup_hot_upd
      || ' del ' || n_tup_del || ' dead ' || n_dead_tup || ' autovacuum ' || autovacuum_count || ' autoanalyze ' || autoanalyze_count
      FROM pg_stat_user_tables ORDER BY n_tup_ins + n_tup_upd DESC" >"$RESULTS_DIR/pg_stat_user_tables.txt" || true
fi
errs="$(cat "$tmp"/hookd*.err | grep -c ' error ' || true)"
kv errors "$errs"
if (( errs > 0 )); then
  log "hookd logged $errs error lines: $(cat "$tmp"/hookd*.err | grep ' error ' | sed 's/^[^ ]* error //; s/[0-9]\{2,\}/N/g' | cut -c1-160 | sort | uniq -c | sort -rn | head -5 | tr -s ' ' | tr '\n' ';')"
fi
log "raw outputs: $RESULTS_DIR"

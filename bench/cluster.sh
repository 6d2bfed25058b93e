#!/usr/bin/env bash
# Several nodes on PostgreSQL (issue 12) against one SQLite node, in one run: bench/delivery.sh
# once per configuration — SQLite, then PostgreSQL with 1, 2 and 3 nodes — each with its own
# yardstick (wrk's raw POST rate against the same nginx, measured just before), all on one
# throwaway PostgreSQL server (bench/pg.sh; a fresh database per configuration), REPEAT times
# in that order, so that a slow moment of the machine hits every configuration alike.
#
# Per configuration: (0) yardstick, (1) e2e, (2) fan-out, (3) latency at LAT_RATE (1,000)/s
# (one loadgen per node), and on PostgreSQL the statements and commits per event of (1) and
# (2) and (6) idle: statements/s per node. The table at the end (also in summary.md) puts
# each figure beside the SQLite node's of the same repetition.
#
# Usage: bench/cluster.sh   (loopback only; stops by itself; ~13 min per repetition)
#        bench/cluster.sh --table DIR   (the table again, from a run's results.env files)
# Knobs: REPEAT=2 CONFIGS="sqlite:1 postgres:1 postgres:2 postgres:3" HOOKD=… and every knob
#        of bench/delivery.sh (DUR, FANOUT_EVENTS, LAT_RATE, LAT_DUR, IDLE_DUR, HOOKD_ARGS, PG_CONF…)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
REPEAT="${REPEAT:-2}"
CONFIGS="${CONFIGS:-sqlite:1 postgres:1 postgres:2 postgres:3}"
OUT="${RESULTS_DIR:-$here/results/cluster-$(date -u +%Y%m%dT%H%M%SZ)}"

table() {  # table DIR: one row per configuration and repetition, ratios against the same
  # repetition's SQLite node and each run's own yardstick (bench/cluster.sh --table DIR redoes it)
  python3 - "$1" "$REPEAT" "$CONFIGS" <<'PY'
import sys, os
out, repeat, configs = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
def load(rep, c):
    db, n = c.split(':')
    f = os.path.join(out, f'{rep}-{db}-{n}', 'results.env')
    if not os.path.exists(f):
        return {}
    return dict(line.rstrip('\n').split('=', 1) for line in open(f) if '=' in line)
def num(d, k):
    try:
        return float(d[k])
    except (KeyError, ValueError):
        return None
def fmt(x, spec=',.0f'):
    return '—' if x is None else format(x, spec)
def val(d, k):  # a number formatted, or what the run wrote instead ("stuck")
    x = num(d, k)
    return fmt(x) if x is not None else d.get(k, '—')
def div(a, b):
    return None if a is None or not b else a / b
print('| rep | store, nodes | yardstick req/s | e2e events/s | e2e ÷ yardstick | e2e ÷ SQLite | fan-out deliveries/s | fan-out ÷ yardstick | fan-out ÷ SQLite | latency p99 ms (answered of scheduled; ingest p99 ms) | statements / commits per event (e2e) | statements / commits per event (fan-out, 50 deliveries each) | idle statements/s per node (max) | hookd error lines |')
print('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
for rep in range(1, repeat + 1):
    base = load(rep, 'sqlite:1')
    for c in configs:
        d = load(rep, c)
        if not d:
            continue
        y, e, f = num(d, 'yardstick'), num(d, 'e2e'), num(d, 'fanout')
        pg = d.get('db') == 'postgres'
        st = lambda p: (f"{d.get(p + '_stmts_per_event', '—')} / {d.get(p + '_xacts_per_event', '—')}") if pg else '—'
        print(f"| {rep} | {d.get('db')}, {d.get('nodes')} | {fmt(y)} | {val(d, 'e2e')} | {fmt(div(e, y), '.3f')} | {fmt(div(e, num(base, 'e2e')), '.2f')} | "
              f"{val(d, 'fanout')} | {fmt(div(f, y), '.3f')} | {fmt(div(f, num(base, 'fanout')), '.2f')} | {d.get('latency_p99', '—')} ({d.get('latency_answered', '?')}/{d.get('latency_scheduled', '?')}; {d.get('latency_ingest_p99', '?')}) | {st('e2e')} | {st('fanout')} | "
              f"{d.get('idle_stmts_per_node', '—') if pg else '—'} | {d.get('errors', '—')} |")
PY
}
if [ "${1:-}" = --table ]; then table "$2"; exit 0; fi
export HOOKD="${HOOKD:-$root/build/hookd}"
[ -x "$HOOKD" ] || (cd "$root" && bash scripts/build.sh hookd)
mkdir -p "$OUT"

# shellcheck source=bench/pg.sh
. "$here/pg.sh"
trap 'cp "$PG_DIR/server.log" "$OUT/postgres.log" 2>/dev/null; pg_stop' EXIT
trap 'exit 130' INT TERM
pg_start
export PG_DIR PG_PORT PG_PID

{
  echo "bench/cluster.sh — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, commit $(git -C "$root" rev-parse --short HEAD), hookd sha256 $(sha256sum "$HOOKD" | cut -c1-12)"
  echo "REPEAT=$REPEAT CONFIGS=\"$CONFIGS\" DUR=${DUR:-15} FANOUT_EVENTS=${FANOUT_EVENTS:-2000} LAT_RATE=${LAT_RATE:-1000} LAT_DUR=${LAT_DUR:-20} IDLE_DUR=${IDLE_DUR:-20} HOOKD_ARGS=\"${HOOKD_ARGS:-}\" PG_CONF=\"${PG_CONF:-}\""
} | tee "$OUT/summary.txt"
for rep in $(seq "$REPEAT"); do
  for c in $CONFIGS; do
    db="${c%%:*}" nodes="${c#*:}"
    runs="yardstick e2e fanout latency"
    [ "$db" = postgres ] && runs+=" idle"
    echo "== repetition $rep: $db, $nodes node(s) — load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/summary.txt"
    DB="$db" NODES="$nodes" RUNS="${RUNS:-$runs}" RESULTS_DIR="$OUT/$rep-$db-$nodes" bash "$here/delivery.sh" 2>&1 \
      | tee -a "$OUT/summary.txt" || echo "== $db, $nodes node(s): delivery.sh failed (status $?); going on" | tee -a "$OUT/summary.txt"
  done
done

table "$OUT" | tee "$OUT/summary.md"
echo "raw outputs: $OUT"

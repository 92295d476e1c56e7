#!/usr/bin/env bash
# The request log under load (issue #25; a benchmark, not part of CI):
#
#   source .ci/services.sh                        # PostgreSQL on APIKEY_TEST_POSTGRES_URL
#   cargo build --release -p bench-server
#   bash examples/bench-server/request-log-load.sh   # RATE=20000 SECS=30 CONNS=32 by default
#
# bench-server on axum with one worker, keys in memory (the cache-hit path), is offered about
# RATE requests/s on /guarded by wrk for SECS seconds — once with no request log and once with
# every request logged (mode full) to a fresh PostgreSQL database. For each run it prints the rate
# served, the server's CPU time per request, PostgreSQL's CPU time per request and, with the log,
# how many records were queued, written and dropped (and the rows in the table). The difference in
# the server's CPU per request is what logging adds on the request path and in its writer task.
#
# wrk has no fixed-rate mode; its Lua delay() makes each of CONNS connections wait CONNS/RATE
# seconds between requests, so the offered rate is RATE minus the time requests take.
set -euo pipefail

rate=${RATE:-20000}
secs=${SECS:-30}
conns=${CONNS:-32}
target=${CARGO_TARGET_DIR:-target}
bin=$target/release/bench-server
[ -x "$bin" ] || { echo "build it first: cargo build --release -p bench-server" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install -y wrk)" >&2; exit 2; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
delay_ms=$(awk -v c="$conns" -v r="$rate" 'BEGIN { printf "%.4f", c * 1000 / r }')
cat >"$dir/load.lua" <<LUA
for line in io.lines([==[$dir/tokens]==]) do wrk.headers["x-api-key"] = line; break end
function delay() return $delay_ms end
LUA

# CPU ticks (user + system) of one process, or of every postgres process together.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
pg_ticks() {
  local sum=0 pid
  for pid in $(pgrep -x postgres || true); do
    sum=$((sum + $(ticks "$pid" 2>/dev/null || echo 0)))
  done
  echo "$sum"
}
hz=$(getconf CLK_TCK)

run() {
  local mode=$1 port=$((20000 + RANDOM % 20000)) extra=()
  [ "$mode" = full ] && extra=(--request-log)
  "$bin" --framework axum --backend memory --workers 1 --addr "127.0.0.1:$port" \
    --token-file "$dir/tokens" "${extra[@]}" >"$dir/server.out" 2>"$dir/server.err" &
  local pid=$!
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$port/open" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fs -H "x-api-key: $(head -1 "$dir/tokens")" "http://127.0.0.1:$port/guarded" >/dev/null
  local s0 p0 s1 p1
  s0=$(ticks "$pid"); p0=$(pg_ticks)
  wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$dir/load.lua" "http://127.0.0.1:$port/guarded" \
    >"$dir/wrk.out"
  s1=$(ticks "$pid"); p1=$(pg_ticks)
  kill -TERM "$pid"
  wait "$pid"
  local reqs rps p99
  reqs=$(awk '/requests in/ { print $1 }' "$dir/wrk.out")
  rps=$(awk '/Requests\/sec/ { print $2 }' "$dir/wrk.out")
  p99=$(awk '$1 == "99%" { print $2 }' "$dir/wrk.out")
  awk -v m="$mode" -v n="$reqs" -v r="$rps" -v p="$p99" -v s=$((s1 - s0)) -v g=$((p1 - p0)) \
    -v hz="$hz" 'BEGIN {
      printf "%-5s served %s req/s (%s requests, p99 %s): server CPU %.2f us/request, PostgreSQL CPU %.2f us/request\n",
        m, r, n, p, s * 1e6 / hz / n, g * 1e6 / hz / n }'
  grep '^request-log:' "$dir/server.out" || true
  grep -i 'dropped\|warn\|error' "$dir/server.err" | head -5 || true
}

echo "offered ~$rate requests/s for ${secs}s over $conns connections (delay ${delay_ms} ms each)"
run off
run full

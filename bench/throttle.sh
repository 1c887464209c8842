#!/usr/bin/env bash
# Throttling and latency figures for BENCHMARKS.md (issue: survive throttling).
#
# Usage: bench/throttle.sh [L] [N]     (defaults: L=50 requests/s, N=1000 rows)
#
# Runs the real binary against the real sandbox on loopback, which allows L
# requests per second (a token bucket holding one second's worth) and answers
# 429 above it, without Retry-After as Plivo documents none:
#   1. --rate L           target: wall <= 1.05 x N/L, <= 1% of requests 429
#   2. --rate 10L         target: wall <= 1.2 x N/L, <= 10% 429, every row ok
#   3. --rate 10L, with Retry-After sent by the server (informative)
#   4. 300 ms latency, no server limit, --rate 100, default concurrency:
#                         target: wall <= 1.1 x N/100
set -euo pipefail
L=${1:-50}
N=${2:-1000}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
cd "$root"
go build -o "$out/plivo-bulk" .
bin=$out/plivo-bulk
app=20372631212782780

{ echo number,app_id; for i in $(seq 1 "$N"); do printf '1202%07d,%s\n' "$i" "$app"; done; } >"$out/input.csv"
{ echo number,app_id; for i in $(seq 1 "$N"); do printf '1202%07d,\n' "$i"; done; } >"$out/numbers.csv"

# start_sandbox ARGS...: starts the sandbox, sets PLIVO_* from what it prints.
start_sandbox() {
  "$bin" sandbox --listen 127.0.0.1:0 --numbers "$out/numbers.csv" --apps "$app" "$@" >"$out/sandbox.out" 2>&1 &
  sb=$!
  for _ in $(seq 1 100); do
    grep -q 'export PLIVO_API_URL' "$out/sandbox.out" && break
    sleep 0.05
  done
  eval "$(grep -o 'export PLIVO_API_URL.*' "$out/sandbox.out")"
}
stop_sandbox() { kill -INT "$sb"; wait "$sb" || true; }

# measure NAME IDEAL_SECONDS RUN-ARGS...: one run; prints its figures.
measure() {
  local name=$1 ideal=$2; shift 2
  rm -f "$out/report.csv"
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  "$bin" run --input "$out/input.csv" --report "$out/report.csv" --progress never "$@" 2>"$out/run.err" || rc=$?
  t1=$(date +%s.%N)
  local line ok requests limited
  line=$(grep '^Summary:' "$out/run.err")
  ok=$(grep -c ',ok,' "$out/report.csv" || true)
  requests=$(sed -E 's/.*, ([0-9]+) requests,.*/\1/' <<<"$line")
  limited=$(sed -E 's/.*, ([0-9]+) answered 429.*/\1/' <<<"$line")
  awk -v name="$name" -v t0="$t0" -v t1="$t1" -v ideal="$ideal" -v req="$requests" -v lim="$limited" -v ok="$ok" -v n="$N" -v rc="$rc" 'BEGIN {
    wall = t1 - t0
    printf "%-34s wall %7.2fs  ideal %6.2fs  ratio %.3f  requests %5d  429s %4d (%.2f%%)  ok %d/%d  exit %d\n",
      name, wall, ideal, wall / ideal, req, lim, 100 * lim / req, ok, n, rc
  }'
}

echo "plivo-bulk throttling benchmark: L=$L req/s, N=$N rows, $(date -u +%F), $(nproc) cores, $(go version | cut -d' ' -f3)"
ideal=$(awk -v n="$N" -v l="$L" 'BEGIN { print n / l }')

start_sandbox --rate-limit "$L" --no-retry-after
measure "--rate L" "$ideal" --rate "$L"
measure "--rate 10L" "$ideal" --rate $((10 * L))
stop_sandbox

start_sandbox --rate-limit "$L"
measure "--rate 10L, server sends Retry-After" "$ideal" --rate $((10 * L))
stop_sandbox

start_sandbox --latency 300ms
measure "300ms latency, --rate 100" "$(awk -v n="$N" 'BEGIN { print n / 100 }')" --rate 100
stop_sandbox

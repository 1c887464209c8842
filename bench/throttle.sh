#!/usr/bin/env bash
# Throttling figures for BENCHMARKS.md: the adaptive rate against every shape
# of server limiter, measured with the real binary against the real sandbox
# on loopback.
#
# Usage: bench/throttle.sh [L] [N]     (defaults: L=50 requests/s, N=1000 rows)
#
# Shapes (bench/cmd/shapeserver's --limiter and --rate-limit: the sandbox
# behind a limiter of that shape):
#   bucket      a token bucket of L/s holding L
#   fixed 1s    L requests per aligned 1 s window
#   fixed 5s    5L requests per aligned 5 s window (Plivo documents 300/5s)
#   sliding     L requests in any trailing second
#   moving      a bucket of L/s whose limit halves for 20 s, 5 s into the run
#               (other traffic on the account)
# each with --rate L and --rate 10L, with and without Retry-After.
# Targets (issue 12), wall time against N over what the server accepts:
#   --rate L:   <= 1.03 x, <= 1% of requests answered 429
#   --rate 10L: <= 1.10 x, <= 5% 429s; every row ok, none failed for 429s
# Then: 300 ms latency, no server limit, --rate 100: wall <= 1.1 x N/100.
set -euo pipefail
L=${1:-50}
N=${2:-1000}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
cd "$root"
go build -o "$out/plivo-bulk" .
go build -o "$out/shapeserver" ./bench/cmd/shapeserver
bin=$out/plivo-bulk
app=20372631212782780

{ echo number,app_id; for i in $(seq 1 "$N"); do printf '1202%07d,%s\n' "$i" "$app"; done; } >"$out/input.csv"
{ echo number,app_id; for i in $(seq 1 "$N"); do printf '1202%07d,\n' "$i"; done; } >"$out/numbers.csv"

# shellcheck source=bench/sandbox.sh
source "$root/bench/sandbox.sh"
# sandbox ARGS...: a sandbox holding the input's numbers and its app,
# behind the limiter ARGS describe.
sandbox() { start_shaped --numbers "$out/numbers.csv" --apps "$app" "$@"; }

# measure NAME IDEAL_SECONDS RUN-ARGS...: one run; prints its figures.
measure() {
  local name=$1 ideal=$2; shift 2
  rm -f "$out/report.csv"
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  "$bin" run --yes --input "$out/input.csv" --report "$out/report.csv" --progress never "$@" 2>"$out/run.err" || rc=$?
  t1=$(date +%s.%N)
  local line ok requests limited
  line=$(grep '^Summary:' "$out/run.err")
  ok=$(grep -c ',ok,' "$out/report.csv" || true)
  requests=$(sed -E 's/.*, ([0-9]+) requests,.*/\1/' <<<"$line")
  limited=$(sed -E 's/.*, ([0-9]+) answered 429.*/\1/' <<<"$line")
  awk -v name="$name" -v t0="$t0" -v t1="$t1" -v ideal="$ideal" -v req="$requests" -v lim="$limited" -v ok="$ok" -v n="$N" -v rc="$rc" 'BEGIN {
    wall = t1 - t0
    printf "%-44s wall %7.2fs  ideal %6.2fs  ratio %.3f  requests %5d  429s %4d (%.2f%%)  ok %d/%d  exit %d\n",
      name, wall, ideal, wall / ideal, req, lim, 100 * lim / req, ok, n, rc
  }'
}

echo "plivo-bulk throttling benchmark: L=$L req/s, N=$N rows, $(date -u +%F), $(nproc) cores, $(go version | cut -d' ' -f3)"
ideal=$(awk -v n="$N" -v l="$L" 'BEGIN { print n / l }')

# shape NAME IDEAL SANDBOX-ARGS...: the four runs of one shape.
shape() {
  local name=$1 ideal=$2; shift 2
  for ra in "no Retry-After" "Retry-After"; do
    local flag=--no-retry-after
    [ "$ra" = "Retry-After" ] && flag=
    for mult in 1 10; do
      sandbox "$@" $flag
      measure "$name, --rate ${mult}L, $ra" "$ideal" --rate $((mult * L))
      stop_sandbox
    done
  done
}

# The moving limit loses 20 s x L/2 of capacity.
moving_ideal=$(awk -v n="$N" -v l="$L" 'BEGIN { print n / l + 10 }')
shape "bucket" "$ideal" --rate-limit "$L" --limiter bucket
shape "fixed 1s" "$ideal" --rate-limit "$L/1s" --limiter fixed
shape "fixed 5s" "$ideal" --rate-limit "$((5 * L))/5s" --limiter fixed
shape "sliding 1s" "$ideal" --rate-limit "$L/1s" --limiter sliding
shape "moving" "$moving_ideal" --rate-limit "$L" --limiter bucket --limit-dip 5s:20s:0.5

start_sandbox --numbers "$out/numbers.csv" --apps "$app" --rate-limit 0 --latency 300ms
measure "300ms latency, --rate 100" "$(awk -v n="$N" 'BEGIN { print n / 100 }')" --rate 100
stop_sandbox

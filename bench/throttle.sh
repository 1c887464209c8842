#!/usr/bin/env bash
# Throttling (issue 19's target): the adaptive rate at 10x the limit against
# every shape of server limiter, with the real binary against the sandbox
# behind that limiter (bench/cmd/shapeserver) on loopback.
#
# Usage: bench/throttle.sh [L] [N]     (defaults: L=50 requests/s, N=1000 rows)
#
# Shapes (shapeserver's --limiter and --rate-limit):
#   bucket      a token bucket of L/s holding L
#   fixed 1s    L requests per aligned 1 s window
#   fixed 5s    5L requests per aligned 5 s window (Plivo documents 300/5s)
#   sliding 1s  L requests in any trailing second
#   moving      a bucket of L/s whose limit halves for 20 s, 5 s into the run
#               (other traffic on the account); its ideal is N/L + 10 s
#               when the run outlasts the dip
# each at --rate 10L, without and with Retry-After on the 429s.
# Target: wall time <= 1.10 x the ideal (N/L), < 5% of requests answered 429,
# every row ok. With BENCH_TABLE=FILE, appends one line per shape to FILE
# (figure|measured|target|met, for bench/run.sh's final table).
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

# measure NAME IDEAL_SECONDS RUN-ARGS...: one run; prints its figures and
# appends "ratio pct429 ok" to $out/shape.
measure() {
  local name=$1 ideal=$2; shift 2
  rm -f "$out/report.csv" "$out/summary.json"
  local t0 t1 rc=0 requests limited ok
  t0=$(date +%s.%N)
  timeout 600 "$bin" run --yes --input "$out/input.csv" --report "$out/report.csv" --progress never \
    --summary "$out/summary.json" "$@" 2>"$out/run.err" || rc=$?
  t1=$(date +%s.%N)
  read -r requests limited ok < <(jq -r '"\(.requests) \(.rate_limited) \(.ok)"' "$out/summary.json" 2>/dev/null || echo 0 0 0)
  awk -v name="$name" -v t0="$t0" -v t1="$t1" -v ideal="$ideal" -v req="$requests" -v lim="$limited" -v ok="$ok" -v n="$N" -v rc="$rc" -v f="$out/shape" 'BEGIN {
    wall = t1 - t0; pct = req ? 100 * lim / req : 100
    met = wall / ideal <= 1.10 && pct < 5 && ok == n ? "met" : "NOT met"
    printf "%-36s wall %6.2fs  ideal %6.2fs  ratio %.3f  requests %5d  429s %4d (%.2f%%)  ok %d/%d  exit %d  %s\n",
      name, wall, ideal, wall / ideal, req, lim, pct, ok, n, rc, met
    printf "%.3f %.2f %d\n", wall / ideal, pct, ok == n >>f
  }'
}

echo "plivo-bulk throttling benchmark: L=$L req/s, N=$N rows, --rate $((10 * L)), $(date -u '+%F %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"

# shape NAME IDEAL SHAPESERVER-ARGS...: the two runs of one shape.
shape() {
  local name=$1 ideal=$2; shift 2
  : >"$out/shape"
  for ra in "no Retry-After" "Retry-After"; do
    local flag=--no-retry-after
    [[ $ra == Retry-After ]] && flag=
    start_shaped --numbers "$out/numbers.csv" --apps "$app" "$@" $flag
    measure "$name, $ra" "$ideal" --rate $((10 * L))
    stop_sandbox
  done
  [[ -n ${BENCH_TABLE:-} ]] && awk -v name="$name" '
    { r = r sep $1 "x"; p = p sep $2 "%"; sep = " / "; if ($1 > 1.10 || $2 >= 5 || !$3) bad = 1 }
    END { printf "throttling, %s, 10x the limit (no Retry-After / Retry-After)|%s, %s 429s|<= 1.10x, < 5%% 429s|%s\n", name, r, p, bad ? "**no**" : "yes" }' \
    "$out/shape" >>"$BENCH_TABLE"
  return 0
}

ideal=$(awk -v n="$N" -v l="$L" 'BEGIN { print n / l }')
shape "bucket" "$ideal" --rate-limit "$L" --limiter bucket
shape "fixed 1s" "$ideal" --rate-limit "$L/1s" --limiter fixed
shape "fixed 5s" "$ideal" --rate-limit "$((5 * L))/5s" --limiter fixed
shape "sliding 1s" "$ideal" --rate-limit "$L/1s" --limiter sliding
# The moving limit gives L/2 from 5 s to 25 s: the ideal is when the
# capacity so far reaches N.
shape "moving" "$(awk -v n="$N" -v l="$L" 'BEGIN { t = n / l; if (t > 5) t = 2 * n / l - 5; if (t > 25) t = n / l + 10; print t }')" --rate-limit "$L" --limiter bucket --limit-dip 5s:20s:0.5

#!/usr/bin/env bash
# plivo-bulk's benchmark suite: the figures of issue 19's table, each against
# its target, in one run that ends with a table (figure | measured | target |
# met). BENCHMARKS.md pastes its output.
#
# Usage: bench/run.sh [--quick] [PART...]
#
#   (no flag)  the full suite, about 15 to 20 minutes on 2 cores
#   --quick    small sizes: checks that the suite works; not the figures to quote
#   PART...    only these parts (numbers below), e.g. bench/run.sh 2 3
#
# Parts, in order:
#   1. Peak RSS, 1,000,000 alias-only rows on a 1,000,000-number account, run
#      reading by page; the same with --undo; that run resumed (bench/read.sh
#      --rss-only)                                            target <= 128 MB
#   2. CPU per row at --rate 0: plivo-bulk run against a bare net/http loop
#      (bench/cmd/bareloop), the same POSTs to bench/cmd/fastserver at the
#      same concurrency, alternated; user + system CPU time of each process
#      per row, median of the ratios                          target <= 2x
#   3. Pacing: --rate 50 and --rate 200 with --adaptive=false (the limiter
#      alone) against fastserver, which has no limit; the rate is measured at
#      the server from the arrival of every POST               target within 1%
#   4. Throttling at 10x the limit, every limiter shape (bench/throttle.sh)
#                                                 target <= 1.10x N/L, < 5% 429s
#   5. Requests a row where the tool reads the account, and their wall time
#      at the account's limit (bench/read.sh --no-rss)
#   6. Code: Go lines (bench/ aside), the largest non-test file, and the wall
#      time of `go test -count=1 ./...` (the build cached by a run of no test)
#
# Everything runs on 127.0.0.1 (ports picked by the kernel); every command has
# a time limit and every server started here is stopped on exit. Needs Go,
# jq and GNU time (/usr/bin/time). The machine's load is printed with each
# part: timing figures move with it, memory and request counts do not.
set -euo pipefail

quick=0
[[ ${1:-} == --quick ]] && { quick=1; shift; }
[[ ${1:-} == -h || ${1:-} == --help ]] && { sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
parts=" $* "
want() { [[ $parts == "  " || $parts == *" $1 "* ]]; }

if ((quick)); then
  RSS_ROWS=100000 CPU_N=5000 REPS=3 PACE_SECONDS=5 THROTTLE_ARGS="50 300"
else
  RSS_ROWS=1000000 CPU_N=20000 REPS=5 PACE_SECONDS=20 THROTTLE_ARGS="50 1000"
fi
CPU_C="8 64"
export PLIVO_AUTH_ID=MABENCHMARKBENCHMARK PLIVO_AUTH_TOKEN=bench-token
unset PLIVO_API_URL
[[ -x /usr/bin/time ]] || { echo "bench/run.sh: needs GNU time (/usr/bin/time; apt-get install time)" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/plivo-bulk-bench.XXXXXX")
export BENCH_TABLE=$work/table
: >"$BENCH_TABLE"
server_pid=""
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$root"

section() { printf '\n== %s   [%s, load %s]\n' "$*" "$(date -u +%H:%M:%S)" "$(cut -d' ' -f1-3 /proc/loadavg)"; }
show() { printf '$ %s\n' "$*"; }
row() { printf '%s|%s|%s|%s\n' "$@" >>"$BENCH_TABLE"; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# make_input N FILE: N numbers 1202xxxxxxx with one app, as bareloop sends them.
make_input() {
  awk -v n="$1" 'BEGIN { print "number,app_id"; for (i = 1; i <= n; i++) printf "1202%07d,20372631212782780\n", i }' >"$2"
}
# start_server [ARGS...]: fastserver on a free loopback port; sets URL.
start_server() {
  "$work/fastserver" -listen 127.0.0.1:0 -max-life 15m "$@" >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  URL=""
  for _ in $(seq 1 200); do
    URL=$(head -n 1 "$work/server.out" 2>/dev/null || true)
    [[ $URL == http://* ]] && return 0
    sleep 0.05
  done
  echo "fastserver did not start: $(cat "$work/server.err")" >&2
  exit 1
}
# stop_server: stops it; what it prints on exit stays in $work/server.out.
stop_server() { kill -INT "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; server_pid=""; }
tool() { timeout 600 "$work/plivo-bulk" run --yes --api-url "$URL" --progress never --force "$@"; }

echo "plivo-bulk benchmark suite, issue 19's targets$( ((quick)) && echo ' (QUICK: not the figures to quote)')"
echo "date: $(date -u '+%F %H:%M UTC')  machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)  go: $(go version | cut -d' ' -f3)"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
echo "uptime: $(uptime)"
go build -o "$work/plivo-bulk" .
go build -o "$work/fastserver" ./bench/cmd/fastserver
go build -o "$work/bareloop" ./bench/cmd/bareloop

if want 1; then
  section "1. Peak RSS: bench/read.sh --rss-only"
  show RSS_ROWS="$RSS_ROWS" bench/read.sh --rss-only
  RSS_ROWS=$RSS_ROWS timeout 3600 bash bench/read.sh --rss-only
fi

if want 2; then
  section "2. CPU per row at --rate 0: plivo-bulk against a bare net/http loop ($CPU_N rows, $REPS alternated runs each)"
  make_input "$CPU_N" "$work/cpu.csv"
  start_server
  show "/usr/bin/time -f '%U %S'" plivo-bulk run --input cpu.csv --report report.csv --rate 0 --concurrency C --progress never --api-url URL --force
  show "/usr/bin/time -f '%U %S'" bareloop -url URL -n "$CPU_N" -c C
  for c in $CPU_C; do
    : >"$work/ratios"
    for rep in $(seq 1 "$REPS"); do
      order="tool bare"
      ((rep % 2 == 0)) && order="bare tool"
      for who in $order; do
        if [[ $who == tool ]]; then
          rc=0
          /usr/bin/time -f '%U %S' -o "$work/cpu-tool" timeout 300 "$work/plivo-bulk" run --yes --api-url "$URL" --progress never \
            --force --input "$work/cpu.csv" --report "$work/cpu-report.csv" --rate 0 --concurrency "$c" 2>"$work/tool.err" || rc=$?
          ok=$(grep -c ',ok,' "$work/cpu-report.csv" || true)
          ((rc == 0 && ok == CPU_N)) || { echo "plivo-bulk failed (exit $rc, $ok rows ok):"; tail -n 5 "$work/tool.err"; }
        else
          /usr/bin/time -f '%U %S' -o "$work/cpu-bare" timeout 300 "$work/bareloop" -url "$URL" -n "$CPU_N" -c "$c" >/dev/null ||
            echo "bareloop failed"
        fi
      done
      awk -v c="$c" -v rep="$rep" -v n="$CPU_N" -v order="$order" -v r="$work/ratios" '
        FNR == 1 && NR == 1 { t = 1e6 * ($1 + $2) / n } FNR == 1 && NR > 1 { b = 1e6 * ($1 + $2) / n }
        END { printf "C=%-3d run %d (%-9s): plivo-bulk %6.1f us CPU/row   bare loop %6.1f us CPU/row   ratio %.2f\n", c, rep, order, t, b, t / b
              print t / b >>r }' "$work/cpu-tool" "$work/cpu-bare"
    done
    m=$(median <"$work/ratios")
    met=$(awk -v m="$m" 'BEGIN { print m <= 2 ? "yes" : "**no**" }')
    printf 'C=%d: median ratio %.2f   target <= 2x: %s\n' "$c" "$m" "$met"
    row "CPU per row at --rate 0 against the bare loop, --concurrency $c (median of $REPS)" "$(printf '%.2fx' "$m")" "<= 2x" "$met"
  done
  stop_server
fi

if want 3; then
  section "3. Pacing: --rate R --adaptive=false against a server without a limit ($PACE_SECONDS s of requests each)"
  show plivo-bulk run --input N.csv --report report.csv --rate R --adaptive=false --progress never --api-url URL --force
  echo "rate = (requests - 1) / (last arrival - first) at the server; worst window = most arrivals in any [t, t+1s)"
  for r in 50 200; do
    n=$((r * PACE_SECONDS))
    make_input "$n" "$work/pace.csv"
    start_server -record $((n + 100))
    rc=0
    tool --input "$work/pace.csv" --report "$work/pace-report.csv" --rate "$r" --adaptive=false 2>"$work/pace.err" || rc=$?
    stop_server
    awk -v r="$r" -v rc="$rc" -v t="$BENCH_TABLE" '
      $1 == "recorded" { rec = $2 } $1 == "rate" { rate = $2 } $1 == "worst_window" { worst = $2 }
      END {
        dev = 100 * (rate - r) / r; met = dev <= 1 && dev >= -1 && rc == 0 ? "yes" : "**no**"
        printf "--rate %-4d %5d requests: achieved %8.3f/s (%+.2f%%)   worst 1 s window %d   exit %d   target within 1%%: %s\n", r, rec, rate, dev, worst, rc, met
        printf "pacing at --rate %d (--adaptive=false)|%+.2f%%|within 1%%|%s\n", r, dev, met >>t
      }' "$work/server.out"
  done
fi

if want 4; then
  section "4. Throttling: bench/throttle.sh $THROTTLE_ARGS"
  show bench/throttle.sh $THROTTLE_ARGS
  # shellcheck disable=SC2086 # a list
  timeout 1800 bash bench/throttle.sh $THROTTLE_ARGS
fi

if want 5; then
  section "5. Requests a row: bench/read.sh --no-rss"
  show bench/read.sh --no-rss
  timeout 1800 bash bench/read.sh --no-rss
fi

if want 6; then
  section "6. Code: lines and test time"
  nontest=$(find . -name '*.go' -not -path './bench/*' -not -name '*_test.go' -print0 | xargs -0 cat | wc -l)
  tests=$(find . -name '*_test.go' -not -path './bench/*' -print0 | xargs -0 cat | wc -l)
  read -r largest largest_file < <(find . -name '*.go' -not -path './bench/*' -not -name '*_test.go' -print0 | xargs -0 wc -l | grep -v ' total$' | sort -rn | head -n 1)
  echo "non-test Go lines (bench/ aside) $nontest; test Go lines $tests; largest non-test file $largest_file, $largest lines"
  row "non-test Go lines, bench/ aside" "$nontest" "<= 6,000" "$( ((nontest <= 6000)) && echo yes || echo '**no**')"
  row "test Go lines, bench/ aside" "$tests" "<= 9,000" "$( ((tests <= 9000)) && echo yes || echo '**no**')"
  row "largest non-test file ($largest_file)" "$largest lines" "<= 400 lines" "$( ((largest <= 400)) && echo yes || echo '**no**')"
  show go test -count=1 ./...
  timeout 900 go test -count=1 -run '^$' ./... >/dev/null 2>&1 || true # builds the test binaries
  t0=$(date +%s.%N)
  rc=0
  timeout 900 go test -count=1 ./... >"$work/test.out" 2>&1 || rc=$?
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  grep -E '^(ok|FAIL|---)' "$work/test.out" | sort -t$'\t' -k3 -g | tail -n 4
  echo "wall ${secs} s, exit $rc (the packages run in parallel on $(nproc) cores)"
  row "\`go test -count=1 ./...\` on $(nproc) cores (build cached)" "$secs s$( ((rc)) && echo ", exit $rc")" "<= 10 s" \
    "$(awk -v s="$secs" -v rc="$rc" 'BEGIN { print s <= 10 && !rc ? "yes" : "**no**" }')"
fi

echo
echo "done: $(date -u '+%F %H:%M UTC'), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| figure | measured | target | met |"
echo "|---|---|---|---|"
awk -F'|' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }' "$BENCH_TABLE"

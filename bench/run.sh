#!/usr/bin/env bash
# plivo-bulk's benchmark suite: every figure of BENCHMARKS.md, in one run.
#
# Usage: bench/run.sh [--quick]
#
#   (no flag)  the full suite, about 4 to 6 minutes on 2 cores
#   --quick    small sizes and few repetitions, about 2 minutes: checks that
#              the suite works; its figures are not the ones to quote
#
# With BENCH_KEEP=DIR, the CPU profiles (pipeline.cpu with its bench.test
# binary, perf.data) are copied to DIR for a closer look.
#
# Parts, in order (each prints its command, its figures and its target):
#   1. Go benchmarks of the per-row hot path (-benchmem)
#   2. CPU profile of the whole per-row path over 1,000,000 rows, in process
#   3. Overhead: plivo-bulk run --rate 0 vs a bare net/http loop, same POSTs,
#      same concurrency, alternated, median ratio              target >= 0.8
#   4. Memory: peak RSS for 10,000 / 100,000 / 1,000,000 rows  target <= 64 MB
#      at 1M and <= 1.5 x the 10,000-row figure; plus a resume of the 1M
#      report, and a perf profile of the 1M run when perf is installed
#   5. Pacing: --rate 50 and 200 against an unlimited server  target within
#      1% of R, no one-second window above R + ceil(R/20)
#   6. Throttled: bench/throttle.sh
#
# Everything runs on loopback (127.0.0.1) against bench/cmd/fastserver, which
# answers at once; every command has a time limit and every server started
# here is stopped on exit. Needs Go; installs GNU time with apt-get when
# /usr/bin/time is missing and it can (else it reads VmHWM from /proc).
set -euo pipefail

quick=0
case "${1:-}" in
"") ;;
--quick) quick=1 ;;
-h | --help)
  sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
  ;;
*)
  echo "usage: bench/run.sh [--quick]" >&2
  exit 2
  ;;
esac

if ((quick)); then
  BENCHTIME=200ms PIPE_ROWS=100000
  OVERHEAD_N=5000 OVERHEAD_C="8" REPS=3
  MEM_ROWS="10000 100000"
  PACE_RATES="50 200" PACE_SECONDS=5
  THROTTLE_ARGS="50 200"
else
  BENCHTIME=1s PIPE_ROWS=1000000
  OVERHEAD_N=20000 OVERHEAD_C="8 64" REPS=7
  MEM_ROWS="10000 100000 1000000"
  PACE_RATES="50 200" PACE_SECONDS=20
  THROTTLE_ARGS=""
fi
APP=20372631212782780
GNU_TIME=${GNU_TIME:-/usr/bin/time} # a path that is not there tests the /proc fallback
export PLIVO_AUTH_ID=MABENCHMARKBENCHMARK PLIVO_AUTH_TOKEN=bench-token
unset PLIVO_API_URL

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/plivo-bulk-bench.XXXXXX")
server_pid=""
cleanup() {
  if [[ -n ${BENCH_KEEP:-} ]]; then
    mkdir -p "$BENCH_KEEP" && cp "$work"/pipeline.cpu "$work"/bench.test "$work"/perf.data "$BENCH_KEEP"/ 2>/dev/null || true
  fi
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$root"

now() { date +%s.%N; }
section() { printf '\n== %s   [load %s]\n' "$*" "$(cut -d' ' -f1 /proc/loadavg)"; }
# show CMD...: prints the command as run, for BENCHMARKS.md.
show() { printf '$ %s\n' "$*"; }
# verdict OK-EXPR: "met" or "NOT met", by awk.
verdict() { awk "BEGIN { exit !($1) }" && echo "met" || echo "NOT met"; }
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# make_input N FILE: the suite's input, N numbers 1202xxxxxxx with one app.
make_input() {
  awk -v n="$1" -v app="$APP" 'BEGIN { print "number,app_id"; for (i = 1; i <= n; i++) printf "1202%07d,%s\n", i, app }' >"$2"
}

# start_server [ARGS...]: starts fastserver on a free loopback port; sets URL.
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
# stop_server: stops it; what it printed on exit stays in $work/server.out.
stop_server() {
  kill -INT "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# tool ARGS...: plivo-bulk run against the fast server, bounded in time.
tool() {
  timeout 600 "$work/plivo-bulk" run --yes --api-url "$URL" --progress never --force "$@"
}

# cpu_time OUT CMD...: runs CMD; writes its "user_s sys_s" to OUT (or "? ?"
# without GNU time), and returns CMD's exit code.
cpu_time() {
  local out=$1
  shift
  if [[ -x $GNU_TIME ]]; then
    "$GNU_TIME" -f '%U %S' -o "$out" "$@"
  else
    echo "? ?" >"$out"
    "$@"
  fi
}

# peak_rss OUT CMD...: runs CMD; writes "maxrss_kB wall_s exit" to OUT. The
# array RSS_WRAP, when set, is put before GNU time (perf record --), so that
# the peak is CMD's alone.
RSS_WRAP=()
peak_rss() {
  local out=$1 rc=0
  shift
  if [[ -x $GNU_TIME ]]; then
    "${RSS_WRAP[@]}" "$GNU_TIME" -f '%M %e' -o "$out.time" "$@" || rc=$?
    echo "$(tail -n 1 "$out.time") $rc" >"$out"
  else # VmHWM, the high-water mark, read until the process is gone
    local t0 hwm=0 h pid
    t0=$(now)
    "$@" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
      h=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
      [[ -n $h ]] && hwm=$h
      sleep 0.01
    done
    wait "$pid" || rc=$?
    echo "$hwm $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }') $rc" >"$out"
  fi
}

if [[ ! -x /usr/bin/time ]] && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  { apt-get install -y time || { apt-get update && apt-get install -y time; }; } >/dev/null 2>&1 || true
fi

echo "plivo-bulk benchmark suite$( ((quick)) && echo ' (QUICK: not the figures to quote)')"
echo "date: $(date -u '+%F %H:%M UTC')  machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "go: $(go version | cut -d' ' -f3-)  commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
if awk -v l="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN { exit !(l > 1) }'; then
  echo "WARNING: something else is using the CPU (1-minute load above 1): the figures will be noisy"
fi

go build -o "$work/plivo-bulk" .
go build -o "$work/fastserver" ./bench/cmd/fastserver
go build -o "$work/bareloop" ./bench/cmd/bareloop

# ---------------------------------------------------------------------------
section "1. Go benchmarks: the per-row hot path"
show go test -run '^$' -bench "'Input_Each|OpenInput|NormalizeNumber|Writer_Write|Completed_Has'" -benchmem -benchtime "$BENCHTIME" ./batch ./batch/input ./report
timeout 300 go test -run '^$' -bench 'Input_Each|OpenInput|NormalizeNumber|Writer_Write|Completed_Has' \
  -benchmem -benchtime "$BENCHTIME" ./batch ./batch/input ./report | grep -E '^(Benchmark|ok|FAIL)'

# ---------------------------------------------------------------------------
section "2. CPU profile: the whole per-row path over $PIPE_ROWS rows, in process (no HTTP)"
show BENCH_ROWS="$PIPE_ROWS" go test -run "'^\$'" -bench Pipeline -benchtime 1x -benchmem -cpuprofile pipeline.cpu ./bench
BENCH_ROWS=$PIPE_ROWS timeout 300 go test -run '^$' -bench Pipeline -benchtime 1x -benchmem \
  -cpuprofile "$work/pipeline.cpu" -o "$work/bench.test" ./bench | grep -E '^(Benchmark|ok|FAIL)'
show go tool pprof -top -cum -nodecount 28 bench.test pipeline.cpu
go tool pprof -top -cum -nodecount 28 "$work/bench.test" "$work/pipeline.cpu" 2>/dev/null | sed -n '/flat%/,$p'

# ---------------------------------------------------------------------------
section "3. Overhead: plivo-bulk run --rate 0 vs a bare net/http loop ($OVERHEAD_N rows, $REPS alternated runs each)"
make_input "$OVERHEAD_N" "$work/overhead.csv"
start_server
echo "rows/s = rows / wall time of the whole process (start-up, input check, credentials check and report included);"
echo "CPU = user + system time of the process (the server's is not counted), per row"
show plivo-bulk run --input overhead.csv --report overhead-report.csv --rate 0 --concurrency C --progress never --api-url URL --force
show bareloop -url URL -n "$OVERHEAD_N" -c C
overhead_fail=0
for c in $OVERHEAD_C; do
  : >"$work/ratios"
  : >"$work/cpus"
  for rep in $(seq 1 "$REPS"); do
    order="tool bare"
    ((rep % 2 == 0)) && order="bare tool"
    for who in $order; do
      t0=$(now)
      if [[ $who == tool ]]; then
        rc=0
        cpu_time "$work/cpu-tool" "$work/plivo-bulk" run --yes --api-url "$URL" --progress never --force \
          --input "$work/overhead.csv" --report "$work/overhead-report.csv" --rate 0 --concurrency "$c" 2>"$work/tool.err" || rc=$?
        t_tool=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')
        ok=$(grep -c ',ok,' "$work/overhead-report.csv" || true)
        if ((rc != 0 || ok != OVERHEAD_N)); then
          echo "plivo-bulk failed (exit $rc, $ok rows ok):" >&2
          tail -n 5 "$work/tool.err" >&2
          overhead_fail=1
        fi
      else
        cpu_time "$work/cpu-bare" timeout 300 "$work/bareloop" -url "$URL" -n "$OVERHEAD_N" -c "$c" >"$work/bare.out" || overhead_fail=1
        t_bare=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')
      fi
    done
    read -r tu ts <"$work/cpu-tool"
    read -r bu bs <"$work/cpu-bare"
    awk -v c="$c" -v rep="$rep" -v n="$OVERHEAD_N" -v tt="$t_tool" -v tb="$t_bare" -v order="$order" \
      -v tu="$tu" -v ts="$ts" -v bu="$bu" -v bs="$bs" 'BEGIN {
      ct = tu == "?" ? "  n/a" : sprintf("%5.1f", 1e6 * (tu + ts) / n)
      cb = bu == "?" ? "  n/a" : sprintf("%5.1f", 1e6 * (bu + bs) / n)
      printf "C=%-3d run %d (%-9s): plivo-bulk %7.0f rows/s %s us CPU/row   bare loop %7.0f rows/s %s us CPU/row   ratio %.3f\n",
        c, rep, order, n / tt, ct, n / tb, cb, tb / tt
    }'
    awk -v tt="$t_tool" -v tb="$t_bare" 'BEGIN { print tb / tt }' >>"$work/ratios"
    awk -v n="$OVERHEAD_N" -v tu="$tu" -v ts="$ts" -v bu="$bu" -v bs="$bs" 'BEGIN { print 1e6 * (tu + ts) / n, 1e6 * (bu + bs) / n }' >>"$work/cpus"
  done
  m=$(median <"$work/ratios")
  cpus=""
  [[ -x $GNU_TIME ]] && cpus="   median CPU/row: plivo-bulk $(cut -d' ' -f1 "$work/cpus" | median) us, bare loop $(cut -d' ' -f2 "$work/cpus" | median) us"
  echo "C=$c: median ratio $(printf '%.3f' "$m")   target >= 0.8: $(verdict "$m >= 0.8")$cpus"
done
stop_server
((overhead_fail)) && echo "WARNING: a run failed; the ratios above are not valid"

# ---------------------------------------------------------------------------
section "4. Memory: peak RSS of plivo-bulk run --rate 0 (default concurrency)"
biggest=${MEM_ROWS##* }
make_input "$biggest" "$work/mem-$biggest.csv"
start_server
show /usr/bin/time -f %M plivo-bulk run --input N.csv --report report.csv --rate 0 --progress never --api-url URL --force
perf_ok=0
command -v perf >/dev/null && [[ -x $GNU_TIME ]] && perf_ok=1
for n in $MEM_ROWS; do
  [[ $n != "$biggest" ]] && head -n $((n + 1)) "$work/mem-$biggest.csv" >"$work/mem-$n.csv"
  RSS_WRAP=()
  if ((perf_ok)) && [[ $n == "$biggest" ]]; then
    # perf records this run (and GNU time, which it runs) at 499 Hz; time
    # reports the peak RSS of plivo-bulk alone.
    RSS_WRAP=(perf record -q -F 499 -g -o "$work/perf.data" --)
  fi
  peak_rss "$work/rss" "$work/plivo-bulk" run --yes --api-url "$URL" --progress never --force \
    --input "$work/mem-$n.csv" --report "$work/mem-report.csv" --rate 0 2>"$work/mem.err"
  RSS_WRAP=()
  read -r kb wall rc <"$work/rss"
  ok=$(grep -c ',ok,' "$work/mem-report.csv" || true)
  echo "$n $kb" >>"$work/mem"
  awk -v n="$n" -v kb="$kb" -v wall="$wall" -v ok="$ok" -v rc="$rc" 'BEGIN {
    printf "%8d rows: peak RSS %6.1f MB   wall %7.2f s (%6.0f rows/s)   ok %d   exit %d\n", n, kb / 1024, wall, n / wall, ok, rc
  }'
done
small=$(awk '$1 == 10000 { print $2 }' "$work/mem")
big=$(awk -v b="$biggest" '$1 == b { print $2 }' "$work/mem")
echo "$biggest rows / 10000 rows: $(awk -v a="$big" -v b="$small" 'BEGIN { printf "%.2f", a / b }') x"
if [[ $biggest == 1000000 ]]; then
  echo "target <= 64 MB at 1,000,000 rows: $(verdict "$big / 1024 <= 64")   target <= 1.5 x the 10,000-row figure: $(verdict "$big <= 1.5 * $small")"
fi
# Resume of the biggest run's report: every row is already ok, so nothing is
# sent, and the run holds a map entry per ok row for the whole send pass.
show /usr/bin/time -f %M plivo-bulk run --input N.csv --report report.csv --resume --rate 0 --progress never --api-url URL
peak_rss "$work/rss" "$work/plivo-bulk" run --yes --api-url "$URL" --progress never --resume \
  --input "$work/mem-$biggest.csv" --report "$work/mem-report.csv" --rate 0 2>"$work/mem.err"
read -r kb wall rc <"$work/rss"
awk -v n="$biggest" -v kb="$kb" -v wall="$wall" -v rc="$rc" 'BEGIN {
  printf "%8d rows, resumed with every row already ok: peak RSS %6.1f MB   wall %6.2f s   exit %d\n", n, kb / 1024, wall, rc
}'
stop_server
if ((perf_ok)) && [[ -s $work/perf.data ]]; then
  echo
  echo "perf profile of the $biggest-row run (plivo-bulk's samples only): share of its CPU spent in each function"
  echo "and everything it calls (perf --children), for the goroutines that make up a run:"
  show perf report --children --sort sym --comm plivo-bulk -g none
  perf report -i "$work/perf.data" --stdio --children --sort sym --comm plivo-bulk -g none --percent-limit 0.2 2>/dev/null >"$work/perf.txt" || true
  awk '
    BEGIN {
      m = "github.com/plivo-bulk/plivo-bulk/"
      n = 0
      want[++n] = m "client.(*Client).UpdateNumber";     label[n] = "a worker'"'"'s request: build it, send it, wait, read and decode the answer"
      want[++n] = "net/http.(*persistConn).writeLoop";    label[n] = "net/http connection goroutines: writing requests"
      want[++n] = "net/http.(*persistConn).readLoop";     label[n] = "net/http connection goroutines: reading answers"
      want[++n] = m "batch.(*Input).scan.func2";          label[n] = "gocsv decoding goroutine (all passes over the input)"
      want[++n] = m "batch.(*Input).scan";                label[n] = "input rows: validation, duplicates, hand-off to the pool"
      want[++n] = m "batch.Run.func1";                    label[n] = "result consumer: report writer (a flushed write per row), summary"
      want[++n] = m "batch.(*pacer).run";                 label[n] = "pacer: one permit per request"
      want[++n] = "runtime.gcBgMarkWorker";               label[n] = "garbage collector (background marking)"
      want[++n] = "runtime.mcall";                        label[n] = "scheduler: goroutine switches (parking, waking)"
      for (i = 1; i <= n; i++) idx[want[i]] = i
    }
    $3 == "[.]" && ($4 in idx) { got[idx[$4]] = $1 }
    END { for (i = 1; i <= n; i++) printf "%8s  %s\n", (i in got ? got[i] : "<0.2%"), label[i] }' "$work/perf.txt"
  echo "top functions by their own samples (perf --no-children):"
  perf report -i "$work/perf.data" --stdio --no-children --sort sym --comm plivo-bulk -g none --percent-limit 1.5 2>/dev/null |
    awk '$1 ~ /%$/' | head -n 12
fi

# ---------------------------------------------------------------------------
section "5. Pacing precision: --rate R against a server without a limit ($PACE_SECONDS s of requests each)"
show plivo-bulk run --input N.csv --report report.csv --rate R [--adaptive=false] --progress never --api-url URL --force
echo "measured at the server, from the arrival time of every POST; worst window = the most arrivals in any [t, t+1s)"
echo "--adaptive=false measures the limiter alone (the targets); the default adaptive run starts at"
echo "min(R, 60) and doubles every 0.5 s until the first 429 (a slow start), which costs the first second"
for r in $PACE_RATES; do
  n=$((r * PACE_SECONDS))
  make_input "$n" "$work/pace.csv"
  for adaptive in false true; do
    start_server -record $((n + 100))
    rc=0
    tool --input "$work/pace.csv" --report "$work/pace-report.csv" --rate "$r" --adaptive="$adaptive" 2>"$work/pace.err" || rc=$?
    stop_server
    burst=$(((r + 19) / 20))
    awk -v r="$r" -v n="$n" -v burst="$burst" -v rc="$rc" -v adaptive="$adaptive" '
      $1 == "recorded" { rec = $2 } $1 == "rate" { rate = $2 } $1 == "worst_window" { worst = $2 } $1 == "worst_window_at_s" { at = $2 }
      $1 == "per_second" { $1 = ""; secs = $0 }
      END {
        dev = 100 * (rate - r) / r
        printf "--rate %-4d --adaptive=%-5s %5d requests: achieved %8.3f/s (%+.2f%%)   worst 1 s window %d, from %.2f s (limit R + burst = %d)   exit %d\n", r, adaptive, rec, rate, dev, worst, at, r + burst, rc
        printf "            per second:%s\n", secs
        if (adaptive == "false")
          printf "            target within 1%%: %s   target no window above %d: %s\n", (dev <= 1 && dev >= -1) ? "met" : "NOT met", r + burst, worst <= r + burst ? "met" : "NOT met"
        else
          printf "            (informative)   no window above %d: %s\n", r + burst, worst <= r + burst ? "met" : "NOT met"
      }' "$work/server.out"
  done
done

# ---------------------------------------------------------------------------
section "6. Throttled: bench/throttle.sh $THROTTLE_ARGS"
show bench/throttle.sh $THROTTLE_ARGS
# shellcheck disable=SC2086 # THROTTLE_ARGS is a list
timeout 900 bash bench/throttle.sh $THROTTLE_ARGS

echo
echo "done: $(date -u '+%F %H:%M UTC'), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

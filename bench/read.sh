#!/usr/bin/env bash
# Requests a row when the tool reads the account (issue 11), with the wall
# time they cost at the account's limit, and the peak RSS of a million rows
# read by page (issue 19).
#
# Usage: bench/read.sh [--no-rss | --rss-only]
#        (RSS_ROWS=N sizes the RSS runs; default 1,000,000)
#
# Runs the real binary against the real sandbox (`plivo-bulk sandbox`, a
# process of its own on 127.0.0.1, port picked by the kernel), a fresh one
# for every command, and reads each command's --summary file (requests:
# every request of the command, the account and application checks
# included; read.*: how the settings were learned).
#
# Requests a row: each scenario with --read each (one read a row, the
# baseline) and the default --read auto, against the sandbox's default limit
# (Plivo's 300/5s) at --rate 60, the account's limit, so that the wall time
# is what the requests cost (ideal: requests / 60 s):
#   1. rename: 500 alias-only rows on a 600-number account   target <= 1.10 requests a row
#   2. migration: 500 rows, --undo --skip-unchanged, 100 already
#      in their target state, on a 600-number account        target <= 0.90
#   3. plan of a 2,000-number account (every number)         target <= 0.06
#   4. 10 rows on a 100,000-number account (auto only): plan  target <= 15 requests in all
#      (auto reads one by one), and an alias-only run         (baseline)
# Peak RSS (GNU time; the sandbox, another process, is not counted) of
# 1,000,000 alias-only rows on a 1,000,000-number account, --read page,
# --rate 0, against a sandbox without a limit:
#   run                                                        target <= 128 MB
#   run --undo                                                 target <= 128 MB
#   the --undo run resumed (--resume, every row already ok)    no target
# With BENCH_TABLE=FILE, appends each figure with a target to FILE
# (figure|measured|target|met, for bench/run.sh's final table).
set -euo pipefail
rss=1
[[ ${1:-} == --no-rss ]] && rss=0
[[ ${1:-} == --rss-only ]] && rss=2
M=${RSS_ROWS:-1000000}
table=${BENCH_TABLE:-/dev/null}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
sb=
cleanup() {
  if [[ -n $sb ]]; then kill -INT "$sb" 2>/dev/null || true; wait "$sb" 2>/dev/null || true; fi
  rm -rf "$out"
}
trap cleanup EXIT
cd "$root"
[[ -x /usr/bin/time ]] || { echo "bench/read.sh: needs GNU time (/usr/bin/time; apt-get install time)" >&2; exit 2; }
timeout 300 go build -o "$out/plivo-bulk" .
bin=$out/plivo-bulk
start_app=20372631212782779
app_a=20372631212782780
def_app=20372631212782700

# numbers FILE M: an account of M numbers 1202xxxxxxx on start_app, alias "old".
numbers() {
  awk -v m="$2" -v app="$start_app" 'BEGIN { print "number,app_id,alias"; for (i = 0; i < m; i++) printf "1202%07d,%s,old\n", i, app }' >"$1"
}

# shellcheck source=bench/sandbox.sh
source "$root/bench/sandbox.sh"
# sandbox NUMBERS-FILE [ARGS...]: a fresh sandbox holding those numbers.
sandbox() {
  local nums=$1; shift
  start_sandbox --numbers "$nums" --apps "$start_app,$app_a" --default-app-on-missing --default-app "$def_app" "$@"
}

# measure NAME TARGET NUMBERS-FILE COMMAND ARGS...: runs the command at
# --rate 60 on a fresh sandbox with its default limit and prints one line of
# the table. TARGET is row:X (at most X requests a row), all:X (at most X
# requests in all) or - (a baseline).
measure() {
  local name=$1 target=$2 nums=$3; shift 3
  sandbox "$nums"
  rm -f "$out"/report.csv "$out"/undo.csv "$out"/plan.csv "$out"/summary.json
  local rc=0 t0 t1
  t0=$(date +%s.%N)
  timeout 600 "$bin" "$@" --rate 60 --progress never --summary "$out/summary.json" 2>"$out/cmd.err" >/dev/null || rc=$?
  t1=$(date +%s.%N)
  stop_sandbox
  jq -r --arg name "$name" --arg target "$target" --arg rc "$rc" --arg wall "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" \
    --arg table "$table" '
    (.requests / .rows) as $per
    | ($target | split(":")) as $t
    | (if $target == "-" then ["-", "-"]
       elif $t[0] == "row" then ["<= \($t[1]) a row", (if $per <= ($t[1]|tonumber) then "yes" else "**no**" end)]
       else ["<= \($t[1]) in all", (if .requests <= ($t[1]|tonumber) then "yes" else "**no**" end)] end) as $met
    | [$name, (.rows|tostring), (.requests|tostring), ($per*1000|round/1000|tostring),
       .read.chosen, (.read.pages|tostring), ((.read.rows - .read.found)|tostring),
       "\($wall) s", "\(.requests/60*10|round/10) s", $met[0], $met[1], $rc] | join(" | ")
    | "| " + . + " |"' "$out/summary.json" 2>/dev/null || { echo "| $name | no summary: exit $rc |"; tail -n 3 "$out/cmd.err"; return 0; }
  [[ $target == - ]] || jq -r --arg name "$name" --arg target "$target" '
    (.requests / .rows) as $per | ($target | split(":")) as $t
    | if $t[0] == "row" then "requests a row, \($name)|\($per*1000|round/1000)|<= \($t[1])|\(if $per <= ($t[1]|tonumber) then "yes" else "**no**" end)"
      else "requests in all, \($name)|\(.requests)|<= \($t[1])|\(if .requests <= ($t[1]|tonumber) then "yes" else "**no**" end)" end' \
    "$out/summary.json" >>"$table"
}

# rss NAME TARGET_MB COMMAND ARGS...: runs the command under GNU time and
# prints its peak RSS, wall time and requests. TARGET_MB - is no target.
rss() {
  local name=$1 target=$2; shift 2
  rm -f "$out/summary.json"
  local rc=0 t0 t1
  t0=$(date +%s.%N)
  timeout 1800 /usr/bin/time -f %M -o "$out/rss" "$bin" "$@" --read page --rate 0 --progress never \
    --summary "$out/summary.json" 2>"$out/cmd.err" >/dev/null || rc=$?
  t1=$(date +%s.%N)
  local mb met=-
  mb=$(awk '{ printf "%.1f", $1 / 1024 }' <(tail -n1 "$out/rss"))
  [[ $target != - ]] && met=$(awk -v m="$mb" -v t="$target" 'BEGIN { print m <= t ? "yes" : "**no**" }')
  jq -r --arg name "$name" --arg mb "$mb" --arg target "$target" --arg met "$met" --arg t0 "$t0" --arg t1 "$t1" --arg rc "$rc" '
    "\($name): peak RSS \($mb) MB (target \(if $target == "-" then "none" else "<= \($target) MB: \($met)" end))   wall \((($t1|tonumber)-($t0|tonumber))*10|round/10) s   requests \(.requests) (\(.read.pages) pages)   rows \(.rows), ok \(.ok), already ok \(.already_ok)   exit \($rc)"' \
    "$out/summary.json" || { echo "$name: exit $rc, no summary"; tail -n 5 "$out/cmd.err"; }
  echo "peak RSS, $name|$mb MB|$([[ $target == - ]] && echo "(none)" || echo "<= $target MB")|$met" >>"$table"
}
rss_all() {
  echo
  numbers "$out/nM.csv" "$M"
  awk -v m="$M" 'BEGIN { print "number,alias"; for (i = 0; i < m; i++) printf "1202%07d,Desk %d\n", i, i }' >"$out/renameM.csv"
  local rows
  rows=$(sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$M")
  # A fresh M-number sandbox without a limit for each run; the resume runs
  # against the sandbox of the run it resumes (a report names its account).
  sandbox "$out/nM.csv" --rate-limit 0
  rss "run, $rows alias-only rows on a $rows-number account" 128 run --yes --input "$out/renameM.csv" --report "$out/report.csv" --force
  sandbox "$out/nM.csv" --rate-limit 0
  rss "the same with --undo" 128 run --yes --input "$out/renameM.csv" --report "$out/report.csv" --force --undo "$out/undo.csv"
  rss "the --undo run resumed, every row already ok" - run --yes --resume --input "$out/renameM.csv" --report "$out/report.csv" --undo "$out/undo.csv"
  stop_sandbox
}

echo "plivo-bulk read benchmark: $(date -u '+%F %H:%M UTC'), $(nproc) cores, $(go version | cut -d' ' -f3), load $(cut -d' ' -f1-3 /proc/loadavg)"
if ((rss == 2)); then rss_all; exit; fi
echo
echo "| scenario | rows | requests | per row | read | pages | reads | wall at --rate 60 | requests / 60 | target | met? | exit |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"

# 1. Rename: 500 alias-only rows on a 600-number account.
numbers "$out/n600.csv" 600
{ echo number,alias; for i in $(seq 0 499); do printf '1202%07d,Desk %d\n' "$i" "$i"; done; } >"$out/rename.csv"
for mode in each auto; do
  target=-; [[ $mode == auto ]] && target=row:1.10
  measure "rename 500 alias-only / 600, --read $mode" "$target" "$out/n600.csv" \
    run --yes --input "$out/rename.csv" --report "$out/report.csv" --read "$mode"
done

# 2. Migration: 500 rows with --undo --skip-unchanged, 100 already there.
{ echo number,app_id; for i in $(seq 0 499); do
    if ((i % 5 == 0)); then printf '1202%07d,%s\n' "$i" "$start_app"; else printf '1202%07d,%s\n' "$i" "$app_a"; fi
  done; } >"$out/migrate.csv"
for mode in each auto; do
  target=-; [[ $mode == auto ]] && target=row:0.90
  measure "migrate 500 (100 unchanged) / 600, --undo --skip-unchanged, --read $mode" "$target" "$out/n600.csv" \
    run --yes --input "$out/migrate.csv" --report "$out/report.csv" --undo "$out/undo.csv" --skip-unchanged --read "$mode"
done

# 3. Plan of a 2,000-number account.
numbers "$out/n2000.csv" 2000
awk -v app="$app_a" 'BEGIN { print "number,app_id"; for (i = 0; i < 2000; i++) printf "1202%07d,%s\n", i, app }' >"$out/plan2000.csv"
for mode in each auto; do
  target=-; [[ $mode == auto ]] && target=row:0.06
  measure "plan 2,000 / 2,000, --read $mode" "$target" "$out/n2000.csv" \
    plan --input "$out/plan2000.csv" --output "$out/plan.csv" --read "$mode"
done

# 4. 10 rows on a 100,000-number account, auto: ten numbers spread over it.
numbers "$out/n100k.csv" 100000
{ echo number,alias; for i in $(seq 0 9); do printf '1202%07d,Desk %d\n' $((i * 10000 + 5000)) "$i"; done; } >"$out/ten.csv"
measure "plan 10 / 100,000, --read auto" all:15 "$out/n100k.csv" \
  plan --input "$out/ten.csv" --output "$out/plan.csv"
measure "rename 10 alias-only / 100,000, --read auto (10 updates)" - "$out/n100k.csv" \
  run --yes --input "$out/ten.csv" --report "$out/report.csv"

if ((rss)); then rss_all; fi

#!/usr/bin/env bash
# Requests a row for BENCHMARKS.md (issue 11: read the account by the page).
#
# Usage: bench/read.sh [--no-rss | --rss-only]
#
# Runs the real binary against the real sandbox (`plivo-bulk sandbox`, a
# process of its own on 127.0.0.1, port picked by the kernel), a fresh one
# for every command, and counts the requests each command made from its
# --summary file (requests: every request of the command, the account check
# and the application checks included; read.*: how the settings were
# learned). Each scenario runs with --read each (one read a row, as before
# issue 11) and with the default, --read auto:
#   1. rename: 500 alias-only rows on a 600-number account   target <= 1.10 requests a row
#   2. migration: 500 rows, --undo --skip-unchanged, 100 already
#      in their target state, on a 600-number account        target <= 0.90
#   3. plan of a 2,000-number account (every number)         target <= 0.06
#   4. 10 rows on a 100,000-number account (auto only): plan and an
#      alias-only run                                         target: auto reads one by one, <= 15 requests for plan
#   5. peak RSS of 1,000,000 rows on a 1,000,000-number account reading by
#      page: a plan, and an alias-only run without and with --undo (GNU
#      time; the sandbox is another process, so its memory is not counted)
#                                                             target <= 128 MB
# Every command has a time limit; the sandboxes are stopped on exit.
set -euo pipefail
rss=1
[[ ${1:-} == --no-rss ]] && rss=0
[[ ${1:-} == --rss-only ]] && rss=2
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
sb=
cleanup() {
  if [[ -n $sb ]]; then kill -INT "$sb" 2>/dev/null || true; wait "$sb" 2>/dev/null || true; fi
  rm -rf "$out"
}
trap cleanup EXIT
cd "$root"
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
# sandbox NUMBERS-FILE: a fresh sandbox holding those numbers.
sandbox() {
  start_sandbox --numbers "$1" --apps "$start_app,$app_a" --default-app-on-missing --default-app "$def_app" --rate-limit 0
}

# measure NAME TARGET NUMBERS-FILE COMMAND ARGS...: runs the command on a
# fresh sandbox with --summary and prints one line of the table. TARGET is
# row:X (at most X requests a row), all:X (at most X requests in all) or -
# (a baseline).
measure() {
  local name=$1 target=$2 nums=$3; shift 3
  sandbox "$nums"
  rm -f "$out"/report.csv "$out"/undo.csv "$out"/plan.csv "$out"/summary.json
  local rc=0
  timeout 300 "$bin" "$@" --rate 0 --progress never --summary "$out/summary.json" 2>"$out/cmd.err" >/dev/null || rc=$?
  stop_sandbox
  jq -r --arg name "$name" --arg target "$target" --arg rc "$rc" '
    (.requests / .rows) as $per
    | ($target | split(":")) as $t
    | (if $target == "-" then ["-", "-"]
       elif $t[0] == "row" then ["<= \($t[1]) a row", (if $per <= ($t[1]|tonumber) then "yes" else "**no**" end)]
       else ["<= \($t[1]) in all", (if .requests <= ($t[1]|tonumber) then "yes" else "**no**" end)] end) as $met
    | [$name, (.rows|tostring), (.requests|tostring), ($per*1000|round/1000|tostring),
       .read.chosen, (.read.pages|tostring), ((.read.rows - .read.found)|tostring), $met[0], $met[1], $rc] | join(" | ")
    | "| " + . + " |"' "$out/summary.json"
}

# 5. Peak RSS of 1,000,000 rows that read by page.
# rss NAME COMMAND ARGS...: runs the command on a fresh 1,000,000-number
# sandbox under GNU time and prints its peak RSS, wall time and requests.
rss() {
  local name=$1; shift
  sandbox "$out/n1m.csv"
  rm -f "$out"/report.csv "$out"/undo.csv "$out"/plan.csv "$out"/summary.json
  local rc=0 t0 t1
  t0=$(date +%s.%N)
  timeout 1800 /usr/bin/time -f %M -o "$out/rss" "$bin" "$@" --read page --rate 0 --progress never \
    --summary "$out/summary.json" 2>"$out/cmd.err" >/dev/null || rc=$?
  t1=$(date +%s.%N)
  stop_sandbox
  jq -r --arg name "$name" --arg kb "$(tail -n1 "$out/rss")" --arg t0 "$t0" --arg t1 "$t1" --arg rc "$rc" '
    "\($name): peak RSS \(($kb|tonumber)/1024*10|round/10) MB (target <= 128 MB)   wall \((($t1|tonumber)-($t0|tonumber))*10|round/10) s   requests \(.requests) (\(.read.pages) pages)   rows \(.rows)   exit \($rc)"' \
    "$out/summary.json"
}
rss_all() {
  echo
  numbers "$out/n1m.csv" 1000000
  awk -v app="$app_a" 'BEGIN { print "number,app_id"; for (i = 0; i < 1000000; i++) printf "1202%07d,%s\n", i, app }' >"$out/plan1m.csv"
  awk 'BEGIN { print "number,alias"; for (i = 0; i < 1000000; i++) printf "1202%07d,Desk %d\n", i, i }' >"$out/rename1m.csv"
  rss "plan 1,000,000 rows" plan --input "$out/plan1m.csv" --output "$out/plan.csv"
  rss "run 1,000,000 alias-only rows" run --yes --input "$out/rename1m.csv" --report "$out/report.csv"
  rss "run 1,000,000 alias-only rows --undo" run --yes --input "$out/rename1m.csv" --report "$out/report.csv" --undo "$out/undo.csv"
}

echo "plivo-bulk read benchmark: $(date -u '+%F %H:%M UTC'), $(nproc) cores, $(go version | cut -d' ' -f3), load $(cut -d' ' -f1-3 /proc/loadavg)"
if ((rss == 2)); then rss_all; exit; fi
echo
echo "| scenario | rows | requests | per row | read | pages | reads | target | met? | exit |"
echo "|---|---|---|---|---|---|---|---|---|---|"

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

#!/usr/bin/env bash
# Requests a row of --verify for BENCHMARKS.md (issue 21: read back by the page).
#
# Usage: bench/verify.sh
#
# Runs the real binary against the real sandbox (`plivo-bulk sandbox` on
# 127.0.0.1), a fresh one for every command, and counts the requests from the
# --summary file (requests: every request of the run; verify.*: how it read
# back). Each scenario runs with --verify-read each (one read a row, as before
# issue 21) and with the default, auto:
#   1. migration: 2,000 rows on a 2,000-number account, 20% already right,
#      --undo --skip-unchanged --verify                       target <= 0.95 requests a row
#   2. the same behind bench/cmd/noopproxy, which answers 5% of the updates
#      "changed" without applying them                        target <= 1.05, and every number
#      in its target state at the end (the sandbox's --dump) or its row reported failed
#   3. 10 rows on a 100,000-number account, --verify (auto)   target: 1 read a row (10 reads, no listing)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
sb=
px=
cleanup() {
  [[ -n $px ]] && { kill -INT "$px" 2>/dev/null || true; wait "$px" 2>/dev/null || true; }
  if [[ -n $sb ]]; then kill -INT "$sb" 2>/dev/null || true; wait "$sb" 2>/dev/null || true; fi
  rm -rf "$out"
}
trap cleanup EXIT
cd "$root"
timeout 300 go build -o "$out/plivo-bulk" .
timeout 300 go build -o "$out/noopproxy" ./bench/cmd/noopproxy
bin=$out/plivo-bulk
start_app=20372631212782779
app_a=20372631212782780

# shellcheck source=bench/sandbox.sh
source "$root/bench/sandbox.sh"

# numbers FILE M: an account of M numbers 1202xxxxxxx on start_app, alias "old".
numbers() {
  awk -v m="$2" -v app="$start_app" 'BEGIN { print "number,app_id,alias"; for (i = 0; i < m; i++) printf "1202%07d,%s,old\n", i, app }' >"$1"
}

# measure NAME TARGET NUMBERS-FILE DROP COMMAND ARGS...: runs the command on a
# fresh sandbox (behind noopproxy dropping DROP of the updates when DROP is
# not 0) and prints one line of the table. TARGET is row:X or reads:X or -.
measure() {
  local name=$1 target=$2 nums=$3 drop=$4; shift 4
  start_sandbox --numbers "$nums" --apps "$start_app,$app_a" --rate-limit 0 --dump "$out/after.csv"
  local sandbox_url=$PLIVO_API_URL
  if [[ $drop != 0 ]]; then
    "$out/noopproxy" -target "$sandbox_url" -drop "$drop" -seed 21 >"$out/proxy.out" &
    px=$!
    for _ in $(seq 1 100); do grep -q 'export PLIVO_API_URL' "$out/proxy.out" 2>/dev/null && break; sleep 0.1; done
    eval "$(grep -o 'export PLIVO_API_URL.*' "$out/proxy.out")"
  fi
  rm -f "$out"/report.csv "$out"/undo.csv "$out"/summary.json "$out"/after.csv
  local rc=0
  timeout 600 "$bin" "$@" --rate 0 --progress never --summary "$out/summary.json" 2>"$out/cmd.err" >/dev/null || rc=$?
  local dropped=-
  if [[ -n $px ]]; then
    kill -INT "$px"; wait "$px" || true; px=
    dropped=$(awk '/^updates/ { print $4 }' "$out/proxy.out")
  fi
  stop_sandbox
  # Every number of the input in its target app at the end, or its latest report line failed.
  local wrong
  wrong=$(awk -F, -v input="$input_file" '
    FILENAME == input { if (FNR > 1) want[$1] = $2; next }
    FILENAME ~ /report/ { if ($1 ~ /^[0-9]+$/) status[$2] = $3; next }
    FNR > 1 && ($1 in want) && want[$1] != "" && $2 != want[$1] && status[$1] != "failed" { bad++ }
    END { print bad + 0 }' "$input_file" "$out/report.csv" "$out/after.csv")
  jq -r --arg name "$name" --arg target "$target" --arg rc "$rc" --arg dropped "$dropped" --arg wrong "$wrong" '
    (.requests / .rows) as $per
    | ($target | split(":")) as $t
    | (if $target == "-" then ["-", "-"]
       elif $t[0] == "row" then ["<= \($t[1]) a row", (if $per <= ($t[1]|tonumber) and ($wrong == "0") then "yes" else "**no**" end)]
       else ["\($t[1]) reads, no page", (if .verify.reads == ($t[1]|tonumber) and .verify.pages == 0 then "yes" else "**no**" end)] end) as $met
    | [$name, (.rows|tostring), (.requests|tostring), ($per*1000|round/1000|tostring),
       .verify.chosen, (.verify.pages|tostring), (.verify.listed|tostring), (.verify.reads|tostring), (.verify.resent|tostring),
       $dropped, (.ok|tostring), (.skipped|tostring), (.failed|tostring), $wrong, $met[0], $met[1], $rc] | join(" | ")
    | "| " + . + " |"' "$out/summary.json"
}

echo "plivo-bulk verify benchmark: $(date -u '+%F %H:%M UTC'), $(nproc) cores, $(go version | cut -d' ' -f3), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| scenario | rows | requests | per row | verify | pages | listed | reads | resent | dropped | ok | skipped | failed | wrong at end | target | met? | exit |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"

numbers "$out/n2000.csv" 2000
input_file=$out/migrate.csv
awk -v a="$app_a" -v s="$start_app" 'BEGIN { print "number,app_id"; for (i = 0; i < 2000; i++) printf "1202%07d,%s\n", i, (i % 5 == 0 ? s : a) }' >"$input_file"
for drop in 0 0.05; do
  for mode in each auto; do
    target=-
    [[ $mode == auto && $drop == 0 ]] && target=row:0.95
    [[ $mode == auto && $drop != 0 ]] && target=row:1.05
    measure "migrate 2,000 (400 unchanged) / 2,000, $([[ $drop == 0 ]] && echo "all applied" || echo "5% not applied"), --verify-read $mode" "$target" "$out/n2000.csv" "$drop" \
      run --yes --input "$input_file" --report "$out/report.csv" --undo "$out/undo.csv" --skip-unchanged --verify --verify-read "$mode"
  done
done

numbers "$out/n100k.csv" 100000
input_file=$out/ten.csv
{ echo number,app_id; for i in $(seq 0 9); do printf '1202%07d,%s\n' $((i * 10000 + 5000)) "$app_a"; done; } >"$input_file"
measure "10 rows / 100,000, --verify (auto)" reads:10 "$out/n100k.csv" 0 \
  run --yes --input "$input_file" --report "$out/report.csv" --verify

#!/usr/bin/env bash
# The failure budget's proof (issue 15), with the real binary against the
# standalone sandbox on loopback: a run against a server that fails 60% of
# its requests must stop within its first 50 rows with --max-failures 5%.
#
# Usage: bench/failbudget.sh [REPS]     (default 10 runs per setting)
#
# Each run has N=5000 rows that move every number to an application; the
# sandbox (--fail-rate 0.6, --rate-limit 0) answers 60% of the number
# requests 500, 502 or 503 without applying them, drawn anew each run. Settings:
#   final     --max-attempts 1: every failure is final        (the issue's case)
#   retried   the default --max-attempts 5: a row fails when 5 attempts do
# each at the default --rate 20 and at --rate 0 (no client-side limit). For
# each, the rows ended before the stop (report lines), min/median/max, and
# the exit codes seen. Target: every run exits 4 within 50 rows.
# Then one run is resumed without a budget (--max-attempts 30) to show that
# the rest goes through: exit 0, every number moved.
set -euo pipefail
REPS=${1:-10}
N=5000
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
cd "$root"
go build -o "$out/plivo-bulk" .
bin=$out/plivo-bulk
app=20372631212782780

{ echo number,app_id; for i in $(seq 1 "$N"); do printf '1202%07d,%s\n' "$i" "$app"; done; } >"$out/input.csv"
{ echo number,app_id; for i in $(seq 1 "$N"); do printf '1202%07d,\n' "$i"; done; } >"$out/numbers.csv"

# shellcheck source=bench/sandbox.sh
source "$root/bench/sandbox.sh"
# sandbox: a sandbox failing 60% of the number requests.
sandbox() {
  start_sandbox --numbers "$out/numbers.csv" --apps "$app" --fail-rate 0.6 --rate-limit 0 --dump "$out/dump.csv"
}

# rows FILE: the report's data lines (its origin and header lines aside).
rows() { grep -vc -e '^#' -e '^row,' "$1" || true; }

for setting in final retried; do
  for rate in 20 0; do
    attempts=()
    [[ $setting == final ]] && attempts=(--max-attempts 1)
    ended=() codes=()
    for rep in $(seq 1 "$REPS"); do
      sandbox
      rm -f "$out/report.csv"
      rc=0
      timeout 120 "$bin" run --yes --input "$out/input.csv" --report "$out/report.csv" --progress never \
        --rate "$rate" --max-failures 5% --backoff-base 10ms --backoff-max 50ms "${attempts[@]}" 2>"$out/run.err" || rc=$?
      stop_sandbox
      ended+=("$(rows "$out/report.csv")") codes+=("$rc")
    done
    sorted=$(printf '%s\n' "${ended[@]}" | sort -n)
    printf '%-8s --rate %-3s: rows ended before the stop min %s median %s max %s (of %d runs); exit codes %s\n' \
      "$setting" "$rate" "$(head -1 <<<"$sorted")" "$(sed -n "$(((REPS + 1) / 2))p" <<<"$sorted")" "$(tail -1 <<<"$sorted")" \
      "$REPS" "$(printf '%s\n' "${codes[@]}" | sort | uniq -c | awk '{printf "%s×%s ", $2, $1}')"
  done
done

echo "resume after a stop (final, --rate 0), no budget, --max-attempts 30, --rate 200:"
sandbox
rc=0
timeout 120 "$bin" run --yes --input "$out/input.csv" --report "$out/report.csv" --progress never --force \
  --rate 0 --max-failures 5% --max-attempts 1 --summary "$out/s1.json" 2>/dev/null || rc=$?
echo "  first run: exit $rc, $(rows "$out/report.csv") rows ended, $(grep -o '"stopped_by": *"[a-z_]*"' "$out/s1.json")"
rc=0
timeout 300 "$bin" run --yes --input "$out/input.csv" --report "$out/report.csv" --progress never --resume \
  --rate 200 --max-attempts 30 --backoff-base 10ms --backoff-max 50ms --summary "$out/s2.json" 2>/dev/null || rc=$?
stop_sandbox
moved=$(grep -c ",$app," "$out/dump.csv" || true)
echo "  resumed: exit $rc, $(grep -o '"already_ok": *[0-9]*' "$out/s2.json"), $(grep -o '"ok": *[0-9]*' "$out/s2.json"); sandbox: $moved of $N numbers moved"

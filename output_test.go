package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// TestRun_jsonLogsAndSummaryFile: with --log-format json every stderr line
// is a JSON record (e2eProc.check), "run finished" carries the counts,
// figures keep three decimals at most, and --summary gets the same counts.
func TestRun_jsonLogsAndSummaryFile(t *testing.T) {
	r := e2eNewRunner(t, nil)
	sample, _ := filepath.Abs("samples/numbers-mistakes.csv")
	res := r.run("run", "--sandbox", "--input", sample, "--report", "r.csv", "--log-format", "json", "--rate", "0", "--summary", "summary.json")
	if e2eExit(t, "run", res, exitRowsFailed); res.stdout != "" {
		t.Errorf("stdout %q, want nothing (the report went to a file)", res.stdout)
	}
	finished := e2eLog(res.stderr, "run finished")
	for k, v := range map[string]float64{"rows": 9, "ok": 3, "failed": 0, "invalid": 6, "skipped": 0, "already_ok": 0, "not_attempted": 0, "retries": 0, "rate_limited": 0} {
		if finished[k] != v {
			t.Errorf("run finished %s = %v, want %v", k, finished[k], v)
		}
	}
	if _, ok := finished["effective_rate"]; !ok {
		t.Errorf("run finished has no effective_rate: %v", finished)
	}
	if m := regexp.MustCompile(`"(elapsed_s|effective_rate|accepted_rate)":-?[0-9]+\.[0-9]{4,}`).FindAllString(res.stderr, -1); m != nil {
		t.Errorf("figures with more than three decimals: %q", m)
	}
	if sf := e2eReadSummary(t, r.path("summary.json")); sf.ExitCode != 1 || sf.OK != 3 || sf.Invalid != 6 || sf.Command != "run" || sf.Output != r.path("r.csv") {
		t.Errorf("summary file = %+v", sf)
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := runWith(t, envOf(nil), nil, "version")
	if code != 0 || !strings.HasPrefix(stdout, "plivo-bulk ") || !strings.Contains(stdout, "commit ") || !strings.Contains(stdout, "go1.") {
		t.Errorf("version: exit %d, %q", code, stdout)
	}
}

// TestRun_progressCountsSkippedApart: rows --skip-unchanged skips are
// counted as skipped, not ok, by the bar, as the summary counts them.
func TestRun_progressCountsSkippedApart(t *testing.T) {
	var nums []string
	input := "number,app_id,alias\n"
	for i := range 10 {
		n := fmt.Sprintf("120255506%02d", i)
		nums = append(nums, n)
		alias := "old" // what the number holds: skipped
		if i >= 5 {
			alias = "new"
		}
		input += n + "," + e2eAppStart + "," + alias + "\n"
	}
	fx := e2eStartFixture(t, sandbox.Config{}, e2eNumbers(nums...)...)
	r := e2eNewRunner(t, fx)
	res := r.run("run", "--input", r.write("numbers.csv", input), "--report", "r.csv", "--skip-unchanged", "--rate", "0", "--progress", "always")
	code, stderr := res.code, res.stderr
	if code != 0 || !strings.Contains(stderr, " 10/10 ok 5 failed 0 skipped 5 ") {
		t.Errorf("exit %d, want 0 and the bar at 10/10 ok 5 failed 0 skipped 5:\n%q", code, stderr)
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// TestRun_jsonLogsAndSummaryFile: with --log-format json every stderr line
// is a JSON record, "run finished" carries the counts, figures keep three
// decimals at most, and --summary gets the same counts.
func TestRun_jsonLogsAndSummaryFile(t *testing.T) {
	dir := t.TempDir()
	summary := filepath.Join(dir, "summary.json")
	code, stdout, stderr := runWith(t, envOf(nil), nil, "run", "--sandbox", "--input", "samples/numbers-mistakes.csv",
		"--report", filepath.Join(dir, "r.csv"), "--log-format", "json", "--rate", "0", "--summary", summary)
	if code != exitRowsFailed || stdout != "" {
		t.Fatalf("exit %d, stdout %q; want 1 and nothing (the report went to a file):\n%s", code, stdout, stderr)
	}
	var finished map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil || m["time"] == nil || m["level"] == nil || m["msg"] == nil {
			t.Fatalf("a stderr line is no JSON log record: %q: %v", line, err)
		}
		if m["msg"] == "run finished" {
			finished = m
		}
	}
	want := map[string]float64{"rows": 9, "ok": 3, "failed": 0, "invalid": 6, "skipped": 0, "already_ok": 0, "not_attempted": 0}
	for k, v := range want {
		if finished[k] != v {
			t.Errorf("run finished %s = %v, want %v", k, finished[k], v)
		}
	}
	for _, k := range []string{"elapsed_s", "requests", "retries", "rate_limited", "effective_rate"} {
		if _, ok := finished[k]; !ok {
			t.Errorf("run finished has no %q", k)
		}
	}
	if m := regexp.MustCompile(`"(elapsed_s|effective_rate|accepted_rate)":-?[0-9]+\.[0-9]{4,}`).FindAllString(stderr, -1); m != nil {
		t.Errorf("figures with more than three decimals: %q", m)
	}
	data, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	var sf map[string]any
	if err := json.Unmarshal(data, &sf); err != nil {
		t.Fatalf("summary file: %v\n%s", err, data)
	}
	if sf["exit_code"] != 1.0 || sf["ok"] != 3.0 || sf["invalid"] != 6.0 || sf["command"] != "run" || sf["output"] != filepath.Join(dir, "r.csv") {
		t.Errorf("summary file = %s", data)
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
	dir := t.TempDir()
	in := filepath.Join(dir, "numbers.csv")
	if err := os.WriteFile(in, []byte(input), 0o600); err != nil {
		t.Fatal(err)
	}
	fx := e2eStartFixture(t, sandbox.Config{}, e2eNumbers(nums...)...)
	env := envOf(map[string]string{"PLIVO_API_URL": fx.url, "PLIVO_AUTH_ID": fx.authID, "PLIVO_AUTH_TOKEN": fx.token})
	code, _, stderr := runWith(t, env, nil, "run", "--input", in, "--report", filepath.Join(dir, "r.csv"),
		"--skip-unchanged", "--rate", "0", "--progress", "always")
	if code != 0 || !strings.Contains(stderr, " 10/10 ok 5 failed 0 skipped 5 ") {
		t.Errorf("exit %d, want 0 and the bar at 10/10 ok 5 failed 0 skipped 5:\n%q", code, stderr)
	}
}

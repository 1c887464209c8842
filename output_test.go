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

func TestRun_jsonLogsAndSummaryFile(t *testing.T) {
	dir := t.TempDir()
	summary := filepath.Join(dir, "summary.json")
	code, stdout, stderr := runInProcess(t, "run", "--sandbox", "--input", "samples/numbers-mistakes.csv",
		"--report", filepath.Join(dir, "r.csv"), "--log-format", "json", "--log-every", "20ms", "--rate", "10", // 3 updates at 10/s: 200 ms, ten progress periods
		"--summary", summary)
	if code != exitRowsFailed {
		t.Fatalf("exit %d, want 1:\n%s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing (the report went to a file)", stdout)
	}
	if strings.Contains(stderr, "\x1b[") {
		t.Errorf("ANSI escape codes on a stderr that is not a terminal:\n%q", stderr)
	}
	var finished map[string]any
	progressLines := 0
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("a log line is not JSON: %q: %v", line, err)
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := m[k]; !ok {
				t.Errorf("log line without %q: %s", k, line)
			}
		}
		switch m["msg"] {
		case "run finished":
			finished = m
		case "progress":
			progressLines++
			for _, k := range []string{"done", "total", "ok", "failed", "rows_per_s", "eta_s"} {
				if _, ok := m[k]; !ok {
					t.Errorf("progress line without %q: %s", k, line)
				}
			}
		}
	}
	if progressLines == 0 {
		t.Error("no progress log line with --log-every 20ms and no terminal")
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

func TestRun_summaryFileOnInputError(t *testing.T) {
	dir := t.TempDir()
	summary := filepath.Join(dir, "summary.json")
	code, _, stderr := runInProcess(t, "run", "--sandbox", "--input", filepath.Join(dir, "missing.csv"), "--report", filepath.Join(dir, "r.csv"), "--summary", summary)
	if code != exitUsage || !strings.Contains(stderr, "missing.csv: cannot open") {
		t.Fatalf("exit %d, want 2:\n%s", code, stderr)
	}
	data, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	var sf map[string]any
	if err := json.Unmarshal(data, &sf); err != nil || sf["exit_code"] != 2.0 {
		t.Errorf("summary file = %s (%v), want exit_code 2", data, err)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"run", "--help"}, {"plan", "-h"}, {"sandbox", "--help"}, {"help", "run"}} {
		code, stdout, stderr := runInProcess(t, args...)
		out := stdout + stderr
		if code != 0 || !strings.Contains(out, "Usage") || !strings.Contains(out, "plivo-bulk") {
			t.Errorf("%v: exit %d, output:\n%s", args, code, out)
		}
		if args[0] != "--help" && args[0] != "help" || len(args) > 1 {
			if !strings.Contains(out, "Examples") && !strings.Contains(out, "Example") {
				t.Errorf("%v: no examples in the help", args)
			}
		}
	}
	if code, _, _ := runInProcess(t, "frobnicate"); code != exitUsage {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
	if code, _, _ := runInProcess(t, "run", "--rate", "fast"); code != exitUsage {
		t.Errorf("bad flag value: exit %d, want 2", code)
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := runInProcess(t, "version")
	if code != 0 || !strings.HasPrefix(stdout, "plivo-bulk ") || !strings.Contains(stdout, "commit ") || !strings.Contains(stdout, "go1.") {
		t.Errorf("version: exit %d, %q", code, stdout)
	}
}

// TestRun_logsRoundedFigures: the seconds and rates of the progress and
// "run finished" lines keep three decimals, in text as in JSON.
func TestRun_logsRoundedFigures(t *testing.T) {
	long := regexp.MustCompile(`(elapsed_s|effective_rate|accepted_rate|rows_per_s|eta_s)"?[=:]-?[0-9]+\.[0-9]{4,}`)
	for _, format := range []string{"text", "json"} {
		dir := t.TempDir()
		code, _, stderr := runInProcess(t, "run", "--sandbox", "--input", "samples/numbers-mistakes.csv",
			"--report", filepath.Join(dir, "r.csv"), "--log-format", format, "--log-every", "20ms", "--rate", "10")
		if code != exitRowsFailed || !strings.Contains(stderr, "progress") || !strings.Contains(stderr, "effective_rate") {
			t.Fatalf("%s: exit %d, want 1 with progress lines:\n%s", format, code, stderr)
		}
		if m := long.FindAllString(stderr, -1); m != nil {
			t.Errorf("%s: figures with more than three decimals: %q", format, m)
		}
	}
}

// TestRun_progressCountsSkippedApart: rows --skip-unchanged skips are
// counted as skipped, not ok, by the progress line and the bar, as the
// summary counts them.
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
	run := func(extra ...string) string {
		fx := e2eStartFixture(t, sandbox.Config{}, e2eNumbers(nums...)...)
		env := envOf(map[string]string{"PLIVO_API_URL": fx.url, "PLIVO_AUTH_ID": fx.authID, "PLIVO_AUTH_TOKEN": fx.token})
		args := append([]string{"run", "--input", in, "--report", filepath.Join(dir, "r.csv"), "--force", "--skip-unchanged", "--rate", "10"}, extra...)
		code, _, stderr := runWith(t, env, nil, args...)
		if code != 0 || !strings.Contains(stderr, "ok=5") && !strings.Contains(stderr, `"ok":5,`) {
			t.Fatalf("%v: exit %d, want 0 with 5 ok (and 5 skipped):\n%s", args, code, stderr)
		}
		return stderr
	}
	seen := false
	for _, l := range e2eJSONLogs(run("--log-format", "json", "--log-every", "20ms", "--progress", "never")) {
		if l["msg"] != "progress" {
			continue
		}
		if l["ok"].(float64) > 5 || l["skipped"] == nil || l["ok"].(float64)+l["failed"].(float64)+l["skipped"].(float64)+l["unverified"].(float64) != l["done"] {
			t.Errorf("progress line %v: want ok+failed+skipped+unverified = done, ok at most 5", l)
		}
		seen = seen || l["skipped"] == 5.0
	}
	if !seen {
		t.Error("no progress line counts the 5 skipped rows")
	}
	if bar := run("--log-format", "text", "--progress", "always"); !strings.Contains(bar, "skipped 5") || regexp.MustCompile(`ok ([6-9]|10) `).MatchString(bar) {
		t.Errorf("the bar does not count the skipped rows apart:\n%q", bar)
	}
}

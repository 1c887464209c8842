package main

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// TestSummary_saysWhatRanAgainstWhatAndWhen: a run's summary names the
// tool's version, the account and API, the input and report, when it
// started and finished; and README's table lists exactly its keys.
func TestSummary_saysWhatRanAgainstWhatAndWhen(t *testing.T) {
	t.Parallel()
	_, r, input, _ := e2eMoveAll(t, sandbox.Config{}, 101, 1, e2eAppA)
	rep, sum := r.path("report.csv"), r.path("summary.json")
	e2eExit(t, "run", r.run("run", "--input", input, "--report", rep, "--summary", sum, "--rate", "0"), 0)
	m := e2eReadSummary[map[string]any](t, sum)
	for key, want := range map[string]any{"command": "run", "version": versionLine(), "input": input, "output": rep, "exit_code": 0.0, "error": "", "stopped_by": ""} {
		if m[key] != want {
			t.Errorf("%s = %v, want %v", key, m[key], want)
		}
	}
	if s, _ := m["account"].(string); !strings.HasPrefix(s, "MA") {
		t.Errorf("account = %v, want the sandbox's auth id", m["account"])
	}
	if s, _ := m["api"].(string); !strings.HasPrefix(s, "http://127.0.0.1:") {
		t.Errorf("api = %v, want the sandbox's URL", m["api"])
	}
	s, _ := m["started_at"].(string)
	f, _ := m["finished_at"].(string)
	started, err1 := time.Parse(time.RFC3339, s)
	finished, err2 := time.Parse(time.RFC3339, f)
	if err1 != nil || err2 != nil || finished.Before(started) || started.Location() != time.UTC {
		t.Errorf("started_at %v, finished_at %v: want RFC 3339 UTC times in order", m["started_at"], m["finished_at"])
	}
	readme, err := os.ReadFile("README.md")
	e2eOK(t, err)
	_, table, _ := strings.Cut(string(readme), "| summary key | meaning |")
	table, _, _ = strings.Cut(table, "\n\n")
	var documented []string
	for _, row := range strings.Split(table, "\n")[2:] {
		if cells := strings.Split(row, "|"); len(cells) > 2 {
			for _, k := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(cells[1], -1) {
				documented = append(documented, k[1])
			}
		}
	}
	m["changes"], m["differ_by_field"] = nil, nil // plan's only
	if keys := slices.Sorted(maps.Keys(m)); !slices.Equal(slices.Sorted(slices.Values(documented)), keys) {
		t.Errorf("README's summary table lists %v, the summary has %v", documented, keys)
	}
}

// TestSummary_writtenWhateverEndsTheRun: a usage error, a missing input
// or a flag that cannot be parsed replaces the summary an earlier run left
// with one that says why this one ended; a --summary that names the input,
// wherever the flags stand, is not written even then: the file stays.
func TestSummary_writtenWhateverEndsTheRun(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, want string // "": the file stays as it was
		args       []string
	}{
		{"no --input", "run: --input is required", []string{"run", "--report", "r.csv"}},
		{"an input that is not there", "nope.csv", []string{"run", "--input", "nope.csv", "--report", "r.csv", "--sandbox"}},
		{"a bad --rate", "run: --rate -1: must be 0 (no limit) or more", []string{"run", "--input", "nope.csv", "--report", "r.csv", "--rate", "-1"}},
		{"an unknown flag after --summary", "run: unknown flag --bogus", []string{"run", "--bogus"}},
		// Cron lines put --summary last.
		{"--summary after a bad flag", "--bogus", []string{"run", "--bogus", "x", "--rate", "abc", "--summary", "summary.json"}},
		{"the input, before a bad flag", "", []string{"run", "--input", "summary.json", "--summary", "summary.json", "--bogus"}},
		{"the input, after a bad flag", "", []string{"run", "--bogus", "--summary", "summary.json", "--input", "summary.json"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e2eNewRunner(t, nil)
			r.write("summary.json", `{"exit_code": 0}`)
			args := slices.Clone(tt.args)
			if !slices.Contains(args, "--summary") {
				args = slices.Insert(args, 1, "--summary", "summary.json")
			}
			res := r.run(args...)
			if got := e2eRead(t, r.path("summary.json")); tt.want == "" {
				if res.code != exitUsage || got != `{"exit_code": 0}` {
					t.Errorf("exit %d, the file holds %q; want 2 and the file kept", res.code, got)
				}
				return
			}
			m := e2eReadSummary[map[string]any](t, r.path("summary.json"))
			e, _ := m["error"].(string)
			if res.code != exitUsage || m["exit_code"] != 2.0 || e == "" || !strings.Contains(e, tt.want) || !strings.Contains(res.stderr, e) {
				t.Errorf("exit %d, summary exit_code %v error %q; want 2 and the error stderr gives, holding %q\n%s", res.code, m["exit_code"], m["error"], tt.want, res.stderr)
			}
		})
	}
}

// TestLogs_countsAndFigures: "run finished" carries the counts and
// --summary the same, figures keep three decimals at most in text and in
// JSON, and a dry run says its cost as a JSON record too (every stderr line
// JSON: e2eProc.check), and writes no undo file.
func TestLogs_countsAndFigures(t *testing.T) {
	r := e2eNewRunner(t, nil)
	sample, _ := filepath.Abs("samples/numbers-mistakes.csv")
	var res e2eResult
	for _, format := range []string{"text", "json"} {
		res = r.run("run", "--sandbox", "--input", sample, "--report", "r.csv", "--force", "--log-format", format, "--rate", "0", "--summary", "summary.json")
		if e2eExit(t, format, res, exitRowsFailed); res.stdout != "" {
			t.Errorf("stdout %q, want nothing (the report went to a file)", res.stdout)
		}
		if m := regexp.MustCompile(`(=|":)-?[0-9]+\.[0-9]{4,}`).FindAllString(res.stderr, -1); m != nil {
			t.Errorf("%s: figures with more than three decimals: %q", format, m)
		}
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
	if sf := e2eReadSummary[summaryFile](t, r.path("summary.json")); sf.ExitCode != 1 || sf.OK != 3 || sf.Invalid != 6 || sf.Command != "run" || sf.Output != r.path("r.csv") {
		t.Errorf("summary file = %+v", sf)
	}
	res = r.run("run", "--dry-run", "--log-format", "json", "--input", r.write("in.csv", "number,app_id\n12025550601,20372631212782780\n12025550602,2.03726E+16\n"), "--report", "-", "--undo", "undo.csv")
	if e2eExit(t, "dry run", res, exitRowsFailed); !strings.Contains(res.stderr, `"requests_at_most":4`) || e2eRead(t, r.path("undo.csv")) != "" {
		t.Errorf("stderr lacks requests_at_most (the undo file's read included), or an undo file was written:\n%s", res.stderr)
	}
}

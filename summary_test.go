package main

import (
	"cmp"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// TestSummary_saysWhatRanAgainstWhatAndWhen: a run's summary names the
// tool's version, the account and API, the input and report, when it
// started and finished; and README's table lists exactly its keys.
func TestSummary_saysWhatRanAgainstWhatAndWhen(t *testing.T) {
	t.Parallel()
	fx, r, input, _ := e2eMoveAll(t, sandbox.Config{}, 101, 1, e2eAppA)
	rep, sum := r.path("report.csv"), r.path("summary.json")
	e2eExit(t, "run", r.run("run", "--input", input, "--report", rep, "--summary", sum, "--rate", "0"), 0)
	m := e2eReadSummary[map[string]any](t, sum)
	for key, want := range map[string]any{"command": "run", "version": versionLine(), "input": input, "output": rep, "exit_code": 0.0, "error": "", "stopped_by": "",
		"account": fx.authID, "api": fx.url} {
		if m[key] != want {
			t.Errorf("%s = %v, want %v", key, m[key], want)
		}
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

// verboseServer is a sandbox that records every request it sees, echoes
// the token in the api_id of its account answer (\u-escaped) and of a 503,
// which it gives to the first update with a Retry-After. Its runner has
// in.csv, which moves two numbers to e2eAppA.
type verboseServer struct {
	r    *e2eRunner
	mu   sync.Mutex
	seen []string // "METHOD /path?query", as received
}

func startVerboseServer(t *testing.T) *verboseServer {
	t.Helper()
	fx, _ := e2eStartFixture(t, sandbox.Config{AuthToken: "verboseSecretToken0123456789abcdefghijklmnopqrstuv"}, e2eNumbers("14155550101", "14155550102", "14155550103")...)
	v := &verboseServer{}
	failed := false
	v.r = e2eNewRunner(t, fx).with("PLIVO_API_URL", e2eProxy(t, fx, func(w http.ResponseWriter, r *http.Request) bool {
		v.mu.Lock()
		v.seen = append(v.seen, r.Method+" "+r.URL.RequestURI())
		fail := r.Method == http.MethodPost && !failed
		failed = failed || fail
		v.mu.Unlock()
		switch {
		case fail:
			w.Header().Set("Retry-After", "1")
			e2eAnswer(w, http.StatusServiceUnavailable, "application/json", `{"api_id":"`+fx.token+`","error":"busy"}`)
		case r.URL.Path == "/v1/Account/"+fx.authID+"/":
			e2eAnswer(w, http.StatusOK, "application/json", `{"api_id":"\u0076`+fx.token[1:]+`","auth_id":"`+fx.authID+`"}`)
		default:
			return false
		}
		return true
	}))
	v.r.write("in.csv", e2eInput("number,app_id", e2eAppA, "14155550101", "14155550102"))
	return v
}

func (v *verboseServer) requests() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.seen)
}

// TestVerbose_logsOneLinePerRequest: with --verbose, run, plan and export
// log exactly one line per request the server saw, with its method, path,
// status, api_id, attempt, duration and wait, and never the token, even
// where the server echoed it, as JSON or as text; without --verbose, none.
func TestVerbose_logsOneLinePerRequest(t *testing.T) {
	t.Parallel()
	commands := map[string][]string{
		"run":    {"run", "--input", "in.csv", "--report", "report.csv"},
		"plan":   {"plan", "--input", "in.csv", "--output", "plan.csv", "--read", "each"},
		"export": {"export", "--output", "export.csv"},
	}
	for name, args := range commands {
		for _, format := range []string{"json", "", "text"} { // "": json without --verbose
			synctest.Test(t, func(t *testing.T) { // the Retry-After waits in fake time
				v := startVerboseServer(t)
				argv := append(slices.Clone(args), "--force", "--log-format", cmp.Or(format, "json"), "--rate", "0")
				verbose := format != ""
				if verbose {
					argv = append(argv, "--verbose")
				}
				res := v.r.run(argv...) // every stderr line JSON (e2eProc.check)
				e2eExit(t, name, res, 0)
				if format == "text" { // slog's text, one line a request
					if n, want := strings.Count(res.stderr, "level=DEBUG msg=request method="), len(v.requests()); n != want {
						t.Errorf("%s: %d request lines for %d requests:\n%s", name, n, want, res.stderr)
					}
					e2eHas(t, "stderr", res.stderr, "api_id=[redacted]", " status=200 ", " attempt=1 wait_ms=")
					return
				}
				var logged []string
				var retried bool
				for _, rec := range e2eJSONLogs(res.stderr) {
					if rec["msg"] != "request" {
						continue
					}
					for _, key := range []string{"level", "method", "path", "status", "api_id", "attempt", "duration_ms", "wait_ms"} {
						if _, ok := rec[key]; !ok {
							t.Errorf("%s: request line without %s: %v", name, key, rec)
						}
					}
					if rec["level"] != "DEBUG" {
						t.Errorf("%s: request line at %v, want DEBUG", name, rec["level"])
					}
					if rec["status"] == 503.0 {
						if rec["api_id"] != "[redacted]" || rec["error"] != "server" {
							t.Errorf("%s: the 503's line: %v", name, rec)
						}
					}
					if rec["attempt"] == 2.0 && rec["method"] == "POST" {
						retried = true
						if w, _ := rec["wait_ms"].(float64); w < 1000 {
							t.Errorf("%s: the retry after Retry-After: 1 waited %v ms: %v", name, w, rec)
						}
					}
					logged = append(logged, rec["method"].(string)+" "+rec["path"].(string))
				}
				seen := v.requests()
				if !verbose {
					seen = nil
				}
				slices.Sort(logged)
				slices.Sort(seen)
				if !slices.Equal(logged, seen) {
					t.Errorf("%s --verbose=%v: logged\n%s\nthe server saw\n%s", name, verbose, strings.Join(logged, "\n"), strings.Join(seen, "\n"))
				}
				if verbose && name == "run" && !retried {
					t.Errorf("run: no line for the update's second attempt:\n%s", res.stderr)
				}
				if verbose && len(seen) < 2 {
					t.Errorf("%s: the server saw %d requests", name, len(seen))
				}
			})
		}
	}
}

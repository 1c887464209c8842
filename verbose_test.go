package main

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

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
	fx := e2eStartFixture(t, sandbox.Config{AuthToken: "verboseSecretToken0123456789abcdefghijklmnopqrstuv"}, e2eNumbers("14155550101", "14155550102", "14155550103")...)
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

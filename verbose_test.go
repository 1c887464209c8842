package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// verboseServer is a sandbox on loopback that records every request it
// sees, echoes the token in the api_id of its account answer (\u-escaped)
// and of a 503, which it gives to the first update with a Retry-After.
type verboseServer struct {
	url, authID, token string
	mu                 sync.Mutex
	seen               []string // "METHOD /path?query", as received
}

func startVerboseServer(t *testing.T) *verboseServer {
	t.Helper()
	cfg := sandbox.Config{AuthID: "MAVERBOSE0000000000A", AuthToken: "verboseSecretToken0123456789abcdefghijklmnopqrstuv"}
	sb := sandbox.New(cfg)
	sb.AddApplication(e2eAppA, "Support line")
	for _, n := range []string{"14155550101", "14155550102", "14155550103"} {
		sb.AddNumber(sandbox.Number{Number: n, AppID: e2eAppStart})
	}
	v := &verboseServer{authID: cfg.AuthID, token: cfg.AuthToken}
	failed := false
	v.url = e2eServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.mu.Lock()
		v.seen = append(v.seen, r.Method+" "+r.URL.RequestURI())
		fail := r.Method == http.MethodPost && !failed
		failed = failed || fail
		v.mu.Unlock()
		switch {
		case fail:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"api_id":"` + v.token + `","error":"busy"}`))
		case r.URL.Path == "/v1/Account/"+v.authID+"/":
			_, _ = w.Write([]byte(`{"api_id":"\u0076` + v.token[1:] + `","auth_id":"` + v.authID + `"}`))
		default:
			sb.ServeHTTP(w, r)
		}
	}))
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
// where the server echoed it; without --verbose, none.
func TestVerbose_logsOneLinePerRequest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	input := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(input, []byte("number,app_id\n14155550101,"+e2eAppA+"\n14155550102,"+e2eAppA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	commands := map[string][]string{
		"run":    {"run", "--input", input, "--report", filepath.Join(dir, "report.csv")},
		"plan":   {"plan", "--input", input, "--output", filepath.Join(dir, "plan.csv"), "--read", "each"},
		"export": {"export", "--output", filepath.Join(dir, "export.csv")},
	}
	for name, args := range commands {
		for _, verbose := range []bool{true, false} {
			synctest.Test(t, func(t *testing.T) { // the Retry-After waits in fake time
				v := startVerboseServer(t)
				env := envOf(map[string]string{"PLIVO_API_URL": v.url, "PLIVO_AUTH_ID": v.authID, "PLIVO_AUTH_TOKEN": v.token})
				argv := append(slices.Clone(args), "--force", "--log-format", "json", "--rate", "0")
				if verbose {
					argv = append(argv, "--verbose")
				}
				code, _, stderr := runWith(t, env, nil, argv...)
				if code != 0 {
					t.Fatalf("%s: exit %d\n%s", name, code, stderr)
				}
				var logged []string
				var retried bool
				for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
					var rec map[string]any
					if err := json.Unmarshal([]byte(line), &rec); err != nil {
						t.Fatalf("%s: a line on stderr is not JSON: %q", name, line)
					}
					if rec["msg"] != "request" {
						continue
					}
					for _, key := range []string{"level", "method", "path", "status", "api_id", "attempt", "duration_ms", "wait_ms"} {
						if _, ok := rec[key]; !ok {
							t.Errorf("%s: request line without %s: %s", name, key, line)
						}
					}
					if rec["level"] != "DEBUG" {
						t.Errorf("%s: request line at %v, want DEBUG", name, rec["level"])
					}
					if rec["status"] == 503.0 {
						if rec["api_id"] != "[redacted]" || rec["error"] != "server" {
							t.Errorf("%s: the 503's line: %s", name, line)
						}
					}
					if rec["attempt"] == 2.0 && rec["method"] == "POST" {
						retried = true
						if w, _ := rec["wait_ms"].(float64); w < 1000 {
							t.Errorf("%s: the retry after Retry-After: 1 waited %v ms: %s", name, w, line)
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
					t.Errorf("run: no line for the update's second attempt:\n%s", stderr)
				}
				if verbose && len(seen) < 2 {
					t.Errorf("%s: the server saw %d requests", name, len(seen))
				}
			})
		}
	}
}

// TestVerbose_textLines: in text mode the request lines are slog's text,
// one a request.
func TestVerbose_textLines(t *testing.T) {
	t.Parallel()
	v := startVerboseServer(t)
	dir := t.TempDir()
	env := envOf(map[string]string{"PLIVO_API_URL": v.url, "PLIVO_AUTH_ID": v.authID, "PLIVO_AUTH_TOKEN": v.token})
	code, _, stderr := runWith(t, env, nil, "export", "--output", filepath.Join(dir, "export.csv"), "--verbose")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	n := strings.Count(stderr, "level=DEBUG msg=request method=GET path=")
	if want := len(v.requests()); n != want {
		t.Errorf("%d request lines for %d requests:\n%s", n, want, stderr)
	}
	if !strings.Contains(stderr, "api_id=[redacted]") || !strings.Contains(stderr, " status=200 ") || !strings.Contains(stderr, " attempt=1 wait_ms=") {
		t.Errorf("the account check's line lacks a field, or its api_id is not redacted:\n%s", stderr)
	}
}

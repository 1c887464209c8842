package main

import (
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// TestExport_accountChangesWhileListed changes the account between the
// first and the second page of an export: offset pages then shift, so a
// number can be missed or one already released listed, even when the
// count stays the same. Export must say so with exit code 5 and still write
// the file; on a quiet account it exits 0, having sent what it announced.
func TestExport_accountChangesWhileListed(t *testing.T) {
	t.Parallel()
	number := func(i int) string { return e2eNumberRange(i, 1)[0] }
	for _, tc := range []struct {
		name   string
		change func(*sandbox.Server)
		code   int
	}{
		{"quiet", func(*sandbox.Server) {}, 0},
		{"one released, one bought: the count holds", func(s *sandbox.Server) {
			s.RemoveNumber(number(5))
			s.AddNumber(e2eNumbers(number(9999))[0])
		}, 5},
		{"three released", func(s *sandbox.Server) {
			for i := range 3 {
				s.RemoveNumber(number(i))
			}
		}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			lists := 0
			var fx *e2eFixture
			fx, r, _, _ := e2eMoveAll(t, sandbox.Config{}, 0, 100, e2eAppA, func(w http.ResponseWriter, q *http.Request) bool {
				if q.Method == http.MethodGet && strings.HasSuffix(q.URL.Path, "/Number/") {
					mu.Lock()
					if lists++; lists == 2 {
						tc.change(fx.srv)
					}
					mu.Unlock()
				}
				return false
			})
			res := r.run("export", "--output", "export.csv", "--summary", "summary.json", "--concurrency", "1", "--rate", "0", "--log-format", "json")
			e2eExit(t, "run", res, tc.code)
			// The count announced at the start is what is sent (no retries
			// here), the account check included.
			if start, end := e2eLog(res.stderr, "starting export"), e2eLog(res.stderr, "export finished"); tc.code == 0 && (start == nil || end == nil || start["requests"] != end["requests"]) {
				t.Errorf("announced %v requests, sent %v\n%s", start, end, res.stderr)
			}
			if changed := strings.Contains(res.stderr, "the account changed while it was listed"); changed != (tc.code == 5) {
				t.Errorf("stderr says the account changed: %v, want %v\n%s", changed, tc.code == 5, res.stderr)
			}
			if s := e2eReadSummary(t, r.path("summary.json")); s.ExitCode != tc.code {
				t.Errorf("summary exit_code %d, want %d", s.ExitCode, tc.code)
			}
			// The file is written either way, a header first.
			if data, err := os.ReadFile(r.path("export.csv")); err != nil || !strings.HasPrefix(string(data), "number,app_id,subaccount,alias\n") {
				t.Errorf("export file: %v %.60q", err, data)
			}
		})
	}
}

// TestExport_summarySaysStoppedBy: an export interrupted while the
// API throttles it writes a --summary whose stopped_by says so, as run's
// and plan's do ("the summary JSON's stopped_by tells the early stops
// apart"); it said "" next to exit code 130.
func TestExport_summarySaysStoppedBy(t *testing.T) {
	t.Parallel()
	fx, r, _, _ := e2eMoveAll(t, sandbox.Config{}, 0, 2, e2eAppA, func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/Number/") {
			e2eAnswer429(w, "300")
			return true
		}
		return false
	})
	p := r.start(nil, "export", "--output", r.path("out.csv"), "--summary", r.path("sum.json"), "--progress", "never")
	e2eWaitFor(t, 10*time.Second, "the export to wait for the API", func() bool {
		return strings.Contains(p.stderr.String(), "waiting for the API")
	})
	e2eInterrupt(t, fx, p, syscall.SIGINT, 10*time.Second)
	if sum := e2eReadSummary(t, r.path("sum.json")); sum.StoppedBy != "interrupted" || sum.ExitCode != 130 {
		t.Errorf("summary stopped_by %q exit_code %d, want interrupted 130", sum.StoppedBy, sum.ExitCode)
	}
}

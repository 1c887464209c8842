package main

import (
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

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
			if s := e2eReadSummary[summaryFile](t, r.path("summary.json")); s.ExitCode != tc.code {
				t.Errorf("summary exit_code %d, want %d", s.ExitCode, tc.code)
			}
			// The file is written either way, a header first.
			if data, err := os.ReadFile(r.path("export.csv")); err != nil || !strings.HasPrefix(string(data), "number,app_id,subaccount,alias\n") {
				t.Errorf("export file: %v %.60q", err, data)
			}
		})
	}
}

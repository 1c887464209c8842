package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// TestE2E_Export_accountChangesWhileListed changes the account between the
// first and the second page of an export: offset pages then shift, so a
// number can be missed or one already released listed, even when the
// count stays the same. Export must say so with exit code 5 and still write
// the file; on a quiet account it exits 0.
func TestE2E_Export_accountChangesWhileListed(t *testing.T) {
	number := func(i int) string { return fmt.Sprintf("1202558%04d", i) }
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
			var ns []string
			for i := range 100 {
				ns = append(ns, number(i))
			}
			fx := e2eStartFixture(t, sandbox.Config{}, e2eNumbers(ns...)...)
			var mu sync.Mutex
			lists := 0
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
				if q.Method == http.MethodGet && strings.HasSuffix(q.URL.Path, "/Number/") {
					mu.Lock()
					if lists++; lists == 2 {
						tc.change(fx.srv)
					}
					mu.Unlock()
				}
				fx.ServeHTTP(w, q)
			}))
			t.Cleanup(front.Close)
			r := e2eNewRunner(t, fx).with("PLIVO_API_URL", front.URL)
			res := r.run("export", "--output", "export.csv", "--summary", "summary.json", "--concurrency", "1", "--rate", "0")
			if res.code != tc.code {
				t.Fatalf("exit code %d, want %d\n%v", res.code, tc.code, res)
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

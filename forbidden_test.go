package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// TestForbidden_everyUpdateRefusedStopsTheRun: credentials that may read the
// account but not change its numbers get a 403 for every update. The
// account check, the pre-flight and the listing answered 200 before any
// update, yet the run stops after the first ten updates, exit 3, rather
// than sending every row to be refused.
func TestForbidden_everyUpdateRefusedStopsTheRun(t *testing.T) {
	t.Parallel()
	numbers := e2eNumberRange(4100, 100)
	cfg := sandbox.Config{AuthID: "MAFORBIDDENAAAAAAAAA", AuthToken: "tok-forbidden-0123456789abcdef"}
	srv := sandbox.New(cfg)
	srv.AddApplication(e2eAppA, "Support line")
	for _, n := range e2eNumbers(numbers...) {
		srv.AddNumber(n)
	}
	var posts atomic.Int64
	url := e2eServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/Number/") {
			posts.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"api_id":"f0","error":"not allowed to change this number"}`)
			return
		}
		srv.ServeHTTP(w, r)
	}))
	dir := t.TempDir()
	var in strings.Builder
	in.WriteString("number,app_id,alias\n")
	for i, n := range numbers {
		if i%2 == 0 {
			in.WriteString(n + "," + e2eAppA + ",\n")
		} else { // alias only: the number's app is read first, by the listing here
			in.WriteString(n + ",,renamed\n")
		}
	}
	input := filepath.Join(dir, "numbers.csv")
	if err := os.WriteFile(input, []byte(in.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	env := envOf(map[string]string{"PLIVO_API_URL": url, "PLIVO_AUTH_ID": cfg.AuthID, "PLIVO_AUTH_TOKEN": cfg.AuthToken})
	code, _, stderr := runWith(t, env, nil, e2eRun(input, filepath.Join(dir, "report.csv"), "--rate", "0", "--concurrency", "1")...)
	if code != exitAborted || !strings.Contains(stderr, "403") {
		t.Errorf("exit code %d, want %d naming the 403s\n%s", code, exitAborted, stderr)
	}
	if n := posts.Load(); n != 10 {
		t.Errorf("%d updates sent, want the run stopped after the first 10", n)
	}
}

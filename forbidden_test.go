package main

import (
	"net/http"
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
	var posts atomic.Int64
	_, r, _, numbers := e2eMoveAll(t, sandbox.Config{}, 4100, 100, e2eAppA, func(w http.ResponseWriter, q *http.Request) bool {
		if q.Method != http.MethodPost || !strings.Contains(q.URL.Path, "/Number/") {
			return false
		}
		posts.Add(1)
		e2eAnswer(w, http.StatusForbidden, "application/json", `{"api_id":"f0","error":"not allowed to change this number"}`)
		return true
	})
	var in strings.Builder
	in.WriteString("number,app_id,alias\n")
	for i, n := range numbers {
		if i%2 == 0 {
			in.WriteString(n + "," + e2eAppA + ",\n")
		} else { // alias only: the number's app is read first, by the listing here
			in.WriteString(n + ",,renamed\n")
		}
	}
	res := r.run(e2eRun(r.write("numbers.csv", in.String()), "report.csv", "--rate", "0", "--concurrency", "1")...)
	e2eExit(t, "run", res, exitAborted)
	e2eHas(t, "stderr", res.stderr, "403")
	if n := posts.Load(); n != 10 {
		t.Errorf("%d updates sent, want the run stopped after the first 10", n)
	}
}

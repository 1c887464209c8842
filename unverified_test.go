package main

// Tests of a stop between an update and its read-back: the rows were applied
// but not verified, and say so.

import (
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// TestInterrupt_countsAppliedRowsAsUnverified holds the answers of the
// first updates of a --verify run (applied by the sandbox) until one Ctrl-C
// has stopped the run. Those rows are reported `unverified`, counted apart
// in the summary on stderr, in the JSON log and in the --summary file, and a
// --resume sends them again and reads them back.
func TestInterrupt_countsAppliedRowsAsUnverified(t *testing.T) {
	t.Parallel()
	const n, held = 20, 4
	var mu sync.Mutex
	waiting, release := 0, make(chan struct{})
	var fx *e2eFixture
	fx, r, input, _ := e2eMoveAll(t, sandbox.Config{}, 1800, n, e2eAppA, func(w http.ResponseWriter, q *http.Request) bool {
		if q.Method != http.MethodPost {
			return false
		}
		rec := httptest.NewRecorder()
		fx.ServeHTTP(rec, q) // applied now, answered once released
		mu.Lock()
		waiting++
		mu.Unlock()
		<-release
		e2eAnswer(w, rec.Code, "application/json", rec.Body.String())
		return true
	})
	free := sync.OnceFunc(func() { close(release) })
	t.Cleanup(free) // before front.Close, which waits for the held answers
	run := e2eRun(input, "report.csv", "--verify", "--rate", "0", "--concurrency", "4", "--summary", "summary.json", "--log-format", "json")
	p := r.start(nil, run...)
	e2eWaitFor(t, 10*time.Second, "4 updates held", func() bool { mu.Lock(); defer mu.Unlock(); return waiting == held })
	p.signal(syscall.SIGINT)
	e2eWaitFor(t, 10*time.Second, "the stop", func() bool {
		return slices.ContainsFunc(e2eJSONLogs(p.stderr.String()), func(m map[string]any) bool {
			msg, _ := m["msg"].(string)
			return strings.HasPrefix(msg, "interrupted: ")
		})
	})
	free()
	res := p.wait()
	e2eExit(t, "interrupted run", res, 130)

	rows := e2eAttempted(e2eReadReport(t, r.path("report.csv")))
	if len(rows) != held {
		t.Fatalf("report has %d rows, want %d", len(rows), held)
	}
	for _, row := range rows {
		if got, _ := fx.srv.Number(row.Number); row.Status != "unverified" || row.HTTPStatus != "202" || row.APIID == "" || got.AppID != e2eAppA {
			t.Errorf("report row %d: %s %s %q (number on %s); want unverified 202 with its api_id, applied", row.Row, row.Status, row.HTTPStatus, row.APIID, got.AppID)
		}
	}
	if sum := e2eReadSummary(t, r.path("summary.json")); sum.Unverified != held || sum.Failed != 0 || sum.NotAttempted != n-held {
		t.Errorf("summary file: unverified %d failed %d not_attempted %d; want %d, 0, %d", sum.Unverified, sum.Failed, sum.NotAttempted, held, n-held)
	}
	logged := false
	for _, m := range e2eJSONLogs(res.stderr) {
		logged = logged || m["msg"] == "run finished" && m["unverified"] == float64(held) && m["failed"] == float64(0)
	}
	if !logged {
		t.Errorf("no \"run finished\" log with unverified %d and failed 0:\n%s", held, res.stderr)
	}

	// Not done: the resumed run reads them back (the sandbox applied them:
	// nothing to send again) and sends the rest.
	since := time.Now()
	res = r.run(e2eRun(input, "report.csv", "--verify", "--rate", "0", "--resume")...)
	e2eExit(t, "resumed run", res, 0)
	if c := e2eSummaryCount(res.stderr, "ok"); c != n {
		t.Errorf("resumed run: ok %d, want %d\n%s", c, n, res.stderr)
	}
	if posts := fx.posts(t, since); len(posts) != n-held {
		t.Errorf("resumed run updated %d numbers, want the %d not sent before (the unverified ones read back only)", len(posts), n-held)
	}
}

// TestInterrupt_readBackWaitingForARetryIsUnverified: each update is
// applied, but its read-back answers 503 with a Retry-After of a minute, so
// each row waits to try again when one Ctrl-C stops the run. Those rows
// were applied and not verified: `unverified` with their api_id, not
// `failed`.
func TestInterrupt_readBackWaitingForARetryIsUnverified(t *testing.T) {
	t.Parallel()
	const n = 4
	var mu sync.Mutex
	posted, refused := map[string]bool{}, 0
	_, r, input, _ := e2eMoveAll(t, sandbox.Config{}, 1850, n, e2eAppA, func(w http.ResponseWriter, q *http.Request) bool {
		num := path.Base(q.URL.Path)
		mu.Lock()
		defer mu.Unlock()
		if q.Method == http.MethodPost {
			posted[num] = true
		} else if posted[num] {
			refused++
			w.Header().Set("Retry-After", "60")
			e2eAnswer(w, http.StatusServiceUnavailable, "application/json", `{"error":"service unavailable"}`)
			return true
		}
		return false
	})
	p := r.start(nil, e2eRun(input, "report.csv", "--verify", "--rate", "0", "--concurrency", "4", "--summary", "summary.json")...)
	e2eWaitFor(t, 10*time.Second, "every read-back refused", func() bool { mu.Lock(); defer mu.Unlock(); return refused == n })
	p.signal(syscall.SIGINT)
	res := p.wait()
	e2eExit(t, "interrupted run", res, 130)
	for _, row := range e2eReadReport(t, r.path("report.csv")) {
		if row.Status != "unverified" || row.HTTPStatus != "202" || row.APIID == "" {
			t.Errorf("report row %d: %s %s %q %q; want unverified 202 with its api_id", row.Row, row.Status, row.HTTPStatus, row.APIID, row.Error)
		}
	}
	if sum := e2eReadSummary(t, r.path("summary.json")); sum.Unverified != n || sum.Failed != 0 {
		t.Errorf("summary: unverified %d failed %d; want %d, 0", sum.Unverified, sum.Failed, n)
	}
}

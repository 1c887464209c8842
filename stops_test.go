package main

// Tests of stops and limits: waits that a signal must end, long Retry-After
// waits, input limits, the pool's details, and the report and plan a stopped
// run leaves. Where the sandbox cannot misbehave as needed, a front before it
// does.

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// e2eIsAccount reports whether r reads the account itself.
func e2eIsAccount(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Count(strings.Trim(r.URL.Path, "/"), "/") == 2
}

// the waits before the first update (the account check and the
// pre-flight, their Retry-After sleeps, a stalled standard input, an input
// or a token file that is a FIFO no one writes), and an export's wait for
// the listing, end at the first SIGINT or SIGTERM: exit 130, nothing sent,
// and a summary that says so.
func TestStop_signalEndsWaits(t *testing.T) {
	t.Parallel()
	app := func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/Application/") }
	throttle := func(w http.ResponseWriter, _ *http.Request) { e2eAnswer429(w, "300") }
	// They change nothing: waiting for them is waiting for the client's timeout.
	hang := func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	tests := []struct {
		name   string
		sig    syscall.Signal // SIGTERM to the binary: main's to map
		match  func(*http.Request) bool
		answer func(http.ResponseWriter, *http.Request) // the server's answer to what match picks
		input  string                                   // or else the input waits: "stdin", "fifo", "token fifo"; or "export"
	}{
		{"account check, Retry-After 300", syscall.SIGINT, e2eIsAccount, throttle, ""},
		{"account check, Retry-After 300, SIGTERM to the binary", syscall.SIGTERM, e2eIsAccount, throttle, ""},
		{"pre-flight application read, Retry-After 300", syscall.SIGINT, app, throttle, ""},
		{"account check never answered", syscall.SIGINT, e2eIsAccount, hang, ""},
		{"pre-flight application read never answered", syscall.SIGINT, app, hang, ""},
		{"stalled standard input", syscall.SIGINT, nil, nil, "stdin"},
		{"input a FIFO with no writer", syscall.SIGINT, nil, nil, "fifo"},
		{"token file a FIFO with no writer", syscall.SIGINT, nil, nil, "token fifo"},
		{"export's listing, Retry-After 300", syscall.SIGINT, func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/Number/") }, throttle, "export"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int64 // requests the misbehaving server answered
			fx, r, input, _ := e2eMoveAll(t, sandbox.Config{}, 2000, 3, e2eAppA, func(w http.ResponseWriter, q *http.Request) bool {
				if tt.match == nil || !tt.match(q) {
					return false
				}
				hits.Add(1)
				tt.answer(w, q)
				return true
			})
			var stdin io.Reader
			switch fifo := r.path("some.fifo"); tt.input {
			case "stdin": // as `sleep 1000 | plivo-bulk run --input -`, after part of the header
				pr, pw, err := os.Pipe()
				e2eOK(t, err)
				t.Cleanup(func() { _ = pr.Close(); _ = pw.Close() })
				_, _ = io.WriteString(pw, "number,app")
				stdin, input = pr, "-"
			case "fifo", "token fifo":
				if err := syscall.Mkfifo(fifo, 0o600); err != nil {
					t.Skipf("mkfifo: %v", err)
				}
				if input = fifo; tt.input == "token fifo" {
					input, r = r.path("numbers.csv"), r.without("PLIVO_AUTH_TOKEN").with("PLIVO_AUTH_TOKEN_FILE", fifo)
				}
			}
			if tt.sig != syscall.SIGINT {
				r = r.binary()
			}
			argv := e2eRun(input, "report.csv", "--rate", "0", "--summary", "summary.json")
			if tt.input == "export" {
				argv = []string{"export", "--output", "out.csv", "--summary", "summary.json", "--progress", "never"}
			}
			p, start := r.start(stdin, argv...), time.Now()
			e2eWaitFor(t, 10*time.Second, "the wait", func() bool {
				return hits.Load() > 0 || tt.match == nil && time.Since(start) > 300*time.Millisecond || p.exited()
			})
			time.Sleep(50 * time.Millisecond) // well into it
			p.alive("before the signal")
			res := p.signalEnds(tt.sig, 3*time.Second) // or the wait ignores the signal
			e2eExit(t, "run", res, 130, "interrupted")
			if posts := fx.posts(t, time.Time{}); len(posts) != 0 {
				t.Errorf("updates were sent: %v", posts)
			}
			if sum := e2eReadSummary[summaryFile](t, r.path("summary.json")); sum.ExitCode != 130 || sum.StoppedBy != "interrupted" {
				t.Errorf("summary stopped_by %q exit_code %d, want interrupted 130", sum.StoppedBy, sum.ExitCode)
			}
		})
	}
}

// a third signal exits at once, even when the second cannot end
// the run: here the report goes to a pipe that no one reads, so its
// writes block.
func TestStop_thirdSignalExitsAtOnce(t *testing.T) {
	t.Parallel()
	fx, r, input, _ := e2eMoveAll(t, sandbox.Config{}, 3000, 2000, e2eAppA) // 170 KB of report: more than a pipe holds
	fifo := r.path("out.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	// Open the read end and never read it.
	rd, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	e2eOK(t, err)
	defer rd.Close()
	p := r.startVia([]string{"sh", "-c", `exec "$@" > out.fifo`, "sh"}, nil, e2eRun(input, "-", "--rate", "0")...)
	// Once the pipe is full, the server sees no more requests.
	var last int64
	e2eWaitFor(t, 20*time.Second, "the report's writes to block", func() bool {
		time.Sleep(100 * time.Millisecond)
		n := fx.requests()
		stalled := n > 100 && n == last
		last = n
		return stalled || p.exited()
	})
	p.alive("though its report could not be read")
	p.signal(syscall.SIGINT)
	e2eWaitFor(t, 5*time.Second, "the first signal's notice", func() bool { return strings.Contains(p.stderr.String(), "waiting for calls in flight") })
	p.signal(syscall.SIGINT)
	e2eWaitFor(t, 5*time.Second, "the second signal's notice", func() bool { return strings.Contains(p.stderr.String(), "stopping now") })
	if p.waitTimeout(300 * time.Millisecond) {
		t.Fatalf("the second signal ended the run: the test proves nothing about the third\n%v", p.wait())
	}
	sent := time.Now()
	res := p.signalEnds(syscall.SIGINT, 2*time.Second)
	if took := time.Since(sent); took > time.Second {
		t.Errorf("the third signal took %v to end the run", took)
	}
	e2eExit(t, "run", res, 130, "exiting at once")
}

// a Retry-After is waited for and said; one longer than
// --max-throttle-wait stops the run at once, resumable. A 429, on an
// attempt's first request or on a later one (the read-back of --verify),
// never uses up the attempts: with --max-attempts 1, every row still ends
// ok.
func TestThrottle_retryAfter(t *testing.T) {
	t.Parallel()
	t.Run("waited and logged, never an attempt", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) { // the 2 s in fake time
			var mu sync.Mutex
			seen := map[string]int{} // method and path -> requests so far
			_, r, input, _ := e2eMoveAll(t, sandbox.Config{}, 2200, 10, e2eAppA, func(w http.ResponseWriter, r *http.Request) bool {
				mu.Lock()
				defer mu.Unlock()
				key := r.Method + " " + r.URL.Path
				if seen[key]++; seen[key] > 1 || !strings.Contains(key, "/Number/") {
					return false
				}
				seen[r.Method]++ // the first update waits for a Retry-After
				e2eAnswer429(w, map[bool]string{true: "2"}[seen["POST"] == 1 && r.Method == http.MethodPost])
				return true
			})
			// Without --adaptive, the 429s do not slow the run down.
			res := r.run(e2eRun(input, "report.csv", "--rate", "0", "--log-format", "json", "--max-attempts", "1", "--verify", "--adaptive=false")...)
			e2eExit(t, "run", res, 0)
			logged := false
			for _, l := range e2eJSONLogs(res.stderr) {
				if l["msg"] == "waiting for the API" && l["wait_s"] == 2.0 && strings.Contains(fmt.Sprint(l["why"]), "Retry-After") {
					logged = true
				}
			}
			if !logged {
				t.Errorf("no log line says the run waits 2 s for a Retry-After\n%s", res.stderr)
			}
			if res.elapsed < 2*time.Second || res.elapsed > 3*time.Second {
				t.Errorf("the run took %v, want the 2 s of the Retry-After", res.elapsed)
			}
			for _, g := range e2eReadReport(t, r.path("report.csv")) {
				if g.Status != "ok" {
					t.Errorf("%s: %s %q, want ok", g.Number, g.Status, g.Error)
				}
			}
		})
	})
	t.Run("longer than --max-throttle-wait", func(t *testing.T) {
		t.Parallel()
		var accepts atomic.Bool // once the account accepts again
		_, r, input, _ := e2eMoveAll(t, sandbox.Config{}, 2210, 3, e2eAppA, func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodPost && !accepts.Load() {
				e2eAnswer429(w, "86400")
				return true
			}
			return false
		})
		res := r.run(e2eRun(input, "report.csv", "--rate", "0", "--max-throttle-wait", "30s")...)
		e2eExit(t, "run", res, 3)
		if res.elapsed > 5*time.Second {
			t.Errorf("the run took %v to give up on a day-long Retry-After", res.elapsed)
		}
		e2eHas(t, "stderr", res.stderr, "Retry-After", "--max-throttle-wait")
		accepts.Store(true)
		e2eExit(t, "resume once the API accepts", r.run(e2eRun(input, "report.csv", "--resume", "--rate", "0")...), 0)
	})
}

// --concurrency 1000 under `ulimit -n 256`: the pool is fitted to
// the open-files limit, says so, and no row fails for want of a file.
func TestPool_fitsOpenFiles(t *testing.T) {
	t.Parallel()
	_, r, input, nums := e2eMoveAll(t, sandbox.Config{Latency: 200 * time.Millisecond}, 4000, 300, e2eAppA)
	res := r.startVia([]string{"sh", "-c", `ulimit -n 256 && exec "$@"`, "sh"}, nil,
		e2eRun(input, "report.csv", "--rate", "0", "--concurrency", "1000")...).wait()
	e2eExit(t, "run", res, 0, "open-files limit")
	if n := e2eSummaryCount(res.stderr, "ok"); n != len(nums) {
		t.Errorf("ok %d, want %d\n%s", n, len(nums), res.stderr)
	}
}

// after the first Ctrl-C no request goes out: everything the
// server received is in the report. Once a few updates went through, the
// server holds the next ones, so that every worker is busy at the signal;
// it lets them go once the run has said it stops, and from then on no
// request may come, however slow the machine.
func TestStop_noRequestAfterStop(t *testing.T) {
	t.Parallel()
	const workers, passed = 4, 10
	var posts atomic.Int64
	var stopped atomic.Bool
	held, release := make(chan struct{}, 300), make(chan struct{})
	fx, r, input, _ := e2eMoveAll(t, sandbox.Config{}, 5000, 300, e2eAppA, func(w http.ResponseWriter, r *http.Request) bool {
		if stopped.Load() {
			t.Errorf("%s %s arrived after the run said it stops", r.Method, r.URL.Path)
		}
		if r.Method == http.MethodPost && posts.Add(1) > passed {
			held <- struct{}{}
			<-release
		}
		return false
	})
	letGo := sync.OnceFunc(func() { close(release) })
	t.Cleanup(letGo) // before the proxy's Close, which waits for its handlers
	report := r.path("report.csv")
	p := r.start(nil, e2eRun(input, report, "--rate", "100", "--concurrency", fmt.Sprint(workers))...)
	for range workers {
		select {
		case <-held:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d updates arrived, want %d held\n%s", posts.Load(), passed+workers, p.stderr.String())
		}
	}
	p.signal(syscall.SIGINT)
	e2eWaitFor(t, 10*time.Second, "the stop notice", func() bool { return strings.Contains(p.stderr.String(), "no new rows are sent") })
	stopped.Store(true)
	letGo()
	if !p.waitTimeout(10 * time.Second) {
		t.Fatal("no exit 10s after SIGINT")
	}
	res := p.wait()
	e2eExit(t, "run", res, 130)
	fx.quiesce(t)
	reported := map[string]bool{}
	for _, g := range e2eReadReport(t, report) {
		reported[g.Number] = true
	}
	for num := range fx.posts(t, time.Time{}) {
		if !reported[num] {
			t.Errorf("%s was sent but is not in the report", num)
		}
	}
	e2eHas(t, "stderr", res.stderr, "not attempted")
}

// TestStop_reportHoldsEveryRow: a run stopped early (the failure budget,
// Ctrl-C) still writes one line per input row, the rows it never reached
// as not_attempted, and --resume then sends exactly the rows that were not
// ok: the not-attempted and the failed ones, never an ok one, and leaves
// one line per row.
func TestStop_reportHoldsEveryRow(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		flags []string
		stop  func(*testing.T, *e2eProc, string)
		code  int
	}{
		"max-failures": {flags: []string{"--max-failures", "2"}, code: 4},
		"interrupt": {code: 130, stop: func(t *testing.T, p *e2eProc, report string) {
			e2eWaitFor(t, 10*time.Second, "3 report rows", func() bool { return e2eReportLines(report) >= 3 || p.exited() })
			p.signal(syscall.SIGINT)
		}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			numbers := e2eNumberRange(300, 20)
			missing := []string{numbers[3], numbers[4]} // not on the account: 404 until the resume
			fx, r := e2eStartFixture(t, sandbox.Config{Latency: 20 * time.Millisecond})
			for _, n := range e2eNumbers(numbers...) {
				if !slices.Contains(missing, n.Number) {
					fx.srv.AddNumber(n)
				}
			}
			input := r.write("numbers.csv", e2eInput("number,app_id", e2eAppA, numbers...)+"12ab,"+e2eAppA+"\n"+numbers[0]+","+e2eAppA+"\n")
			rows := len(numbers) + 2
			args := e2eRun(input, "report.csv", append(tc.flags, "--concurrency", "1", "--rate", "0")...)

			p := r.start(nil, args...)
			if tc.stop != nil {
				tc.stop(t, p, r.path("report.csv"))
			}
			e2eExit(t, "run", p.wait(), tc.code)
			fx.quiesce(t)
			status, resend := map[int]string{}, map[string]bool{}
			for row, g := range e2eEveryRowOnce(t, e2eReadReport(t, r.path("report.csv")), rows) {
				if status[row] = g.Status; g.Status == "failed" || g.Status == "not_attempted" {
					resend[g.Number] = true
				}
			}
			if status[rows] != "invalid" || status[rows+1] != "invalid" || !slices.Contains(slices.Collect(maps.Values(status)), "not_attempted") {
				t.Fatalf("want the invalid and repeated rows invalid, and rows not attempted: %v", status)
			}

			for _, n := range e2eNumbers(missing...) {
				fx.srv.AddNumber(n)
			}
			since := time.Now()
			e2eExit(t, "resume", r.run(append(args, "--resume")...), 1) // 1: the invalid rows
			sent := fx.posts(t, since)
			for n := range resend {
				if len(sent[n]) != 1 {
					t.Errorf("%s was not ok before the resume, which sent it %d times", n, len(sent[n]))
				}
			}
			for n := range sent {
				if !resend[n] {
					t.Errorf("%s was ok before the resume, which sent it again", n)
				}
			}
			// The resumed run's lines took the place of the ones it superseded;
			// the repeated row's invalid line took none.
			if final := e2eEveryRowOnce(t, e2eReadReport(t, r.path("report.csv")), rows); final[2].Status != "ok" {
				t.Errorf("after the resume, row 2 is %q, want ok", final[2].Status)
			}
		})
	}
}

// TestStop_planHoldsEveryRow: an interrupted plan writes every row once, the
// rows it never read with change=not_read.
func TestStop_planHoldsEveryRow(t *testing.T) {
	t.Parallel()
	_, r, input, numbers := e2eMoveAll(t, sandbox.Config{Latency: 20 * time.Millisecond}, 400, 20, e2eAppA)
	p := r.start(nil, "plan", "--input", input, "--output", "plan.csv", "--read", "each", "--concurrency", "1", "--rate", "0", "--progress", "never")
	e2eWaitFor(t, 10*time.Second, "3 plan rows", func() bool { return e2eReportLines(r.path("plan.csv")) >= 3 || p.exited() })
	p.signal(syscall.SIGINT)
	e2eExit(t, "plan", p.wait(), 130)
	change := map[string]string{}
	for _, row := range readCSV(t, r.path("plan.csv")) {
		if _, twice := change[row["row"]]; twice {
			t.Errorf("row %s twice in the plan", row["row"])
		}
		change[row["row"]] = row["change"]
	}
	if len(change) != len(numbers) || !slices.Contains(slices.Collect(maps.Values(change)), "not_read") {
		t.Errorf("the plan has %d of %d rows, want all, the rows not read with change=not_read: %v", len(change), len(numbers), change)
	}
}

// e2eAttempted drops the lines of rows a stopped run never reached.
func e2eAttempted(rows []e2eReportRow) []e2eReportRow {
	return slices.DeleteFunc(rows, func(g e2eReportRow) bool { return g.Status == "not_attempted" })
}

package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// These tests call run() in-process, as main does, against a sandbox on
// loopback, with real files. (The e2e tests run the built binary.)

const (
	wfApp1, wfApp2, wfDefault = "1001", "1002", "1999"
	wfSub1, wfSub2            = "SAAAAAAAAAAAAAAAAAA1", "SAAAAAAAAAAAAAAAAAA2"
)

type wfFixture struct {
	srv   *sandbox.Server
	dir   string
	mu    sync.Mutex
	posts map[string]int
	gets  map[string]int
}

// newWorkflow starts a sandbox that assigns the default app to updates
// without app_id (as Plivo documents), points the environment at it, and
// seeds numbers.
func newWorkflow(t *testing.T, numbers ...sandbox.Number) *wfFixture {
	return newWorkflowWith(t, nil, numbers...)
}

func newWorkflowWith(t *testing.T, wrap func(http.Handler) http.Handler, numbers ...sandbox.Number) *wfFixture {
	t.Helper()
	srv := sandbox.New(sandbox.Config{DefaultAppOnMissing: true, DefaultApp: wfDefault})
	for _, id := range []string{wfApp1, wfApp2} {
		srv.AddApplication(id, "app "+id)
	}
	srv.AddSubaccount(wfSub1, "one")
	srv.AddSubaccount(wfSub2, "two")
	for _, n := range numbers {
		srv.AddNumber(n)
	}
	fx := &wfFixture{srv: srv, dir: t.TempDir(), posts: map[string]int{}, gets: map[string]int{}}
	srv.SetRecorder(func(r sandbox.Request) {
		if r.Number == "" {
			return
		}
		fx.mu.Lock()
		defer fx.mu.Unlock()
		if r.Method == http.MethodPost {
			fx.posts[r.Number]++
		} else {
			fx.gets[r.Number]++
		}
	})
	var h http.Handler = srv
	if wrap != nil {
		h = wrap(srv)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	cfg := srv.Config()
	t.Setenv("PLIVO_API_URL", hs.URL)
	t.Setenv("PLIVO_AUTH_ID", cfg.AuthID)
	t.Setenv("PLIVO_AUTH_TOKEN", cfg.AuthToken)
	return fx
}

func (fx *wfFixture) write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(fx.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (fx *wfFixture) counts() (posts, gets int) {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	for _, n := range fx.posts {
		posts += n
	}
	for _, n := range fx.gets {
		gets += n
	}
	return posts, gets
}

// runInProcess runs the command line in-process and returns the exit code.
func runInProcess(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), nil, args, &stdout, &stderr)
	code := exitCode(err, &stderr)
	if tok := os.Getenv("PLIVO_AUTH_TOKEN"); tok != "" && strings.Contains(stdout.String()+stderr.String(), tok) {
		t.Errorf("the token appears in the output of %v", args)
	}
	return code, stdout.String(), stderr.String()
}

func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(e2eSkipOrigin(data))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = rec[i]
		}
		out = append(out, m)
	}
	return out
}

var wfNumbers = []sandbox.Number{
	{Number: "12025550001", AppID: wfApp1, Alias: "one"},
	{Number: "12025550002", AppID: wfApp1, Alias: "two", Subaccount: wfSub1},
	{Number: "12025550003", Alias: "three"}, // no app
	{Number: "12025550004", AppID: wfApp2, Alias: "four"},
	{Number: "12025550005", AppID: wfApp2, Alias: "five", Subaccount: wfSub1},
}

const wfInput = `number,app_id,subaccount,alias
12025550001,` + wfApp2 + `,,
12025550002,,` + wfSub2 + `,moved
12025550003,,,renamed only
12025550004,(clear),,
12025550005,,,(clear)
`

func TestWorkflow_undoRoundTrip(t *testing.T) {
	fx := newWorkflow(t, wfNumbers...)
	before := fx.srv.Numbers()
	in := fx.write(t, "in.csv", wfInput)
	undo := filepath.Join(fx.dir, "undo.csv")

	code, _, stderr := runInProcess(t, "run", "--input", in, "--report", filepath.Join(fx.dir, "r1.csv"), "--undo", undo, "--verify", "--rate", "0", "--progress", "never")
	if code != 0 {
		t.Fatalf("run exit %d:\n%s", code, stderr)
	}
	want := map[string]sandbox.Number{
		"12025550001": {AppID: wfApp2, Alias: "one"},
		"12025550002": {AppID: wfApp1, Alias: "moved", Subaccount: wfSub2},
		"12025550003": {AppID: "", Alias: "renamed only"}, // not moved to the default app
		"12025550004": {AppID: "", Alias: "four"},
		"12025550005": {AppID: wfApp2, Alias: "", Subaccount: wfSub1},
	}
	for n, w := range want {
		got, _ := fx.srv.Number(n)
		if got.AppID != w.AppID || got.Alias != w.Alias || got.Subaccount != w.Subaccount {
			t.Errorf("after run, %s = app %q alias %q sub %q; want app %q alias %q sub %q", n, got.AppID, got.Alias, got.Subaccount, w.AppID, w.Alias, w.Subaccount)
		}
	}

	code, _, stderr = runInProcess(t, "run", "--input", undo, "--report", filepath.Join(fx.dir, "r2.csv"), "--rate", "0", "--progress", "never")
	if code != 0 {
		t.Fatalf("undo run exit %d:\n%s", code, stderr)
	}
	after := fx.srv.Numbers()
	for i := range before {
		if before[i] != after[i] {
			t.Errorf("after undo, %+v\nwant %+v", after[i], before[i])
		}
	}
}

func TestWorkflow_allowDefaultApp(t *testing.T) {
	fx := newWorkflow(t, wfNumbers[0])
	in := fx.write(t, "in.csv", "number,alias\n12025550001,new\n")
	code, _, stderr := runInProcess(t, "run", "--input", in, "--report", filepath.Join(fx.dir, "r.csv"), "--allow-default-app", "--progress", "never")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// Sent as it is, the row lets the (documented) default app take over.
	if got, _ := fx.srv.Number("12025550001"); got.AppID != wfDefault {
		t.Errorf("app = %q, want the default %q: --allow-default-app must send the row as it is", got.AppID, wfDefault)
	}
	if _, gets := fx.counts(); gets != 0 {
		t.Errorf("%d reads with --allow-default-app, want 0", gets)
	}
}

func TestWorkflow_skipUnchanged(t *testing.T) {
	fx := newWorkflow(t, wfNumbers...)
	in := fx.write(t, "in.csv", wfInput)
	if code, _, stderr := runInProcess(t, "run", "--input", in, "--report", filepath.Join(fx.dir, "r1.csv"), "--skip-unchanged", "--rate", "0", "--progress", "never"); code != 0 {
		t.Fatalf("first run exit %d: %s", code, stderr)
	}
	posts1, _ := fx.counts()
	code, _, stderr := runInProcess(t, "run", "--input", in, "--report", filepath.Join(fx.dir, "r2.csv"), "--skip-unchanged", "--rate", "0", "--progress", "never")
	if code != 0 {
		t.Fatalf("second run exit %d: %s", code, stderr)
	}
	if posts2, _ := fx.counts(); posts2 != posts1 {
		t.Errorf("the second run sent %d updates, want 0: everything was unchanged", posts2-posts1)
	}
	for _, r := range readCSV(t, filepath.Join(fx.dir, "r2.csv")) {
		if r["status"] != "skipped" || !strings.Contains(r["error"], "unchanged") {
			t.Errorf("row %s: status %q error %q, want skipped/unchanged", r["row"], r["status"], r["error"])
		}
	}
}

// TestWorkflow_verify puts a server in front of the sandbox that answers the
// first update of each number "changed" without passing it on, as Plivo does
// for a null: --verify must notice and send the update again.
func TestWorkflow_verify(t *testing.T) {
	var mu sync.Mutex
	swallowed := map[string]bool{}
	lie := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				mu.Lock()
				first := !swallowed[r.URL.Path]
				swallowed[r.URL.Path] = true
				mu.Unlock()
				if first {
					_, _ = io.Copy(io.Discard, r.Body)
					w.WriteHeader(http.StatusAccepted)
					fmt.Fprint(w, `{"message":"changed","api_id":"not-really"}`)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
	fx := newWorkflowWith(t, lie, wfNumbers...)
	in := fx.write(t, "in.csv", wfInput)
	report := filepath.Join(fx.dir, "r.csv")
	code, _, stderr := runInProcess(t, "run", "--input", in, "--report", report, "--verify", "--rate", "0", "--backoff-base", "1ms", "--backoff-max", "2ms", "--progress", "never")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, r := range readCSV(t, report) {
		if r["status"] != "ok" || r["attempts"] != "2" || r["api_id"] == "not-really" {
			t.Errorf("row %s: status %q attempts %q api_id %q; want ok after 2 attempts with the real api_id", r["row"], r["status"], r["attempts"], r["api_id"])
		}
	}

	// Without --verify the lie goes unnoticed: the check is what catches it.
	fx2 := newWorkflowWith(t, lie, sandbox.Number{Number: "12025550009", AppID: wfApp1})
	in2 := fx2.write(t, "in.csv", "number,app_id\n12025550009,"+wfApp2+"\n")
	mu.Lock()
	clear(swallowed)
	mu.Unlock()
	if code, _, _ := runInProcess(t, "run", "--input", in2, "--report", filepath.Join(fx2.dir, "r.csv"), "--progress", "never"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if got, _ := fx2.srv.Number("12025550009"); got.AppID != wfApp1 {
		t.Fatalf("the lying server applied the update")
	}
}

func TestWorkflow_plan(t *testing.T) {
	fx := newWorkflow(t, wfNumbers...)
	in := fx.write(t, "in.csv", wfInput+"12025550099,"+wfApp1+",,\n12025550077,,,\n12025550098,4040,,\n")
	out := filepath.Join(fx.dir, "plan.csv")
	code, _, stderr := runInProcess(t, "plan", "--input", in, "--output", out, "--rate", "0", "--progress", "never")
	if code != 1 {
		t.Fatalf("plan exit %d, want 1 (one number is not on the account):\n%s", code, stderr)
	}
	if posts, _ := fx.counts(); posts != 0 {
		t.Errorf("plan sent %d updates, want none", posts)
	}
	got := map[string]map[string]string{}
	for _, r := range readCSV(t, out) {
		got[r["row"]] = r
	}
	checks := []struct{ row, change, field, current, target, errPart string }{
		{"2", "yes", "app_id", wfApp1, wfApp2, ""},
		{"3", "yes", "subaccount", wfSub1, wfSub2, ""},
		{"4", "yes", "alias", "three", "renamed only", ""},
		{"5", "yes", "app_id", wfApp2, "(clear)", ""},
		{"6", "yes", "alias", "five", "(clear)", ""},
		{"7", "error", "app_id", "", wfApp1, "not found"},
		{"8", "error", "app_id", "", "", "nothing to change"},
		{"9", "error", "app_id", "", "4040", "not an application of this account"},
	}
	for _, c := range checks {
		r := got[c.row]
		if r == nil {
			t.Errorf("no plan row %s", c.row)
			continue
		}
		if r["change"] != c.change || r[c.field+"_current"] != c.current || r[c.field+"_target"] != c.target || !strings.Contains(r["error"], c.errPart) {
			t.Errorf("plan row %s = %v\nwant change %s, %s %q -> %q, error containing %q", c.row, r, c.change, c.field, c.current, c.target, c.errPart)
		}
	}
	// A row already in its target state.
	in2 := fx.write(t, "in2.csv", "number,app_id\n12025550001,"+wfApp1+"\n")
	if code, _, _ := runInProcess(t, "plan", "--input", in2, "--output", filepath.Join(fx.dir, "plan2.csv")); code != 0 {
		t.Fatalf("plan exit %d", code)
	}
	if r := readCSV(t, filepath.Join(fx.dir, "plan2.csv"))[0]; r["change"] != "no" {
		t.Errorf("plan of an unchanged row: %v", r)
	}
}

package main

import (
	"bytes"
	"encoding/csv"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
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
	hs := httptest.NewServer(srv)
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

// runInProcess runs the command line in-process with the test process's
// environment and no stdin, and returns the exit code.
func runInProcess(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runWith(t, os.Getenv, nil, args...)
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

	code, _, stderr := runInProcess(t, "run", "--input", in, "--report", filepath.Join(fx.dir, "r1.csv"), "--undo", undo, "--verify", "--rate", "0", "--progress", "never", "--yes")
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

	code, _, stderr = runInProcess(t, "run", "--input", undo, "--report", filepath.Join(fx.dir, "r2.csv"), "--rate", "0", "--progress", "never", "--yes")
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

// TestRunFlags_step: each run flag that changes what a row means sets its
// batch.Update option (what each option does is tested in package batch).
func TestRunFlags_step(t *testing.T) {
	base := []string{"--input", "in.csv", "--report", "r.csv"}
	tests := []struct {
		flags []string
		want  batch.Update
	}{
		{nil, batch.Update{PinApp: true}},
		{[]string{"--allow-default-app"}, batch.Update{}},
		{[]string{"--skip-unchanged"}, batch.Update{SkipUnchanged: true, PinApp: true}},
		{[]string{"--verify"}, batch.Update{Verify: true, PinApp: true}},
		{[]string{"--verify", "--skip-unchanged", "--allow-default-app"}, batch.Update{SkipUnchanged: true, Verify: true}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.flags, " "), func(t *testing.T) {
			var o runFlags
			if err := parseInto(newRunCmd(&sys{getenv: envOf(nil)}, &o), append(base, tt.flags...)); err != nil {
				t.Fatal(err)
			}
			if err := o.check(); err != nil {
				t.Fatal(err)
			}
			if got := o.step(); got != tt.want {
				t.Errorf("step() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestWorkflow_plan: plan writes the current and target values to
// --output and exits 1 when a row is in error, 0 when none is. (What each
// row's change is, is tested in package batch.)
func TestWorkflow_plan(t *testing.T) {
	fx := newWorkflow(t, wfNumbers...)
	in := fx.write(t, "in.csv", "number,app_id,subaccount,alias\n"+
		"12025550001,"+wfApp2+",,\n"+
		"12025550005,,,(clear)\n"+
		"12025550099,"+wfApp1+",,\n"+
		"12025550098,4040,,\n")
	out := filepath.Join(fx.dir, "plan.csv")
	code, _, stderr := runInProcess(t, "plan", "--input", in, "--output", out, "--rate", "0", "--progress", "never")
	if code != exitRowsFailed {
		t.Fatalf("plan exit %d, want 1 (rows in error):\n%s", code, stderr)
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
		{"3", "yes", "alias", "five", "(clear)", ""},
		{"4", "error", "app_id", "", wfApp1, "not found"},
		{"5", "error", "app_id", "", "4040", "not an application of this account"},
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
		t.Fatalf("plan exit %d, want 0", code)
	}
	if r := readCSV(t, filepath.Join(fx.dir, "plan2.csv"))[0]; r["change"] != "no" {
		t.Errorf("plan of an unchanged row: %v", r)
	}
}

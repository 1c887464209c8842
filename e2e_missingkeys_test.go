package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// e2eStripKeys serves fx's sandbox with keys taken out of every number in
// its answers: from the listing's objects (listed) and from a read of one
// number (read). Plivo always sends them, null for none.
func e2eStripKeys(t *testing.T, fx *e2eFixture, listed, read []string) string {
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		list := strings.HasSuffix(q.URL.Path, "/Number/")
		if q.Method != http.MethodGet || !strings.Contains(q.URL.Path, "/Number/") {
			fx.ServeHTTP(w, q)
			return
		}
		rec := httptest.NewRecorder()
		fx.ServeHTTP(rec, q)
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || rec.Code != http.StatusOK {
			t.Errorf("sandbox answered %d %s", rec.Code, rec.Body)
		}
		objects, keys := []any{v}, read
		if list {
			objects, keys = v["objects"].([]any), listed
		}
		for _, o := range objects {
			for _, k := range keys {
				delete(o.(map[string]any), k)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}))
	t.Cleanup(front.Close)
	return front.URL
}

// TestE2E_MissingKeys_areUnknownNotEmpty renames numbers (alias only, so
// the number's app is sent along) with --undo and --skip-unchanged against
// an API whose answers lack `application` and `alias`. A key that is
// missing is not "none": the number is read on its own, and when that read
// lacks it too, the row fails and nothing is sent or recorded for it.
func TestE2E_MissingKeys_areUnknownNotEmpty(t *testing.T) {
	var ns []string
	var in strings.Builder
	in.WriteString("number,alias\n")
	for i := range 30 {
		ns = append(ns, fmt.Sprintf("1202559%04d", i))
		in.WriteString(e2eCSVLine(ns[i], fmt.Sprintf("Desk %d", i)))
	}
	missing := []string{"application", "alias"}
	start := func(t *testing.T, listed, read []string) (*e2eFixture, *e2eRunner, string) {
		fx := e2eStartFixture(t, sandbox.Config{DefaultAppOnMissing: true, DefaultApp: e2eDefaultApp}, e2eNumbers(ns...)...)
		r := e2eNewRunner(t, fx).with("PLIVO_API_URL", e2eStripKeys(t, fx, listed, read))
		return fx, r, r.write("input.csv", in.String())
	}
	run := func(r *e2eRunner, input string) []string {
		return []string{"run", "--input", input, "--report", r.path("report.csv"), "--undo", r.path("undo.csv"), "--skip-unchanged", "--read", "page"}
	}

	t.Run("the listing lacks them: each number is read on its own", func(t *testing.T) {
		fx, r, input := start(t, missing, nil)
		_, c := e2eReadStep(t, fx, r, 0, run(r, input)...)
		if c.Lists != 2 || c.Updates != len(ns) || len(c.Reads) != len(ns) || c.reads() != len(ns) {
			t.Errorf("%d pages, %d reads of %d numbers, %d updates; want 2 pages, one read and one update of each of the %d", c.Lists, c.reads(), len(c.Reads), c.Updates, len(ns))
		}
		for i, n := range ns {
			if got, _ := fx.srv.Number(n); got.AppID != e2eAppStart || got.Alias != fmt.Sprintf("Desk %d", i) {
				t.Errorf("%s = app %q alias %q, want its app %s kept and alias Desk %d", n, got.AppID, got.Alias, e2eAppStart, i)
			}
		}
		undo := readCSV(t, r.path("undo.csv"))
		for _, row := range undo {
			if row["alias"] != "old" {
				t.Errorf("undo row %v, want alias old, as the number had", row)
			}
		}
		if len(undo) != len(ns) {
			t.Errorf("undo file has %d rows, want %d", len(undo), len(ns))
		}
	})

	t.Run("every answer lacks them: the rows fail, nothing is sent or recorded", func(t *testing.T) {
		fx, r, input := start(t, missing, missing)
		_, c := e2eReadStep(t, fx, r, 1, run(r, input)...)
		if c.Updates != 0 {
			t.Errorf("%d updates, want none", c.Updates)
		}
		for _, row := range e2eReadReport(t, r.path("report.csv")) {
			if row.Status != "failed" || !strings.Contains(row.Error, "the API's answer has no `application`") {
				t.Errorf("report row %d: %s %q, want failed: the answer has no `application`", row.Row, row.Status, row.Error)
			}
		}
		if undo := readCSV(t, r.path("undo.csv")); len(undo) != 0 {
			t.Errorf("undo file records %d rows, want none: %v", len(undo), undo)
		}
		want := map[string]sandbox.Number{}
		for _, n := range e2eNumbers(ns...) {
			want[n.Number] = n
		}
		for _, got := range fx.srv.Numbers() {
			if w := want[got.Number]; got.AppID != w.AppID || got.Alias != w.Alias {
				t.Errorf("%s = app %q alias %q, want it untouched", got.Number, got.AppID, got.Alias)
			}
		}

		// plan does not show a made-up current value either.
		e2eReadStep(t, fx, r, 1, "plan", "--input", input, "--output", r.path("plan.csv"))
		for _, row := range readCSV(t, r.path("plan.csv")) {
			if row["change"] != "error" || !strings.Contains(row["error"], "the API's answer has no `alias`") || row["alias_current"] != "" {
				t.Errorf("plan row %v, want change error: the answer has no `alias`", row)
			}
		}
	})

	t.Run("export: read on its own, else no file", func(t *testing.T) {
		fx, r, _ := start(t, missing, nil)
		_, c := e2eReadStep(t, fx, r, 0, "export", "--output", r.path("export.csv"))
		for _, row := range readCSV(t, r.path("export.csv")) {
			if row["app_id"] != e2eAppStart || row["alias"] != "old" {
				t.Errorf("export row %v, want app %s alias old, as the number has", row, e2eAppStart)
			}
		}
		if c.reads() != len(ns) {
			t.Errorf("%d reads, want one of each of the %d numbers", c.reads(), len(ns))
		}
		fx, r, _ = start(t, missing, missing)
		res, _ := e2eReadStep(t, fx, r, 1, "export", "--output", r.path("export.csv"))
		if _, err := os.Stat(r.path("export.csv")); !os.IsNotExist(err) || !strings.Contains(res.stderr, "the API's answer has no `application`") {
			t.Errorf("export file: %v, want none, and stderr to say why:\n%s", err, res.stderr)
		}
	})

	t.Run("answers with every key (sub_account null) are used as they come", func(t *testing.T) {
		fx, r, input := start(t, nil, nil)
		_, c := e2eReadStep(t, fx, r, 0, run(r, input)...)
		if c.Lists != 2 || c.reads() != 0 || c.Updates != len(ns) {
			t.Errorf("%d pages, %d reads, %d updates; want 2, 0, %d", c.Lists, c.reads(), c.Updates, len(ns))
		}
	})
}

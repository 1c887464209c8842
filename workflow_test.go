package main

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// TestWorkflow_planRunUndo runs the README's migration against a sandbox
// that, as Plivo documents, moves a number updated without app_id to the
// account's default app: plan sends nothing, and shows each row's current
// and target values or its error; run --undo --verify changes
// exactly the targets (an alias-only row keeps its app, even none), and the
// undo file leaves every number as it was.
func TestWorkflow_planRunUndo(t *testing.T) {
	t.Parallel()
	fx, r := e2eStartFixture(t, sandbox.Config{DefaultAppOnMissing: true, DefaultApp: e2eDefaultApp},
		sandbox.Number{Number: "12025557001", AppID: e2eAppStart, Alias: "one"},
		sandbox.Number{Number: "12025557002", AppID: e2eAppStart, Alias: "two", Subaccount: e2eSubA},
		sandbox.Number{Number: "12025557003", Alias: "three"},
		sandbox.Number{Number: "12025557004", AppID: e2eAppA, Alias: "four"},
		sandbox.Number{Number: "12025557005", AppID: e2eAppB, Alias: "five", Subaccount: e2eSubB},
	)
	before := fx.srv.Numbers()
	input := r.write("numbers.csv", "number,app_id,subaccount,alias\n"+
		"12025557001,"+e2eAppA+",,\n12025557002,,"+e2eSubB+",moved\n12025557003,,,renamed only\n12025557004,(clear),,\n12025557005,,,(clear)\n")

	e2eExit(t, "plan", r.run(slices.Concat([]string{"plan", "--input", input, "--output", "plan.csv", "--rate", "0"}, e2eFastRetries)...), 0)
	for _, row := range readCSV(t, r.path("plan.csv")) {
		if row["change"] != "yes" {
			t.Errorf("plan row %s: change %q, want yes", row["row"], row["change"])
		}
	}
	// plan writes the current and target values, and exits 1 when a row is
	// in error (0 when none is: TestPlan_detailedExitcodeSaysWhetherTheAccountMatches).
	errs := r.write("errors.csv", "number,app_id,subaccount,alias\n12025557001,"+e2eAppB+",,\n12025557005,,,(clear)\n12025550099,"+e2eAppA+",,\n12025550098,4040,,\n")
	e2eExit(t, "plan", r.run(slices.Concat([]string{"plan", "--input", errs, "--output", "errors-plan.csv", "--rate", "0"}, e2eFastRetries)...), exitRowsFailed)
	got := map[string]map[string]string{}
	for _, row := range readCSV(t, r.path("errors-plan.csv")) {
		got[row["row"]] = row
	}
	for _, c := range []struct{ row, change, field, current, target, errPart string }{
		{"2", "yes", "app_id", e2eAppStart, e2eAppB, ""},
		{"3", "yes", "alias", "five", "(clear)", ""},
		{"4", "error", "app_id", "", e2eAppA, "not found"},
		{"5", "error", "app_id", "", "4040", "not an application of this account"},
	} {
		row := got[c.row]
		if row == nil || row["change"] != c.change || row[c.field+"_current"] != c.current || row[c.field+"_target"] != c.target || !strings.Contains(row["error"], c.errPart) {
			t.Errorf("plan row %s = %v\nwant change %s, %s %q -> %q, error containing %q", c.row, row, c.change, c.field, c.current, c.target, c.errPart)
		}
	}
	if n := fx.postCount(t); n != 0 {
		t.Fatalf("plan sent %d updates", n)
	}
	e2eExit(t, "run", r.run(e2eRun(input, "report.csv", "--undo", "undo.csv", "--verify", "--rate", "0")...), 0)
	want := map[string]sandbox.Number{
		"12025557001": {AppID: e2eAppA, Alias: "one"},
		"12025557002": {AppID: e2eAppStart, Alias: "moved", Subaccount: e2eSubB},
		"12025557003": {Alias: "renamed only"}, // not moved to the default app
		"12025557004": {Alias: "four"},
		"12025557005": {AppID: e2eAppB, Subaccount: e2eSubB},
	}
	for n, w := range want {
		if got, _ := fx.srv.Number(n); got.AppID != w.AppID || got.Alias != w.Alias || got.Subaccount != w.Subaccount {
			t.Errorf("after the run %s = %+v, want %+v", n, got, w)
		}
	}
	e2eExit(t, "undo", r.run(e2eRun(r.path("undo.csv"), "undo-report.csv", "--rate", "0")...), 0)
	e2eUntouched(t, fx, "after the undo run", before...)
}

// TestRunFlags_step: each run flag that changes what a row means sets its
// batch.Update option (what each option does is tested in package batch).
func TestRunFlags_step(t *testing.T) {
	for _, tt := range []struct {
		flags []string
		want  batch.Update
	}{
		{nil, batch.Update{PinApp: true}},
		{[]string{"--allow-default-app"}, batch.Update{}},
		{[]string{"--skip-unchanged"}, batch.Update{SkipUnchanged: true, PinApp: true}},
		{[]string{"--verify"}, batch.Update{Verify: true, PinApp: true}},
		{[]string{"--verify", "--skip-unchanged", "--allow-default-app"}, batch.Update{SkipUnchanged: true, Verify: true}},
	} {
		var o runFlags
		e2eOK(t, parseInto(newRunCmd(&sys{getenv: envOf(nil)}, &o), append([]string{"--input", "in.csv", "--report", "r.csv"}, tt.flags...)))
		e2eOK(t, o.check())
		if got := o.step(); got != tt.want {
			t.Errorf("%v: step() = %+v, want %+v", tt.flags, got, tt.want)
		}
	}
}

// TestPlan_existingOutputNamesOnlyWhatPlanTakes: a plan over a plan with rows
// is refused with the flags plan has (--force, another --output), never
// --resume, which only run takes.
func TestPlan_existingOutputNamesOnlyWhatPlanTakes(t *testing.T) {
	t.Parallel()
	r := e2eNewRunner(t, nil)
	in, err := filepath.Abs("samples/numbers.csv")
	e2eOK(t, err)
	args := []string{"plan", "--sandbox", "--input", in, "--output", "plan.csv"}
	e2eExit(t, "first plan", r.run(args...), 0)
	if res := r.run(args...); res.code != exitUsage || !strings.Contains(res.stderr, "--force") || strings.Contains(res.stderr, "--resume") {
		t.Errorf("second plan: want exit %d, naming --force and not --resume:\n%v", exitUsage, res)
	}
}

// TestPlan_detailedExitcodeSaysWhetherTheAccountMatches runs plan in-process
// against a sandbox on loopback, as a cron drift check would: with
// --detailed-exitcode, 0 only when every row was read and none would
// change, 6 when some would (the summary counting them per field), 1 when a
// row could not be read, whatever the others show; without it, the codes
// plan always had. A plan that looked at no row gives no counts.
func TestPlan_detailedExitcodeSaysWhetherTheAccountMatches(t *testing.T) {
	input := "number,app_id,subaccount,alias\n" +
		"12025550101," + e2eAppA + "," + e2eSubA + ",one\n" +
		"12025550102," + e2eAppA + "," + e2eSubA + ",two\n" +
		"12025550103," + e2eAppB + ",,three\n" +
		"12025550104," + e2eAppB + "," + e2eSubB + ",four\n"
	matching := []sandbox.Number{
		{Number: "12025550101", AppID: e2eAppA, Subaccount: e2eSubA, Alias: "one"},
		{Number: "12025550102", AppID: e2eAppA, Subaccount: e2eSubA, Alias: "two"},
		{Number: "12025550103", AppID: e2eAppB, Subaccount: e2eSubB, Alias: "three"},
		{Number: "12025550104", AppID: e2eAppB, Subaccount: e2eSubB, Alias: "four"},
	}
	drifted := []sandbox.Number{
		{Number: "12025550101", AppID: e2eAppB, Subaccount: e2eSubA, Alias: "one"},  // app_id
		{Number: "12025550102", AppID: e2eAppB, Subaccount: e2eSubA, Alias: "zwei"}, // app_id and alias
		matching[2],
		{Number: "12025550104", AppID: e2eAppB, Subaccount: e2eSubA, Alias: "four"}, // subaccount
	}
	noDrift := map[string]int{"app_id": 0, "subaccount": 0, "alias": 0, "compliance_application_id": 0}
	drift := map[string]int{"app_id": 2, "subaccount": 1, "alias": 1, "compliance_application_id": 0}
	for _, tt := range []struct {
		name     string
		account  []sandbox.Number
		hide     string // a number whose answers lack the alias key
		token    string // the token sent, when not the account's
		detailed bool
		code     int
		yes      int
		differ   map[string]int // nil: no counts in the summary file
		printed  string
	}{
		{"matching", matching, "", "", true, exitOK, 0, noDrift, "change yes     0\n  change no      4"},
		{"drifted", drifted, "", "", true, exitDrift, 3, drift, "change yes     3\n    by field:    app_id 2, subaccount 1, alias 1\n"},
		{"a key absent from a matching account", matching, "12025550102", "", true, exitRowsFailed, 0, noDrift, "error          1"},
		{"a key absent and drift: the error wins", drifted, "12025550103", "", true, exitRowsFailed, 3, drift, "error          1"},
		{"a number not on the account", matching[:3], "", "", true, exitRowsFailed, 0, noDrift, "error          1"},
		{"drifted, without the option", drifted, "", "", false, exitOK, 3, drift, "by field:    app_id 2, subaccount 1, alias 1"},
		{"credentials refused: nothing looked at", drifted, "", "wrong", true, exitAborted, 0, nil, "401"},
		{"a key absent, without the option", matching, "12025550102", "", false, exitRowsFailed, 0, noDrift, "error          1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fx, r := e2eStartFixture(t, sandbox.Config{}, tt.account...)
			if tt.hide != "" {
				r = r.with("PLIVO_API_URL", e2eProxy(t, fx, e2eStripKeys(t, fx, tt.hide, []string{"alias"}, []string{"alias"})))
			}
			if tt.token != "" {
				r = r.with("PLIVO_AUTH_TOKEN", tt.token)
			}
			args := []string{"plan", "--input", r.write("numbers.csv", input), "--output", "plan.csv", "--summary", "summary.json", "--rate", "0", "--progress", "never"}
			if tt.detailed {
				args = append(args, "--detailed-exitcode")
			}
			res := r.run(args...)
			e2eExit(t, "plan", res, tt.code)
			e2eHas(t, "the summary printed", res.stderr, tt.printed)
			if res.code == exitDrift && strings.Contains(res.stderr, "plivo-bulk:") {
				t.Errorf("drift is told by the summary, not as an error:\n%s", res.stderr)
			}
			s := e2eReadSummary[summaryFile](t, r.path("summary.json"))
			if s.ExitCode != tt.code || (s.Changes == nil) != (tt.differ == nil) || s.Changes["yes"] != tt.yes || !maps.Equal(s.DifferByField, tt.differ) {
				t.Errorf("summary exit_code %v, changes %v, differ_by_field %v; want %d, yes %v, %v", s.ExitCode, s.Changes, s.DifferByField, tt.code, tt.yes, tt.differ)
			}
			if (s.Error == "") != (tt.code == exitOK || tt.code == exitDrift) {
				t.Errorf("summary error %q with exit code %d: want one only for an error", s.Error, tt.code)
			}
		})
	}
}

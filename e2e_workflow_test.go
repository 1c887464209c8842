package main

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// TestE2E_Workflow_planRunUndo runs the README's migration with the real
// binary against a sandbox that, as Plivo documents, moves a number updated
// without app_id to the account's default app: plan, run with --undo and
// --verify, then the undo file, which must leave every number as it was.
func TestE2E_Workflow_planRunUndo(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	numbers := []sandbox.Number{
		{Number: "12025557001", AppID: e2eAppStart, Alias: "one"},
		{Number: "12025557002", AppID: e2eAppStart, Alias: "two", Subaccount: e2eSubA},
		{Number: "12025557003", Alias: "three"},
		{Number: "12025557004", AppID: e2eAppA, Alias: "four"},
		{Number: "12025557005", AppID: e2eAppB, Alias: "five", Subaccount: e2eSubB},
	}
	fx := e2eStartFixture(t, sandbox.Config{DefaultAppOnMissing: true, DefaultApp: e2eDefaultApp}, numbers...)
	before := fx.srv.Numbers()
	r := e2eNewRunner(t, fx)
	input := r.write("numbers.csv", "number,app_id,subaccount,alias\n"+
		"12025557001,"+e2eAppA+",,\n"+
		"12025557002,,"+e2eSubB+",moved\n"+
		"12025557003,,,renamed only\n"+
		"12025557004,(clear),,\n"+
		"12025557005,,,(clear)\n")
	common := []string{"--rate", "0", "--progress", "never", "--backoff-base", "1ms", "--backoff-max", "5ms"}

	res := r.run(append([]string{"plan", "--input", input, "--output", r.path("plan.csv")}, common...)...)
	if res.code != 0 {
		t.Fatalf("plan: %v", res)
	}
	for _, row := range readCSV(t, r.path("plan.csv")) {
		if row["change"] != "yes" {
			t.Errorf("plan row %s: change %q, want yes", row["row"], row["change"])
		}
	}
	for _, q := range fx.rec.all() {
		if q.Method == http.MethodPost {
			t.Fatalf("plan sent an update: %+v", q)
		}
	}

	undo := r.path("undo.csv")
	res = r.run(append([]string{"run", "--input", input, "--report", r.path("report.csv"), "--undo", undo, "--verify"}, common...)...)
	if res.code != 0 {
		t.Fatalf("run: %v", res)
	}
	got, _ := fx.srv.Number("12025557003")
	if got.AppID != "" || got.Alias != "renamed only" {
		t.Errorf("the alias-only row left %+v: its app must stay unassigned, not become the default", got)
	}
	if got, _ := fx.srv.Number("12025557002"); got.AppID != e2eAppStart || got.Subaccount != e2eSubB || got.Alias != "moved" {
		t.Errorf("12025557002 = %+v", got)
	}

	res = r.run(append([]string{"run", "--input", undo, "--report", r.path("undo-report.csv")}, common...)...)
	if res.code != 0 {
		t.Fatalf("undo run: %v", res)
	}
	after := fx.srv.Numbers()
	for i := range before {
		if after[i] != before[i] {
			t.Errorf("after the undo run %+v\nwant %+v", after[i], before[i])
		}
	}
	for _, f := range []string{r.path("plan.csv"), undo} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range r.secrets {
			if strings.Contains(string(data), secret) {
				t.Errorf("%s holds the token", f)
			}
		}
	}
}

package main

import (
	"maps"
	"strings"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// TestPlan_detailedExitcodeSaysWhetherTheAccountMatches runs plan in-process
// against a sandbox on loopback, as a cron drift check would: with
// --detailed-exitcode, 0 only when every row was read and none would
// change, 6 when some would (the summary counting them per field), 1 when a
// row could not be read, whatever the others show; without it, the codes
// plan always had. A plan that looked at no row gives no counts.
func TestPlan_detailedExitcodeSaysWhetherTheAccountMatches(t *testing.T) {
	const sub1, sub2 = "SAAAAAAAAAAAAAAAAAA1", "SAAAAAAAAAAAAAAAAAA2"
	input := "number,app_id,subaccount,alias\n" +
		"12025550101,1001," + sub1 + ",one\n" +
		"12025550102,1001," + sub1 + ",two\n" +
		"12025550103,1002,,three\n" +
		"12025550104,1002," + sub2 + ",four\n"
	matching := []sandbox.Number{
		{Number: "12025550101", AppID: "1001", Subaccount: sub1, Alias: "one"},
		{Number: "12025550102", AppID: "1001", Subaccount: sub1, Alias: "two"},
		{Number: "12025550103", AppID: "1002", Subaccount: sub2, Alias: "three"},
		{Number: "12025550104", AppID: "1002", Subaccount: sub2, Alias: "four"},
	}
	drifted := []sandbox.Number{
		{Number: "12025550101", AppID: "1002", Subaccount: sub1, Alias: "one"},  // app_id
		{Number: "12025550102", AppID: "1002", Subaccount: sub1, Alias: "zwei"}, // app_id and alias
		matching[2],
		{Number: "12025550104", AppID: "1002", Subaccount: sub1, Alias: "four"}, // subaccount
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
			fx := e2eStartFixture(t, sandbox.Config{}, tt.account...)
			fx.srv.AddApplication("1001", "one")
			fx.srv.AddApplication("1002", "two")
			fx.srv.AddSubaccount(sub1, "one")
			fx.srv.AddSubaccount(sub2, "two")
			r := e2eNewRunner(t, fx)
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

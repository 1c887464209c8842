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
	noDrift := map[string]float64{"app_id": 0, "subaccount": 0, "alias": 0, "compliance_application_id": 0}
	drift := map[string]float64{"app_id": 2, "subaccount": 1, "alias": 1, "compliance_application_id": 0}
	for _, tt := range []struct {
		name     string
		account  []sandbox.Number
		hide     string // a number whose answers lack the alias key
		token    string // the token sent, when not the account's
		detailed bool
		code     int
		yes      float64
		differ   map[string]float64 // nil: no counts in the summary file
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
				r = r.with("PLIVO_API_URL", e2eStripKeys(t, fx, tt.hide, []string{"alias"}, []string{"alias"}))
			}
			if tt.token != "" {
				r = r.with("PLIVO_AUTH_TOKEN", tt.token)
			}
			args := []string{"plan", "--input", r.write("numbers.csv", input), "--output", "plan.csv", "--summary", "summary.json", "--rate", "0", "--progress", "never"}
			if tt.detailed {
				args = append(args, "--detailed-exitcode")
			}
			res := r.run(args...)
			code, stderr, sum := res.code, res.stderr, r.path("summary.json")
			if code != tt.code || !strings.Contains(stderr, tt.printed) {
				t.Fatalf("exit %d, want %d, and the summary printed holding %q:\n%s", code, tt.code, tt.printed, stderr)
			}
			if code == exitDrift && strings.Contains(stderr, "plivo-bulk:") {
				t.Errorf("drift is told by the summary, not as an error:\n%s", stderr)
			}
			m := readSummaryKeys(t, sum)
			changes, _ := m["changes"].(map[string]any)
			var differ map[string]float64
			if byField, ok := m["differ_by_field"].(map[string]any); ok {
				differ = map[string]float64{}
				for k, v := range byField {
					differ[k], _ = v.(float64)
				}
			}
			if m["exit_code"] != float64(tt.code) || (changes == nil) != (tt.differ == nil) || changes != nil && changes["yes"] != tt.yes || !maps.Equal(differ, tt.differ) {
				t.Errorf("summary exit_code %v, changes %v, differ_by_field %v; want %d, yes %v, %v", m["exit_code"], changes, differ, tt.code, tt.yes, tt.differ)
			}
			if e := m["error"].(string); (e == "") != (tt.code == exitOK || tt.code == exitDrift) {
				t.Errorf("summary error %q with exit code %d: want one only for an error", e, tt.code)
			}
		})
	}
}

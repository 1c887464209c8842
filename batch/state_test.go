package batch

import (
	"testing"

	"github.com/plivo-bulk/plivo-bulk/client"
)

func TestSnapshot_get(t *testing.T) {
	t.Parallel()
	s := newSnapshot([]uint64{NumberKey("12025550101"), NumberKey("12025550102"), NumberKey("12025550103"), NumberKey("12025550104")})
	s.add([]client.NumberInfo{
		{Number: "12025550101", Alias: " Desk 1, \"North\" ", Application: "/v1/Account/MA1/Application/2037/", SubAccount: "SA1"},
		{Number: "12025550199", Alias: "not asked for"},
		{Number: "12025550102", Alias: ""},
	})
	// A page seen twice (the listing moved) and a later page.
	s.add([]client.NumberInfo{
		{Number: "12025550102", Alias: ""},
		{Number: "12025550103", Alias: "Ünïcode", Application: "2038", ComplianceApplicationID: "CA1"},
	})
	tests := []struct {
		number          string
		ok              bool
		app, sub, alias string
		compliance      string
	}{
		{"12025550101", true, "2037", "SA1", " Desk 1, \"North\" ", ""},
		{"12025550102", true, "", "", "", ""},
		{"12025550103", true, "2038", "", "Ünïcode", "CA1"},
		{"12025550104", false, "", "", "", ""}, // asked for, never listed
		{"12025550199", false, "", "", "", ""}, // listed, not asked for
	}
	for _, tt := range tests {
		t.Run(tt.number, func(t *testing.T) {
			got, ok := s.get(tt.number)
			if ok != tt.ok {
				t.Fatalf("get ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			want := map[Field]string{AppID: tt.app, Subaccount: tt.sub, Alias: tt.alias, ComplianceApplicationID: tt.compliance}
			for f, v := range want {
				if !got[f].Set || got[f].Value != v {
					t.Errorf("%s = %+v, want %q", f, got[f], v)
				}
			}
		})
	}
	if n := s.found(); n != 3 {
		t.Errorf("found() = %d, want 3", n)
	}
	var nilSnap *snapshot
	if _, ok := nilSnap.get("12025550101"); ok {
		t.Error("a nil snapshot gave a number")
	}
}

package client

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestNumberInfo_tellsMissingFromNull: null and "" are none, a missing key
// is named in Missing, and every string decodes as encoding/json would.
func TestNumberInfo_tellsMissingFromNull(t *testing.T) {
	for _, tc := range []struct {
		body, alias string
		missing     []string
	}{
		{`{"alias":null,"application":null,"sub_account":"","compliance_application_id":null}`, "", nil},
		{`{"alias":"Front desk","application":"/v1/Account/MA/Application/1/"}`, "Front desk", []string{"sub_account", "compliance_application_id"}},
		{`{"alias":"a\"b\u00e9\n","application":null,"sub_account":null}`, "a\"bé\n", []string{"compliance_application_id"}},
		{"{\"alias\":\"bad \xff utf-8\",\"application\":null,\"sub_account\":null}", "bad \ufffd utf-8", []string{"compliance_application_id"}},
		{`{}`, "", SettingKeys},
	} {
		var n NumberInfo
		if err := json.Unmarshal([]byte(tc.body), &n); err != nil || n.Alias != tc.alias || !slices.Equal(n.Missing, tc.missing) {
			t.Errorf("%s: alias %q, missing %q, err %v; want %q, %q", tc.body, n.Alias, n.Missing, err, tc.alias, tc.missing)
		}
	}
	var n NumberInfo
	if err := json.Unmarshal([]byte(`{"alias":5}`), &n); err == nil {
		t.Error("an alias that is a number decoded without an error")
	}
}

package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

const (
	testAuthID = "MA0123456789ABCDEFGH"
	testToken  = "test-token-0123456789abcdefghijklmnop"
	testApp    = "20372631212782780"
	testApp2   = "11111111111111111"
	testSub    = "SA0123456789ABCDEFGH"

	numAccepted = "12025551111"
	numPending  = "12025552222"
	numRejected = "12025553333"
)

var apiIDPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// newTestServer returns a sandbox with test credentials, two applications,
// a subaccount and three numbers, served by an httptest server.
func newTestServer(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	if cfg.AuthID == "" {
		cfg.AuthID = testAuthID
	}
	if cfg.AuthToken == "" {
		cfg.AuthToken = testToken
	}
	s := New(cfg)
	s.AddApplication(testApp, "Main app")
	s.AddApplication(testApp2, "Other app")
	s.AddSubaccount(testSub, "Team")
	s.AddNumber(Number{Number: numAccepted, AppID: testApp, Alias: "Main line"})
	s.AddNumber(Number{Number: numPending, ComplianceStatus: "pending"})
	s.AddNumber(Number{Number: numRejected, ComplianceStatus: "rejected", ComplianceApplicationID: "CA1"})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// object decodes the body as a JSON object.
func (r response) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

type option func(*http.Request)

func withoutAuth(r *http.Request) { r.Header.Del("Authorization") }

func withAuth(user, pass string) option {
	return func(r *http.Request) { r.SetBasicAuth(user, pass) }
}

func withContentType(ct string) option {
	return func(r *http.Request) {
		if ct == "" {
			r.Header.Del("Content-Type")
		} else {
			r.Header.Set("Content-Type", ct)
		}
	}
}

// send makes a request with the test credentials and, with a body, a JSON
// content type; opts adjust it. It fails the test on a transport error.
func send(t *testing.T, ts *httptest.Server, method, path, body string, opts ...option) response {
	t.Helper()
	res, err := sendErr(t, ts.Client(), ts.URL, method, path, body, opts...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return res
}

func sendErr(t *testing.T, c *http.Client, base, method, path, body string, opts ...option) (response, error) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(testAuthID, testToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	res, err := c.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: res.StatusCode, header: res.Header, body: b}, nil
}

func numberPath(n string) string { return "/v1/Account/" + testAuthID + "/Number/" + n + "/" }

func mustNumber(t *testing.T, s *Server, n string) Number {
	t.Helper()
	got, ok := s.Number(n)
	if !ok {
		t.Fatalf("number %s missing", n)
	}
	return got
}

// checkError checks an error answer: status, Plivo's shape, and a message
// containing want.
func checkError(t *testing.T, res response, status int, want string) {
	t.Helper()
	if res.status != status {
		t.Fatalf("status = %d, want %d; body %s", res.status, status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	m := res.object(t)
	if id, _ := m["api_id"].(string); !apiIDPattern.MatchString(id) {
		t.Errorf("api_id = %v, want a UUID", m["api_id"])
	}
	if msg, _ := m["error"].(string); !strings.Contains(msg, want) {
		t.Errorf("error = %q, want it to contain %q", msg, want)
	}
}

func TestServer_Update(t *testing.T) {
	t.Parallel()
	accepted := Number{Number: numAccepted, AppID: testApp, Alias: "Main line", ComplianceStatus: "accepted"}
	with := func(f func(*Number)) Number { n := accepted; f(&n); return n }
	tests := []struct {
		name        string
		number      string
		body        string
		contentType string // "-" for none; "" for application/json
		status      int
		errContains string
		want        Number // the number afterwards; zero: unchanged
	}{
		{name: "set app", body: `{"app_id": "` + testApp2 + `"}`, status: 202,
			want: with(func(n *Number) { n.AppID = testApp2 })},
		{name: "empty app_id unassigns", body: `{"app_id": ""}`, status: 202,
			want: with(func(n *Number) { n.AppID = "" })},
		{name: "null app_id is ignored", body: `{"app_id": null}`, status: 202},
		{name: "null alias is ignored", body: `{"alias": null, "app_id": null}`, status: 202},
		{name: "set alias", body: `{"alias": "Sales, \"east\""}`, status: 202,
			want: with(func(n *Number) { n.Alias = `Sales, "east"` })},
		{name: "empty alias clears", body: `{"alias": ""}`, status: 202,
			want: with(func(n *Number) { n.Alias = "" })},
		{name: "move to subaccount", body: `{"subaccount": "` + testSub + `"}`, status: 202,
			want: with(func(n *Number) { n.Subaccount = testSub })},
		{name: "several fields", body: `{"app_id": "", "alias": "x", "subaccount": "` + testSub + `"}`, status: 202,
			want: with(func(n *Number) { n.AppID, n.Alias, n.Subaccount = "", "x", testSub })},
		{name: "empty object", body: `{}`, status: 202},
		{name: "charset in content type", body: `{"alias": "y"}`, contentType: "application/json; charset=utf-8", status: 202,
			want: with(func(n *Number) { n.Alias = "y" })},
		{name: "unknown app", body: `{"app_id": "999"}`, status: 400, errContains: "not an application"},
		{name: "unknown subaccount", body: `{"subaccount": "SAZZZZZZZZZZZZZZZZZZ"}`, status: 400, errContains: "not a subaccount"},
		{name: "main account as subaccount", body: `{"subaccount": "` + testAuthID + `"}`, status: 400, errContains: "not a subaccount"},
		{name: "empty subaccount", body: `{"subaccount": ""}`, status: 400, errContains: "subaccount"},
		{name: "unknown key", body: `{"alias": "a", "application": "1"}`, status: 400, errContains: `unknown parameter "application"`},
		{name: "number value", body: `{"app_id": 20372631212782780}`, status: 400, errContains: "must be a string"},
		{name: "bool value", body: `{"alias": true}`, status: 400, errContains: "must be a string"},
		{name: "duplicate key", body: `{"alias": "a", "alias": "b"}`, status: 400, errContains: "twice"},
		{name: "not JSON", body: `alias=x`, status: 400, errContains: "JSON object"},
		{name: "form body", body: `alias=x`, contentType: "application/x-www-form-urlencoded", status: 400, errContains: "Content-Type"},
		{name: "array", body: `[{"alias": "x"}]`, status: 400, errContains: "JSON object"},
		{name: "truncated", body: `{"alias": "x"`, status: 400, errContains: "JSON object"},
		{name: "trailing data", body: `{"alias": "x"} {}`, status: 400, errContains: "JSON object"},
		{name: "no content type", body: `{"alias": "x"}`, contentType: "-", status: 400, errContains: "Content-Type"},
		{name: "text content type", body: `{"alias": "x"}`, contentType: "text/plain", status: 400, errContains: "Content-Type"},
		{name: "all or nothing", body: `{"alias": "x", "app_id": "999"}`, status: 400, errContains: "app_id"},
		{name: "unknown number", number: "19999999999", body: `{"alias": "x"}`, status: 404, errContains: "not found"},
		{name: "number with plus", number: "+" + numAccepted, body: `{"alias": "x"}`, status: 404, errContains: "not found"},
		{name: "compliance while accepted", body: `{"compliance_application_id": "CA9"}`, status: 400, errContains: "pending or rejected"},
		{name: "compliance while pending", number: numPending, body: `{"compliance_application_id": "CA9"}`, status: 202,
			want: Number{Number: numPending, ComplianceStatus: "pending", ComplianceApplicationID: "CA9"}},
		{name: "compliance while rejected", number: numRejected, body: `{"compliance_application_id": "CA9"}`, status: 202,
			want: Number{Number: numRejected, ComplianceStatus: "rejected", ComplianceApplicationID: "CA9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, ts := newTestServer(t, Config{})
			number := tt.number
			if number == "" {
				number = numAccepted
			}
			before, existed := s.Number(number)
			var opts []option
			switch tt.contentType {
			case "":
			case "-":
				opts = append(opts, withContentType(""))
			default:
				opts = append(opts, withContentType(tt.contentType))
			}
			res := send(t, ts, http.MethodPost, numberPath(number), tt.body, opts...)

			if tt.status != http.StatusAccepted {
				checkError(t, res, tt.status, tt.errContains)
				if after, _ := s.Number(number); existed && after != before {
					t.Errorf("number changed on error: %+v, want %+v", after, before)
				}
				if st := s.Stats(); st.Updates != 0 {
					t.Errorf("Stats.Updates = %d, want 0", st.Updates)
				}
				return
			}
			if res.status != http.StatusAccepted {
				t.Fatalf("status = %d, want 202; body %s", res.status, res.body)
			}
			m := res.object(t)
			if m["message"] != "changed" {
				t.Errorf("message = %v, want changed", m["message"])
			}
			if id, _ := m["api_id"].(string); !apiIDPattern.MatchString(id) {
				t.Errorf("api_id = %v, want a UUID", m["api_id"])
			}
			want := tt.want
			if want == (Number{}) {
				want = before
			}
			if got := mustNumber(t, s, number); got != want {
				t.Errorf("number = %+v, want %+v", got, want)
			}
			st := s.Stats()
			if st.Updates != 1 {
				t.Errorf("Stats.Updates = %d, want 1", st.Updates)
			}
			if wantChanges := int64(0); want != before {
				wantChanges = 1
				if st.Changes != wantChanges {
					t.Errorf("Stats.Changes = %d, want %d", st.Changes, wantChanges)
				}
			} else if st.Changes != 0 {
				t.Errorf("Stats.Changes = %d, want 0", st.Changes)
			}
		})
	}
}

func TestServer_Update_bodyTooLarge(t *testing.T) {
	t.Parallel()
	_, ts := newTestServer(t, Config{})
	body := `{"alias": "` + strings.Repeat("x", maxBody) + `"}`
	res := send(t, ts, http.MethodPost, numberPath(numAccepted), body)
	checkError(t, res, http.StatusRequestEntityTooLarge, "larger")
}

func TestServer_Update_subaccountCredentials(t *testing.T) {
	t.Parallel()
	const subAuth = "SAFFFFFFFFFFFFFFFFFF"
	s := New(Config{AuthID: subAuth, AuthToken: testToken})
	s.AddSubaccount(testSub, "Team")
	s.AddNumber(Number{Number: numAccepted})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	path := "/v1/Account/" + subAuth + "/Number/" + numAccepted + "/"
	res := send(t, ts, http.MethodPost, path, `{"subaccount": "`+testSub+`"}`, withAuth(subAuth, testToken))
	checkError(t, res, http.StatusForbidden, "main account")
	res = send(t, ts, http.MethodPost, path, `{"alias": "ok"}`, withAuth(subAuth, testToken))
	if res.status != http.StatusAccepted {
		t.Errorf("alias update status = %d, want 202", res.status)
	}
}

func TestServer_auth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		method  string
		path    string
		opts    []option
		wantErr string
	}{
		{"no credentials", "POST", numberPath(numAccepted), []option{withoutAuth}, "authentication credentials were not provided"},
		{"no credentials on GET", "GET", numberPath(numAccepted), []option{withoutAuth}, "authentication credentials were not provided"},
		{"no credentials on unknown path", "GET", "/nowhere", []option{withoutAuth}, "authentication credentials were not provided"},
		{"wrong token", "POST", numberPath(numAccepted), []option{withAuth(testAuthID, "nope")}, "invalid credentials"},
		{"wrong auth id", "GET", "/v1/Account/" + testAuthID + "/", []option{withAuth("MAZZZZZZZZZZZZZZZZZZ", testToken)}, "invalid credentials"},
		{"bearer token", "GET", "/v1/Account/" + testAuthID + "/", []option{func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+testToken) }}, "invalid credentials"},
		{"other account in path", "POST", "/v1/Account/MAZZZZZZZZZZZZZZZZZZ/Number/" + numAccepted + "/", nil, "invalid credentials"},
		{"other account in path on GET", "GET", "/v1/Account/MAZZZZZZZZZZZZZZZZZZ/", nil, "invalid credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, ts := newTestServer(t, Config{})
			before := s.Numbers()
			res := send(t, ts, tt.method, tt.path, `{"alias": "hacked"}`, tt.opts...)
			if res.status != http.StatusUnauthorized {
				t.Fatalf("status = %d, want 401; body %s", res.status, res.body)
			}
			m := res.object(t)
			if _, ok := m["api_id"]; ok {
				t.Errorf("401 body has api_id: %s", res.body)
			}
			if m["error"] != tt.wantErr {
				t.Errorf("error = %v, want %q", m["error"], tt.wantErr)
			}
			if got := s.Numbers(); !reflect.DeepEqual(got, before) {
				t.Errorf("numbers changed: %+v", got)
			}
		})
	}
}

func TestServer_methodsAndPaths(t *testing.T) {
	t.Parallel()
	_, ts := newTestServer(t, Config{})
	acct := "/v1/Account/" + testAuthID + "/"
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"PUT", numberPath(numAccepted), 405, "GET, POST"},
		{"DELETE", numberPath(numAccepted), 405, "GET, POST"},
		{"PATCH", numberPath(numAccepted), 405, "GET, POST"},
		{"POST", acct, 405, "GET"},
		{"POST", acct + "Number/", 405, "GET"},
		{"POST", acct + "Application/" + testApp + "/", 405, "GET"},
		{"DELETE", acct + "Subaccount/" + testSub + "/", 405, "GET"},
		{"GET", "/", 404, ""},
		{"GET", "/v1/", 404, ""},
		{"GET", "/v1/Account/", 404, ""},
		{"GET", acct + "Call/", 404, ""},
		{"GET", acct + "Number/" + numAccepted, 404, ""}, // no trailing slash
		{"POST", acct + "Number/" + numAccepted, 404, ""},
		{"GET", acct + "Number/" + numAccepted + "/extra/", 404, ""},
		{"GET", acct + "Number//", 404, ""},
		{"GET", acct + "Number/19999999999/", 404, ""},
		{"GET", acct + "Application/999/", 404, ""},
		{"GET", acct + "Subaccount/SAZZZZZZZZZZZZZZZZZZ/", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			res := send(t, ts, tt.method, tt.path, "")
			want := "method not allowed"
			if tt.status == 404 {
				want = "not found"
			}
			checkError(t, res, tt.status, want)
			if got := res.header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
		})
	}
}

func TestServer_GetNumber(t *testing.T) {
	t.Parallel()
	s, ts := newTestServer(t, Config{})
	acct := "/v1/Account/" + testAuthID + "/"

	res := send(t, ts, http.MethodGet, numberPath(numAccepted), "")
	if res.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", res.status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	m := res.object(t)
	want := map[string]any{
		"number":                    numAccepted,
		"alias":                     "Main line",
		"application":               acct + "Application/" + testApp + "/",
		"sub_account":               nil,
		"compliance_application_id": nil,
		"compliance_status":         "accepted",
		"number_type":               "local",
		"resource_uri":              numberPath(numAccepted),
		"voice_enabled":             true,
		"sms_enabled":               true,
	}
	id, _ := m["api_id"].(string)
	if !apiIDPattern.MatchString(id) {
		t.Errorf("api_id = %v, want a UUID", m["api_id"])
	}
	delete(m, "api_id")
	if !reflect.DeepEqual(m, want) {
		t.Errorf("GET number = %v, want %v", m, want)
	}

	// After unassigning the app, clearing the alias and moving it, the
	// URIs and nulls follow.
	res = send(t, ts, http.MethodPost, numberPath(numAccepted), `{"app_id": "", "alias": "", "subaccount": "`+testSub+`"}`)
	if res.status != http.StatusAccepted {
		t.Fatalf("update status = %d", res.status)
	}
	m = send(t, ts, http.MethodGet, numberPath(numAccepted), "").object(t)
	if m["application"] != nil || m["alias"] != nil {
		t.Errorf("application, alias = %v, %v; want null, null", m["application"], m["alias"])
	}
	if want := acct + "Subaccount/" + testSub + "/"; m["sub_account"] != want {
		t.Errorf("sub_account = %v, want %s", m["sub_account"], want)
	}
	m = send(t, ts, http.MethodGet, numberPath(numRejected), "").object(t)
	if m["compliance_application_id"] != "CA1" || m["compliance_status"] != "rejected" {
		t.Errorf("compliance = %v, %v; want CA1, rejected", m["compliance_application_id"], m["compliance_status"])
	}
	if st := s.Stats(); st.Updates != 1 || st.Changes != 1 || st.Requests != 4 {
		t.Errorf("Stats = %+v, want 1 update that changed the number, of 4 requests", st)
	}
}

func TestServer_GetOthers(t *testing.T) {
	t.Parallel()
	_, ts := newTestServer(t, Config{DefaultApp: "42"})
	acct := "/v1/Account/" + testAuthID + "/"
	tests := []struct {
		name, path string
		want       map[string]any
	}{
		{"account", acct, map[string]any{
			"auth_id": testAuthID, "name": "Sandbox account", "resource_uri": acct, "account_type": "standard"}},
		{"application", acct + "Application/" + testApp + "/", map[string]any{
			"app_id": testApp, "app_name": "Main app", "default_number_app": false,
			"resource_uri": acct + "Application/" + testApp + "/"}},
		{"default application", acct + "Application/42/", map[string]any{
			"app_id": "42", "app_name": "Default number app", "default_number_app": true,
			"resource_uri": acct + "Application/42/"}},
		{"subaccount", acct + "Subaccount/" + testSub + "/", map[string]any{
			"auth_id": testSub, "name": "Team", "enabled": true, "account": acct,
			"resource_uri": acct + "Subaccount/" + testSub + "/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := send(t, ts, http.MethodGet, tt.path, "")
			if res.status != http.StatusOK {
				t.Fatalf("status = %d, want 200; body %s", res.status, res.body)
			}
			m := res.object(t)
			if id, _ := m["api_id"].(string); !apiIDPattern.MatchString(id) {
				t.Errorf("api_id = %v, want a UUID", m["api_id"])
			}
			delete(m, "api_id")
			if !reflect.DeepEqual(m, tt.want) {
				t.Errorf("GET %s = %v, want %v", tt.path, m, tt.want)
			}
		})
	}
}

func TestServer_ListNumbers(t *testing.T) {
	t.Parallel()
	s := New(Config{AuthID: testAuthID, AuthToken: testToken})
	var want []string
	for i := 44; i >= 0; i-- { // added out of order: the list is sorted
		n := fmt.Sprintf("1202555%04d", i)
		s.AddNumber(Number{Number: n})
	}
	for i := range 45 {
		want = append(want, fmt.Sprintf("1202555%04d", i))
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)

	type page struct {
		APIID string `json:"api_id"`
		Meta  struct {
			Limit      int     `json:"limit"`
			Offset     int     `json:"offset"`
			TotalCount int     `json:"total_count"`
			Next       *string `json:"next"`
			Previous   *string `json:"previous"`
		} `json:"meta"`
		Objects []struct {
			Number      string `json:"number"`
			ResourceURI string `json:"resource_uri"`
		} `json:"objects"`
	}
	get := func(path string) page {
		t.Helper()
		res := send(t, ts, http.MethodGet, path, "")
		if res.status != http.StatusOK {
			t.Fatalf("GET %s: status %d, body %s", path, res.status, res.body)
		}
		var p page
		if err := json.Unmarshal(res.body, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// Follow next from the first page.
	var got []string
	path := "/v1/Account/" + testAuthID + "/Number/"
	var pages []page
	for path != "" {
		p := get(path)
		pages = append(pages, p)
		for _, o := range p.Objects {
			got = append(got, o.Number)
		}
		path = ""
		if p.Meta.Next != nil {
			path = *p.Meta.Next
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("numbers listed = %v, want %v", got, want)
	}
	if len(pages) != 3 {
		t.Fatalf("pages = %d, want 3", len(pages))
	}
	for i, p := range pages {
		if p.Meta.Limit != 20 || p.Meta.Offset != 20*i || p.Meta.TotalCount != 45 {
			t.Errorf("page %d meta = %+v, want limit 20, offset %d, total 45", i, p.Meta, 20*i)
		}
		if (p.Meta.Previous == nil) != (i == 0) {
			t.Errorf("page %d previous = %v", i, p.Meta.Previous)
		}
		if !apiIDPattern.MatchString(p.APIID) {
			t.Errorf("page %d api_id = %q", i, p.APIID)
		}
	}
	if want := "/v1/Account/" + testAuthID + "/Number/?limit=20&offset=20"; pages[2].Meta.Previous == nil || *pages[2].Meta.Previous != want {
		t.Errorf("last page previous = %v, want %s", pages[2].Meta.Previous, want)
	}
	if o := pages[0].Objects[0]; o.ResourceURI != numberPath(o.Number) {
		t.Errorf("resource_uri = %q, want %q", o.ResourceURI, numberPath(o.Number))
	}

	p := get("/v1/Account/" + testAuthID + "/Number/?limit=5&offset=43")
	if len(p.Objects) != 2 || p.Meta.Next != nil || p.Meta.Limit != 5 {
		t.Errorf("tail page = %+v, want 2 objects and no next", p)
	}
	p = get("/v1/Account/" + testAuthID + "/Number/?offset=100")
	if len(p.Objects) != 0 || p.Meta.Next != nil || p.Meta.TotalCount != 45 {
		t.Errorf("page past the end = %+v, want no objects", p)
	}
}

// serve sends one authenticated request straight to s's handler, so that
// it can run in a synctest bubble, on its fake clock.
func serve(s *Server, method, path, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.SetBasicAuth(testAuthID, testToken)
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

// TestServer_RateLimit: Plivo's documented 300 per 5 s passes at once, then
// 60 a second; a 429 has no Retry-After, changes nothing and is counted.
func TestServer_RateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Config{AuthID: testAuthID, AuthToken: testToken, RateLimit: PlivoLimit.Limit, RateWindow: PlivoLimit.Window})
		s.AddNumber(Number{Number: numAccepted})
		passed := func(n int) (ok int) {
			for i := range n {
				w := serve(s, http.MethodPost, numberPath(numAccepted), fmt.Sprintf(`{"alias": "a%d"}`, i))
				switch w.Code {
				case http.StatusAccepted:
					ok++
				case http.StatusTooManyRequests:
					if ra := w.Header().Get("Retry-After"); ra != "" {
						t.Errorf("Retry-After %q, want none", ra)
					}
				default:
					t.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			return ok
		}
		if got := passed(310); got != 300 {
			t.Errorf("a burst of 310: %d passed, want 300", got)
		}
		if got := mustNumber(t, s, numAccepted).Alias; got != "a299" {
			t.Errorf("alias = %q, want a299: a 429 must change nothing", got)
		}
		time.Sleep(time.Second)
		if got := passed(100); got != 60 {
			t.Errorf("a second later: %d of 100 passed, want 60", got)
		}
		time.Sleep(time.Hour)
		if got := passed(400); got != 300 {
			t.Errorf("an hour later: %d of 400 passed, want 300 (the bucket holds no more)", got)
		}
		if st := s.Stats(); st.RateLimited != 10+40+100 || st.Updates != 660 {
			t.Errorf("Stats = %+v, want 150 rate limited, 660 updates", st)
		}

		// A fractional rate admits one request, then one every 4 s.
		s = New(Config{AuthID: testAuthID, AuthToken: testToken, RateLimit: 0.25})
		s.AddNumber(Number{Number: numAccepted})
		if got := passed(3); got != 1 {
			t.Errorf("0.25/s: %d of 3 passed, want 1", got)
		}
		time.Sleep(4 * time.Second)
		if got := passed(3); got != 1 {
			t.Errorf("0.25/s, 4 s later: %d of 3 passed, want 1", got)
		}
	})
}

// recorder collects the requests a sandbox reports.
type recorder struct {
	mu   sync.Mutex
	reqs []Request
	ch   chan Request
}

func record(s *Server) *recorder {
	r := &recorder{ch: make(chan Request, 1000)}
	s.SetRecorder(func(req Request) {
		r.mu.Lock()
		r.reqs = append(r.reqs, req)
		r.mu.Unlock()
		r.ch <- req
	})
	return r
}

// next waits for the next recorded request.
func (r *recorder) next(t *testing.T) Request {
	t.Helper()
	select {
	case req := <-r.ch:
		return req
	case <-time.After(5 * time.Second):
		t.Fatal("no request recorded")
		return Request{}
	}
}

func TestServer_SetRecorder(t *testing.T) {
	t.Parallel()
	s, ts := newTestServer(t, Config{})
	rec := record(s)
	body := `{"alias": "rec", "app_id": null}`
	res := send(t, ts, http.MethodPost, numberPath(numAccepted), body)
	got := rec.next(t)
	alias := "rec"
	if got.Method != "POST" || got.Path != numberPath(numAccepted) || got.Number != numAccepted ||
		got.Body != body || got.Status != 202 || got.APIID != res.object(t)["api_id"] || !got.Applied ||
		got.Fault != "" || got.Time.IsZero() {
		t.Errorf("recorded %+v", got)
	}
	if want := map[string]*string{"alias": &alias, "app_id": nil}; !reflect.DeepEqual(got.Fields, want) {
		t.Errorf("Fields = %v, want %v", got.Fields, want)
	}

	send(t, ts, http.MethodGet, "/v1/Account/"+testAuthID+"/", "", withoutAuth)
	if got := rec.next(t); got.Status != 401 || got.APIID != "" || got.Applied {
		t.Errorf("recorded %+v, want a 401 without api_id", got)
	}
	send(t, ts, http.MethodPost, numberPath(numAccepted), `nope`)
	if got := rec.next(t); got.Status != 400 || got.Fields != nil || got.Body != "nope" {
		t.Errorf("recorded %+v, want a 400 without fields", got)
	}

	s.SetRecorder(nil)
	send(t, ts, http.MethodGet, numberPath(numAccepted), "")
	select {
	case r := <-rec.ch:
		t.Errorf("recorded %+v after SetRecorder(nil)", r)
	default:
	}
}

func TestServer_DefaultAppOnMissing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		on         bool
		defaultApp string
		body       string
		wantApp    string
	}{
		{"alias only assigns the default", true, "42", `{"alias": "x"}`, "42"},
		{"empty body assigns the default", true, "42", `{}`, "42"},
		{"null app_id is not missing", true, "42", `{"app_id": null}`, testApp},
		{"explicit app wins", true, "42", `{"app_id": "` + testApp2 + `"}`, testApp2},
		{"explicit unassign wins", true, "42", `{"app_id": ""}`, ""},
		{"no default unassigns", true, "", `{"alias": "x"}`, ""},
		{"off keeps the app", false, "42", `{"alias": "x"}`, testApp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, ts := newTestServer(t, Config{DefaultAppOnMissing: tt.on, DefaultApp: tt.defaultApp})
			res := send(t, ts, http.MethodPost, numberPath(numAccepted), tt.body)
			if res.status != http.StatusAccepted {
				t.Fatalf("status %d, body %s", res.status, res.body)
			}
			if got := mustNumber(t, s, numAccepted).AppID; got != tt.wantApp {
				t.Errorf("AppID = %q, want %q", got, tt.wantApp)
			}
		})
	}
}

func TestServer_faults(t *testing.T) {
	t.Parallel()
	update := `{"alias": "faulty"}`

	t.Run("fail", func(t *testing.T) {
		t.Parallel()
		s, ts := newTestServer(t, Config{FailRate: 1})
		seen := map[int]bool{}
		for range 60 {
			res := send(t, ts, http.MethodPost, numberPath(numAccepted), update)
			seen[res.status] = true
			switch res.status {
			case 500:
				checkError(t, res, 500, "internal server error")
			case 502, 503:
				if ct := res.header.Get("Content-Type"); ct != "text/html" {
					t.Errorf("%d Content-Type = %q, want text/html", res.status, ct)
				}
			default:
				t.Fatalf("status %d, want 500, 502 or 503", res.status)
			}
		}
		if len(seen) != 3 {
			t.Errorf("statuses seen = %v, want all of 500, 502, 503", seen)
		}
		if got := mustNumber(t, s, numAccepted).Alias; got != "Main line" {
			t.Errorf("alias = %q: a failed request was applied", got)
		}
		if st := s.Stats(); st.Faults != 60 || st.Updates != 0 {
			t.Errorf("Stats = %+v, want 60 faults, 0 updates", st)
		}
		// Account, application and subaccount reads are spared.
		if res := send(t, ts, http.MethodGet, "/v1/Account/"+testAuthID+"/", ""); res.status != 200 {
			t.Errorf("account read status %d, want 200", res.status)
		}
	})
}

// TestServer_latency: number requests wait, on a fake clock; a client that
// gives up first gets no answer and applies nothing; other reads do not
// wait.
func TestServer_latency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const latency = 150 * time.Millisecond
		s := New(Config{AuthID: testAuthID, AuthToken: testToken, Latency: latency})
		s.AddNumber(Number{Number: numAccepted, Alias: "old"})
		start := time.Now()
		if w := serve(s, http.MethodPost, numberPath(numAccepted), `{"alias": "new"}`); w.Code != http.StatusAccepted || time.Since(start) != latency {
			t.Errorf("status %d after %v, want 202 after %v", w.Code, time.Since(start), latency)
		}
		start = time.Now()
		if w := serve(s, http.MethodGet, "/v1/Account/"+testAuthID+"/", ""); w.Code != http.StatusOK || time.Since(start) != 0 {
			t.Errorf("account read: status %d after %v, want 200 at once", w.Code, time.Since(start))
		}

		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		r := httptest.NewRequestWithContext(ctx, http.MethodPost, numberPath(numAccepted), strings.NewReader(`{"alias": "late"}`))
		r.SetBasicAuth(testAuthID, testToken)
		r.Header.Set("Content-Type", "application/json")
		var got Request
		s.SetRecorder(func(q Request) { got = q })
		func() {
			defer func() {
				if p := recover(); p != http.ErrAbortHandler {
					t.Errorf("panic %v, want http.ErrAbortHandler (no answer)", p)
				}
			}()
			s.ServeHTTP(httptest.NewRecorder(), r)
		}()
		if got.Status != 0 || mustNumber(t, s, numAccepted).Alias != "new" {
			t.Errorf("recorded %+v, alias %q; want no answer, nothing applied", got, mustNumber(t, s, numAccepted).Alias)
		}
	})
}

func TestDump_LoadNumbers_roundTrip(t *testing.T) {
	t.Parallel()
	s := New(Config{})
	want := []Number{
		{Number: "12025550001", AppID: testApp, Alias: `Sales, "east"`, ComplianceStatus: "accepted"},
		{Number: "12025550002", Subaccount: testSub, Alias: "line\nbreak", ComplianceStatus: "pending", ComplianceApplicationID: "CA-1"},
		{Number: "447700900123", Alias: "  spaced ünïcode ", ComplianceStatus: "rejected"},
		{Number: "5511999990000", ComplianceStatus: "accepted"},
	}
	for i := len(want) - 1; i >= 0; i-- {
		s.AddNumber(want[i])
	}
	var buf bytes.Buffer
	if err := s.Dump(&buf); err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(buf.String(), "\n"); first != strings.Join(Columns, ",") {
		t.Errorf("header = %q", first)
	}
	got, err := LoadNumbers(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(s.Numbers(), want) {
		t.Errorf("Numbers() = %+v, want %+v", s.Numbers(), want)
	}
}

func TestLoadNumbers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    []Number
		wantErr string
	}{
		{name: "any order and case, BOM, spaces", in: "\uFEFFAlias, NUMBER ,App_ID\nhi, 12025550001 ,7\n",
			want: []Number{{Number: "12025550001", AppID: "7", Alias: "hi", ComplianceStatus: "accepted"}}},
		{name: "number only", in: "number\n12025550001\n\n12025550002\n",
			want: []Number{{Number: "12025550001", ComplianceStatus: "accepted"}, {Number: "12025550002", ComplianceStatus: "accepted"}}},
		{name: "header only", in: "number,alias\n", want: nil},
		{name: "empty", in: "", wantErr: "missing header"},
		{name: "unknown column", in: "number,app\n1,2\n", wantErr: `unknown column "app"`},
		{name: "duplicate column", in: "number,Number\n1,1\n", wantErr: "twice"},
		{name: "no number column", in: "alias\nx\n", wantErr: "missing column"},
		{name: "plus", in: "number\n+12025550001\n", wantErr: "line 2"},
		{name: "letters", in: "number\n1202555000a\n", wantErr: "E.164"},
		{name: "empty number", in: "number,alias\n,x\n", wantErr: "E.164"},
		{name: "too long", in: "number\n1234567890123456\n", wantErr: "E.164"},
		{name: "duplicate number", in: "number\n12025550001\n12025550001\n", wantErr: "line 3: number 12025550001 already on line 2"},
		{name: "bad subaccount", in: "number,subaccount\n1,sa123\n", wantErr: "subaccount"},
		{name: "bad app", in: "number,app_id\n1,a/b\n", wantErr: "app_id"},
		{name: "short row", in: "number,alias\n1\n", wantErr: "wrong number of fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := LoadNumbers(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestServer_SeedNumbers(t *testing.T) {
	t.Parallel()
	s := New(Config{AuthID: testAuthID, AuthToken: testToken})
	s.AddApplication(testApp, "Kept name")
	s.SeedNumbers([]Number{{Number: "1", AppID: testApp, Subaccount: testSub}, {Number: "2", AppID: "77"}})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	acct := "/v1/Account/" + testAuthID + "/"
	if m := send(t, ts, "GET", acct+"Application/"+testApp+"/", "").object(t); m["app_name"] != "Kept name" {
		t.Errorf("app_name = %v, want the existing name kept", m["app_name"])
	}
	for _, p := range []string{acct + "Application/77/", acct + "Subaccount/" + testSub + "/"} {
		if res := send(t, ts, "GET", p, ""); res.status != 200 {
			t.Errorf("GET %s: %d, want 200", p, res.status)
		}
	}
	if n := mustNumber(t, s, "1"); n.ComplianceStatus != "accepted" {
		t.Errorf("ComplianceStatus = %q, want accepted", n.ComplianceStatus)
	}
}

func TestServer_concurrent(t *testing.T) {
	t.Parallel()
	s, ts := newTestServer(t, Config{})
	var numbers []string
	for i := range 8 {
		n := fmt.Sprintf("1303555%04d", i)
		numbers = append(numbers, n)
		s.AddNumber(Number{Number: n})
	}
	var recorded, answered atomic.Int64
	s.SetRecorder(func(r Request) {
		recorded.Add(1)
		if r.Status == 200 || r.Status == 202 {
			answered.Add(1)
		}
	})

	const workers, each = 32, 40
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				n := numbers[(w+i)%len(numbers)]
				var res response
				var err error
				if i%3 == 0 {
					res, err = sendErr(t, ts.Client(), ts.URL, "GET", numberPath(n), "")
				} else {
					body := fmt.Sprintf(`{"alias": "w%d-%d", "app_id": "%s"}`, w, i, []string{testApp, testApp2, ""}[i%3])
					res, err = sendErr(t, ts.Client(), ts.URL, "POST", numberPath(n), body)
				}
				if err != nil {
					t.Error(err)
					return
				}
				if res.status != 200 && res.status != 202 {
					t.Errorf("status %d: %s", res.status, res.body)
				}
			}
		})
	}
	// Readers of the state and stats run alongside.
	done := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
				_ = s.Stats()
				_ = s.Numbers()
				_ = s.Dump(io.Discard)
			}
		}
	})
	wg.Wait()
	close(done)
	readers.Wait()

	total := int64(workers * each)
	st := s.Stats()
	if st.Requests != total || answered.Load() != total || recorded.Load() != total {
		t.Errorf("Stats = %+v, recorded %d, answered %d; want %d requests all answered", st, recorded.Load(), answered.Load(), total)
	}
	if want := int64(workers * (each - (each+2)/3)); st.Updates != want {
		t.Errorf("Updates = %d, want %d", st.Updates, want)
	}
	for _, n := range numbers {
		if a := mustNumber(t, s, n).Alias; !strings.HasPrefix(a, "w") {
			t.Errorf("%s alias = %q, want one that was sent", n, a)
		}
	}
}

func TestStart(t *testing.T) {
	t.Parallel()
	s := New(Config{Latency: time.Hour})
	s.AddNumber(Number{Number: numAccepted})
	cfg := s.Config()
	base, stop, err := Start(s, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Errorf("base URL = %q", base)
	}
	get := func(path string) (*http.Response, error) {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.SetBasicAuth(cfg.AuthID, cfg.AuthToken)
		return http.DefaultClient.Do(req)
	}
	res, err := get("/v1/Account/" + cfg.AuthID + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("account status %d, want 200", res.StatusCode)
	}

	// A delayed request does not hold up stop.
	stalled := make(chan error, 1)
	go func() {
		res, err := get("/v1/Account/" + cfg.AuthID + "/Number/" + numAccepted + "/")
		if err == nil {
			res.Body.Close()
		}
		stalled <- err
	}()
	for s.Stats().Requests < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := stop(ctx); err != nil {
		t.Errorf("stop: %v", err)
	}
	if err := <-stalled; err == nil {
		t.Error("delayed request got an answer")
	}
	if err := stop(ctx); err != nil {
		t.Errorf("second stop: %v", err)
	}
	if _, err := get("/v1/Account/" + cfg.AuthID + "/"); err == nil {
		t.Error("server still answers after stop")
	}

	if _, _, err := Start(s, "0.0.0.0:0"); err == nil {
		t.Error("Start on 0.0.0.0 succeeded, want refused")
	}
}

func TestCheckListenAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:8089", true},
		{"127.1.2.3:0", true},
		{"localhost:8089", true},
		{"LOCALHOST:1", true},
		{"[::1]:8089", true},
		{"0.0.0.0:8089", false},
		{":8089", false},
		{"[::]:8089", false},
		{"192.168.1.2:8089", false},
		{"example.com:8089", false},
		{"127.0.0.1", false},
		{"localhost.example.com:80", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			t.Parallel()
			if err := CheckListenAddr(tt.addr); (err == nil) != tt.ok {
				t.Errorf("CheckListenAddr(%q) = %v, want ok %v", tt.addr, err, tt.ok)
			}
		})
	}
}

func TestConfig_Validate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"zero", Config{}, ""},
		{"full", Config{AuthID: testAuthID, AuthToken: "a:b/c", RateLimit: 300, RateWindow: 5 * time.Second, Latency: time.Second,
			FailRate: 1, DefaultApp: "1"}, ""},
		{"rate above 1", Config{FailRate: 1.5}, "fail rate"},
		{"negative rate", Config{FailRate: -0.1}, "fail rate"},
		{"negative rate limit", Config{RateLimit: -1}, "rate limit"},
		{"negative latency", Config{Latency: -time.Second}, "latency"},
		{"colon in auth id", Config{AuthID: "MA:1"}, "auth id"},
		{"space in token", Config{AuthToken: "a b"}, "auth token"},
		{"bad default app", Config{DefaultApp: "a/b"}, "default app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate() = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
	if err := (Config{AuthToken: "secret value"}).Validate(); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("Validate() = %v: want an error that does not quote the token", err)
	}
}

func TestNew_generated(t *testing.T) {
	t.Parallel()
	a, b := New(Config{}).Config(), New(Config{}).Config()
	if !regexp.MustCompile(`^MA[A-Z0-9]{18}$`).MatchString(a.AuthID) {
		t.Errorf("AuthID = %q, want MA and 18 upper-case letters or digits", a.AuthID)
	}
	if len(a.AuthToken) < 32 || !regexp.MustCompile(`^[A-Za-z0-9]+$`).MatchString(a.AuthToken) {
		t.Errorf("AuthToken = %q, want 32 or more letters and digits", a.AuthToken)
	}
	if a.AuthID == b.AuthID || a.AuthToken == b.AuthToken {
		t.Error("two sandboxes got the same credentials")
	}
	kept := New(Config{AuthID: testAuthID, AuthToken: testToken}).Config()
	if kept.AuthID != testAuthID || kept.AuthToken != testToken {
		t.Errorf("Config() = %+v, want the given credentials", kept)
	}
}

func TestValidIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f    func(string) bool
		name string
		id   string
		want bool
	}{
		{ValidSubaccountID, "sub", testSub, true},
		{ValidSubaccountID, "sub lower", "SA0123456789abcdefgh", false},
		{ValidSubaccountID, "sub short", "SA0123", false},
		{ValidSubaccountID, "main as sub", testAuthID, false},
		{ValidAppID, "digits", testApp, true},
		{ValidAppID, "empty", "", false},
		{ValidAppID, "slash", "1/2", false},
		{ValidAppID, "space", "1 2", false},
	}
	for _, tt := range tests {
		if got := tt.f(tt.id); got != tt.want {
			t.Errorf("%s: valid(%q) = %v, want %v", tt.name, tt.id, got, tt.want)
		}
	}
}

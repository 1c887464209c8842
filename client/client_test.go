package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

const (
	testAuthID = "MAXXXXXXXXXXXXXXXXXX"
	testToken  = "s3cr3t-t0ken-value"
	listPath   = "/v1/Account/" + testAuthID + "/Number/"
)

// setup starts a server with mux and a client of token for it.
func setup(t *testing.T, token string, opt Options) (*Client, *http.ServeMux) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	opt.UserAgent = "plivo-bulk/test"
	c, err := New(srv.URL, testAuthID, token, opt)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, mux
}

// answer serves status and body to every request.
func answer(mux *http.ServeMux, status int, body string) {
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	})
}

// TestClient_UpdateNumber: the body, credentials and headers are as Plivo expects, and every answer is
// drained and closed, so sequential calls share one connection. The bubble's clock stands still, so the
// transport's 50 ms for its writer are never missed.
func TestClient_UpdateNumber(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, mux := setup(t, testToken, Options{MaxConns: 4})
		defer c.http.CloseIdleConnections() // their goroutines must end inside the bubble
		mux.HandleFunc("POST "+listPath+"12025551111/", func(w http.ResponseWriter, r *http.Request) {
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			u, p, _ := r.BasicAuth()
			if want := map[string]any{"app_id": "", "alias": "Front desk"}; !reflect.DeepEqual(body, want) || u != testAuthID || p != testToken ||
				r.Header.Get("User-Agent") != "plivo-bulk/test" || r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("body %v (want %v: app_id \"\", never null), auth %q %q, headers %v", body, want, u, p, r.Header)
			}
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprint(w, `{"message":"changed","api_id":"5a9fcb68"}`)
		})
		dials := 0
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
			if !info.Reused {
				dials++
			}
		}})
		for range 20 {
			got, err := c.UpdateNumber(ctx, "12025551111", map[string]string{"app_id": "", "alias": "Front desk"})
			if err != nil || got != (Changed{Message: "changed", APIID: "5a9fcb68", HTTPStatus: 202}) {
				t.Fatalf("UpdateNumber = %+v, %v", got, err)
			}
		}
		if dials != 1 {
			t.Errorf("20 sequential calls opened %d connections, want 1", dials)
		}
	})
}

// TestClient_errors: every failed answer is an *APIError of one request, with its kind and Plivo's
// text; the client never retries, nor follows a redirect, and no answer proves what it does not say.
func TestClient_errors(t *testing.T) {
	const page = `"meta":{"limit":20,"offset":0,"total_count":5,"next":null}`
	for _, tt := range []struct {
		call         string
		status       int
		header, body string
		kind         Kind
		msg, apiID   string
		retryAfter   time.Duration
	}{
		{"update", 404, "", `{"api_id":"a1","error":"not found"}`, KindNotFound, "not found", "a1", 0},
		{"update", 400, "", `{"api_id":"a2","error":"invalid app_id"}`, KindHTTP4xx, "invalid app_id", "a2", 0},
		{"update", 401, "", `{"error":"authentication credentials were not provided"}`, KindAuth, "authentication credentials were not provided", "", 0},
		{"update", 403, "", `{"api_id":"a3","error":"forbidden"}`, KindForbidden, "forbidden", "a3", 0},
		{"update", 405, "", `{"error":"method not allowed"}`, KindMethod, "method not allowed", "", 0},
		{"update", 429, "Retry-After: 3", `{"error":"too many requests"}`, KindRateLimited, "too many requests", "", 3 * time.Second},
		{"update", 429, "Retry-After: 999999", `{}`, KindRateLimited, "{}", "", maxRetryAfter},
		{"update", 429, "Retry-After: soon", ``, KindRateLimited, "Too Many Requests", "", 0},
		{"update", 500, "", `{"api_id":"a4","error":"internal"}`, KindServer, "internal", "a4", 0},
		{"update", 502, "", "<html>\n<body>Bad   gateway</body></html>", KindServer, "<html> <body>Bad gateway</body></html>", "", 0},
		{"update", 400, "", `{"error":{"alias":["too long"]}}`, KindHTTP4xx, `{"alias":["too long"]}`, "", 0},
		{"update", 307, "Location: /elsewhere", "", KindRedirect, "Temporary Redirect to /elsewhere (not followed: the credentials would be sent again; check --api-url)", "", 0},
		{"update", 202, "", `{"message":"changed"}`, KindBadAnswer, "answer has no api_id", "", 0},
		{"update", 200, "", `<html>hello</html>`, KindBadAnswer, "answer is not the expected JSON: <html>hello</html>", "", 0},
		{"get", 200, "", `{"message":"changed"}`, KindBadAnswer, "answer is not the description of number 12025551111", "", 0},
		{"get", 200, "", `{"number":"19999999999"}`, KindBadAnswer, "answer is not the description of number 12025551111", "", 0},
		{"list", 200, "", `{` + page + `}`, KindBadAnswer, "answer is not a page of the number list: no meta or no objects", "", 0},
		{"list", 200, "", `{` + page + `,"objects":[{"alias":"x"}]}`, KindBadAnswer, "object 0 of the number list has no number", "", 0},
		{"list", 200, "", `{` + page + `,"objects":{"number":"1"}}`, KindBadAnswer, `answer is not the expected JSON: {` + page + `,"objects":{"number":"1"}}`, "", 0},
	} {
		c, mux := setup(t, testToken, Options{})
		n := 0
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			n++
			if k, v, ok := strings.Cut(tt.header, ": "); ok {
				w.Header().Set(k, v)
			}
			w.WriteHeader(tt.status)
			fmt.Fprint(w, tt.body)
		})
		var err error
		var page NumberPage
		switch tt.call {
		case "list":
			page, err = c.ListNumbers(context.Background(), ListParams{})
		case "get":
			_, err = c.GetNumber(context.Background(), "12025551111")
		default:
			_, err = c.UpdateNumber(context.Background(), "12025551111", map[string]string{"alias": "x"})
		}
		e, ok := errors.AsType[*APIError](err)
		if want := fmt.Sprintf("HTTP %d: %s", tt.status, tt.msg); !ok || e.Kind != tt.kind || err.Error() != want || e.APIID != tt.apiID ||
			e.RetryAfter != tt.retryAfter || e.StatusCode != tt.status || n != 1 || page.Objects != nil {
			t.Errorf("%s %d %s: %d requests, %#v\nwant one, %v %q api_id %q Retry-After %v", tt.call, tt.status, tt.body, n, err, tt.kind, want, tt.apiID, tt.retryAfter)
		}
	}
}

// TestClient_reads: a number's read and a page's objects come as loosely as Plivo's recorded answers
// show, the plain ids the same whatever the shape; null and "" are none, a missing key is named in
// Missing; the list's query is what the parameters say; the account's and its resources' checks GET them.
func TestClient_reads(t *testing.T) {
	c, mux := setup(t, testToken, Options{})
	var query url.Values
	var paths []string
	mux.HandleFunc("GET "+listPath, func(w http.ResponseWriter, r *http.Request) {
		if query = r.URL.Query(); query.Get("limit") != "3" {
			fmt.Fprint(w, `{"meta":{"limit":20,"offset":40,"total_count":41,"next":null},"objects":[]}`)
			return
		}
		fmt.Fprint(w, `{"api_id": "114de006", "meta": {"limit": 3, "next": "/v1/Account/`+testAuthID+`/Number/?limit=3&offset=3", "offset": 0, "previous": null, "total_count": 7},
  "objects": [
    {"number": "18135401302", "alias": null, "sub_account": null, "application": "/v1/Account/`+testAuthID+`/Application/29986316244302815/", "carrier": "Plivo"},
    {"number": "18135401303", "alias": "", "sub_account": "SAXXXXXXXXXXXXXXXXXX", "application": null},
    {"number": "18135401304", "alias": "Front desk", "sub_account": "/v1/Account/`+testAuthID+`/Subaccount/SAYYYYYYYYYYYYYYYYYY/", "application": "29986316244302816"}]}`)
	})
	mux.HandleFunc("GET "+listPath+"12025551111/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"number":"12025551111","alias":null,"application":"/v1/Account/%[1]s/Application/2037/","sub_account":"/v1/Account/%[1]s/Subaccount/SA1/","compliance_application_id":null,"api_id":"g1"}`, testAuthID)
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) { paths = append(paths, r.URL.Path); fmt.Fprint(w, `{}`) })
	got, err := c.GetNumber(context.Background(), "12025551111")
	if err != nil || got.AppID() != "2037" || got.SubaccountID() != "SA1" || got.Alias != "" || got.Missing != nil {
		t.Errorf("GetNumber = %+v, %v; AppID %q, SubaccountID %q", got, err, got.AppID(), got.SubaccountID())
	}
	if err := errors.Join(c.GetAccount(context.Background()), c.GetApplication(context.Background(), "2037"), c.GetSubaccount(context.Background(), "SA1")); err != nil ||
		!slices.Equal(paths, []string{"/v1/Account/" + testAuthID + "/", "/v1/Account/" + testAuthID + "/Application/2037/", "/v1/Account/" + testAuthID + "/Subaccount/SA1/"}) {
		t.Errorf("checks: %v, paths %q", err, paths)
	}
	page, err := c.ListNumbers(context.Background(), ListParams{Limit: 3})
	var listed [][4]string
	for _, o := range page.Objects {
		listed = append(listed, [4]string{o.Number, o.AppID(), o.SubaccountID(), o.Alias})
	}
	want := [][4]string{{"18135401302", "29986316244302815", "", ""}, {"18135401303", "", "SAXXXXXXXXXXXXXXXXXX", ""}, {"18135401304", "29986316244302816", "SAYYYYYYYYYYYYYYYYYY", "Front desk"}}
	if err != nil || !reflect.DeepEqual(listed, want) || page.TotalCount != 7 {
		t.Errorf("ListNumbers = %v, %+v, %d in all; want %v, 7", err, listed, page.TotalCount, want)
	}
	for _, tt := range []struct {
		p    ListParams
		want url.Values
	}{
		{ListParams{}, url.Values{"limit": {"20"}, "offset": {"0"}}},
		{ListParams{Limit: 20, Offset: 40, NumberStartsWith: "1202", Subaccount: "SAXXXXXXXXXXXXXXXXXX", Alias: "Front desk & co"},
			url.Values{"limit": {"20"}, "offset": {"40"}, "number_startswith": {"1202"}, "subaccount": {"SAXXXXXXXXXXXXXXXXXX"}, "alias": {"Front desk & co"}}},
	} {
		if _, err := c.ListNumbers(context.Background(), tt.p); err != nil || !reflect.DeepEqual(query, tt.want) {
			t.Errorf("%+v: query %v, %v; want %v", tt.p, query, err, tt.want)
		}
	}
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
	if err := json.Unmarshal([]byte(`{"alias":5}`), new(NumberInfo)); err == nil {
		t.Error("an alias that is a number decoded without an error")
	}
}

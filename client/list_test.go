package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
)

const listPath = "/v1/Account/" + testAuthID + "/Number/"

// TestClient_ListNumbers_looseFields: the objects of a page come as
// loosely as Plivo's recorded answers show, and the plain ids come out the
// same whatever the shape.
func TestClient_ListNumbers_looseFields(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("GET "+listPath, func(w http.ResponseWriter, r *http.Request) {
		checkAuth(t, r)
		want := url.Values{"limit": {"3"}, "offset": {"0"}}
		if got := r.URL.Query(); !reflect.DeepEqual(got, want) {
			t.Errorf("query = %v, want %v", got, want)
		}
		fmt.Fprint(w, `{
  "api_id": "114de006-1c95-11e4-8a4a-123140008edf",
  "meta": {"limit": 3, "next": "/v1/Account/`+testAuthID+`/Number/?limit=3&offset=3", "offset": 0, "previous": null, "total_count": 7},
  "objects": [
    {"number": "18135401302", "alias": null, "sub_account": null, "application": "/v1/Account/`+testAuthID+`/Application/29986316244302815/", "carrier": "Plivo", "voice_rate": "0.00850"},
    {"number": "18135401303", "alias": "", "sub_account": "SAXXXXXXXXXXXXXXXXXX", "application": null},
    {"number": "18135401304", "alias": "Front desk", "sub_account": "/v1/Account/`+testAuthID+`/Subaccount/SAYYYYYYYYYYYYYYYYYY/", "application": "29986316244302816", "compliance_status": "accepted"}
  ]
}`)
	})
	page, err := c.ListNumbers(context.Background(), ListParams{Limit: 3})
	if err != nil {
		t.Fatalf("ListNumbers: %v", err)
	}
	type ids struct{ Number, App, Sub, Alias string }
	var got []ids
	for _, o := range page.Objects {
		got = append(got, ids{o.Number, o.AppID(), o.SubaccountID(), o.Alias})
	}
	want := []ids{
		{"18135401302", "29986316244302815", "", ""},
		{"18135401303", "", "SAXXXXXXXXXXXXXXXXXX", ""},
		{"18135401304", "29986316244302816", "SAYYYYYYYYYYYYYYYYYY", "Front desk"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("objects = %+v\nwant %+v", got, want)
	}
	if off, ok := page.NextOffset(); !ok || off != 3 || page.TotalCount != 7 {
		t.Errorf("TotalCount %d, NextOffset = %d, %v; want 7, 3, true", page.TotalCount, off, ok)
	}
}

func TestClient_ListNumbers_lastPages(t *testing.T) {
	for body, want := range map[string]int{
		`{"api_id":"a1","meta":{"limit":20,"offset":40,"total_count":41,"next":null},"objects":[{"number":"12025550040","alias":null,"application":null,"sub_account":null}]}`: 1,
		`{"api_id":"a1","meta":{"limit":20,"offset":0,"total_count":0,"next":null,"previous":null},"objects":[]}`:                                                              0,
	} {
		c, mux := setup(t)
		mux.HandleFunc("GET "+listPath, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) })
		page, err := c.ListNumbers(context.Background(), ListParams{})
		if _, more := page.NextOffset(); err != nil || more || page.Next != "" || len(page.Objects) != want {
			t.Errorf("ListNumbers = %+v, %v; want %d objects and no next page", page, err, want)
		}
	}
}

func TestClient_ListNumbers_query(t *testing.T) {
	tests := []struct {
		name string
		p    ListParams
		want url.Values
	}{
		{"defaults", ListParams{}, url.Values{"limit": {"20"}, "offset": {"0"}}},
		{"one", ListParams{Limit: 1, Offset: 19}, url.Values{"limit": {"1"}, "offset": {"19"}}},
		{"filters", ListParams{Limit: 20, Offset: 40, NumberStartsWith: "1202", Subaccount: "SAXXXXXXXXXXXXXXXXXX", Alias: "Front desk & co"},
			url.Values{"limit": {"20"}, "offset": {"40"}, "number_startswith": {"1202"}, "subaccount": {"SAXXXXXXXXXXXXXXXXXX"}, "alias": {"Front desk & co"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := setup(t)
			mux.HandleFunc("GET "+listPath, func(w http.ResponseWriter, r *http.Request) {
				if got := r.URL.Query(); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("query = %v, want %v", got, tt.want)
				}
				fmt.Fprint(w, `{"meta":{"limit":20,"offset":0,"total_count":0,"next":null},"objects":[]}`)
			})
			if _, err := c.ListNumbers(context.Background(), tt.p); err != nil {
				t.Fatalf("ListNumbers: %v", err)
			}
		})
	}
}

func TestClient_ListNumbers_invalidParams(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { t.Errorf("a request was sent: %s", r.URL) })
	for _, p := range []ListParams{{Limit: 21}, {Limit: -1}, {Limit: 100}, {Offset: -1}} {
		if _, err := c.ListNumbers(context.Background(), p); err == nil || !strings.Contains(err.Error(), "invalid list parameters") {
			t.Errorf("%+v: err = %v, want invalid list parameters", p, err)
		}
	}
}

// TestClient_ListNumbers_errors: failures come as for every call, once: the
// client does not retry, whatever the status.
func TestClient_ListNumbers_errors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		wantKind Kind
		wantMsg  string
	}{
		{"400", 400, `{"api_id":"a1","error":"limit must be an integer from 1 to 20"}`, KindHTTP4xx, "limit must be"},
		{"401", 401, `{"error":"invalid credentials"}`, KindAuth, "invalid credentials"},
		{"429", 429, `{"api_id":"a2","error":"too many requests"}`, KindRateLimited, "too many"},
		{"503 html", 503, `<html>busy</html>`, KindServer, "busy"},
		{"200 html", 200, `<html>It works!</html>`, KindBadAnswer, "not the expected JSON"},
		{"truncated", 200, `{"api_id":"a3","meta":{"limit":20`, KindBadAnswer, "not the expected JSON"},
		{"no meta", 202, `{"message":"changed"}`, KindBadAnswer, "not a page of the number list"},
		{"no objects", 200, `{"meta":{"limit":20,"offset":0,"total_count":5,"next":null}}`, KindBadAnswer, "not a page"},
		{"null objects", 200, `{"meta":{"limit":20,"offset":0,"total_count":5,"next":null},"objects":null}`, KindBadAnswer, "not a page"},
		{"object without number", 200, `{"meta":{"limit":20,"offset":0,"total_count":1,"next":null},"objects":[{"alias":"x"}]}`, KindBadAnswer, "object 0 of the number list has no number"},
		{"objects not a list", 200, `{"meta":{"limit":20,"offset":0,"total_count":1,"next":null},"objects":{"number":"1"}}`, KindBadAnswer, "not the expected JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var requests atomic.Int64
			c, mux := setup(t)
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			page, err := c.ListNumbers(context.Background(), ListParams{})
			e, ok := AsAPIError(err)
			if !ok {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if e.Kind != tt.wantKind || e.StatusCode != tt.status || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Kind=%v StatusCode=%d %q, want %v %d %q", e.Kind, e.StatusCode, err, tt.wantKind, tt.status, tt.wantMsg)
			}
			if len(page.Objects) != 0 || page.Next != "" {
				t.Errorf("page = %+v on error, want zero", page)
			}
			if n := requests.Load(); n != 1 {
				t.Errorf("requests = %d, want exactly 1: the client must not retry", n)
			}
		})
	}
}

func TestClient_ListNumbers_cancelled(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.ListNumbers(ctx, ListParams{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestSecrets_ListNumbers: the token stays out of a list's errors and of
// what is kept of its answer, even from a server that echoes it.
func TestSecrets_ListNumbers(t *testing.T) {
	basic := basicOf(secretToken)
	bodies := map[string]struct {
		status int
		body   string
	}{
		"401 echo":      {401, `{"error":"you sent Basic ` + basic + ` and ` + secretToken + `"}`},
		"200 garbage":   {200, `<html>` + secretToken + `</html>`},
		"no meta echo":  {200, `{"message":"` + secretToken + `"}`},
		"fields echo":   {200, `{"meta":{"limit":20,"offset":0,"total_count":1,"next":"/x?t=` + secretToken + `"},"objects":[{"number":"1202","alias":"` + secretToken + `","application":"/v1/A/` + basic + `/"}]}`},
		"objects error": {200, `{"meta":{"limit":20,"offset":0,"total_count":1,"next":null},"objects":[{"alias":"` + secretToken + `"}]}`},
	}
	for name, tt := range bodies {
		t.Run(name, func(t *testing.T) {
			c, mux := setupWith(t, secretToken)
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			page, err := c.ListNumbers(context.Background(), ListParams{})
			text := printed(page)
			for _, o := range page.Objects {
				text += printed(o.AppID(), o.SubaccountID())
			}
			if err != nil {
				text += printed(err, errors.Unwrap(err))
			}
			assertNoSecret(t, "the list's answer or error", text)
		})
	}
}

func basicOf(token string) string {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(testAuthID, token)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

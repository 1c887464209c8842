package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/client"
)

// listPage is a page of the list as served, with its objects kept raw.
type listPage struct {
	APIID string `json:"api_id"`
	Meta  struct {
		Limit      int     `json:"limit"`
		Offset     int     `json:"offset"`
		TotalCount int     `json:"total_count"`
		Next       *string `json:"next"`
		Previous   *string `json:"previous"`
	} `json:"meta"`
	Objects []map[string]any `json:"objects"`
}

const listBase = "/v1/Account/" + testAuthID + "/Number/"

func getPage(t *testing.T, ts *httptest.Server, path string) listPage {
	t.Helper()
	res := send(t, ts, http.MethodGet, path, "")
	if res.status != http.StatusOK {
		t.Fatalf("GET %s: status %d, body %s", path, res.status, res.body)
	}
	var p listPage
	if err := json.Unmarshal(res.body, &p); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return p
}

// listAll follows next from path and returns the numbers listed.
func listAll(t *testing.T, ts *httptest.Server, path string) (numbers []string, pages []listPage) {
	t.Helper()
	for path != "" {
		p := getPage(t, ts, path)
		pages = append(pages, p)
		for _, o := range p.Objects {
			numbers = append(numbers, o["number"].(string))
		}
		path = ""
		if p.Meta.Next != nil {
			path = *p.Meta.Next
		}
		if len(pages) > 1000 {
			t.Fatal("next never ends")
		}
	}
	return numbers, pages
}

// newListServer returns a sandbox with 50 numbers: 1202555xxxx for even
// xxxx < 60, on the main account, and 1303555xxxx for xxxx < 20, of which
// a third on testSub, a third with the alias "desk".
func newListServer(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	cfg.AuthID, cfg.AuthToken = testAuthID, testToken
	s := New(cfg)
	s.AddApplication(testApp, "Main app")
	s.AddSubaccount(testSub, "Team")
	s.AddSubaccount("SA9999999999999999ZZ", "Empty team")
	var ns []Number
	for i := 0; i < 60; i += 2 {
		ns = append(ns, Number{Number: fmt.Sprintf("1202555%04d", i), AppID: testApp})
	}
	for i := range 20 {
		n := Number{Number: fmt.Sprintf("1303555%04d", i)}
		switch i % 3 {
		case 0:
			n.Subaccount = testSub
		case 1:
			n.Alias = "desk"
		}
		ns = append(ns, n)
	}
	// Added in reverse: the list is sorted all the same.
	for i := len(ns) - 1; i >= 0; i-- {
		s.AddNumber(ns[i])
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

func TestServer_ListNumbers_filters(t *testing.T) {
	t.Parallel()
	s, ts := newListServer(t, Config{})
	all := s.Numbers()
	tests := []struct {
		name  string
		query url.Values
		keep  func(Number) bool
	}{
		{"none", url.Values{}, func(Number) bool { return true }},
		{"prefix", url.Values{"number_startswith": {"1202"}}, func(n Number) bool { return strings.HasPrefix(n.Number, "1202") }},
		{"long prefix", url.Values{"number_startswith": {"120255500"}}, func(n Number) bool { return strings.HasPrefix(n.Number, "120255500") }},
		{"whole number", url.Values{"number_startswith": {"12025550010"}}, func(n Number) bool { return n.Number == "12025550010" }},
		{"prefix matching none", url.Values{"number_startswith": {"44"}}, func(Number) bool { return false }},
		{"subaccount", url.Values{"subaccount": {testSub}}, func(n Number) bool { return n.Subaccount == testSub }},
		{"subaccount without numbers", url.Values{"subaccount": {"SA9999999999999999ZZ"}}, func(Number) bool { return false }},
		{"alias", url.Values{"alias": {"desk"}}, func(n Number) bool { return n.Alias == "desk" }},
		{"alias is exact", url.Values{"alias": {"des"}}, func(Number) bool { return false }},
		{"all three", url.Values{"number_startswith": {"130355500"}, "alias": {"desk"}, "subaccount": {testSub}}, func(Number) bool { return false }},
		{"prefix and subaccount", url.Values{"number_startswith": {"1303555001"}, "subaccount": {testSub}}, func(n Number) bool {
			return strings.HasPrefix(n.Number, "1303555001") && n.Subaccount == testSub
		}},
	}
	for _, tt := range tests {
		for _, limit := range []int{1, 3, 7, 20} {
			t.Run(fmt.Sprintf("%s/limit=%d", tt.name, limit), func(t *testing.T) {
				t.Parallel()
				var want []string
				for _, n := range all {
					if tt.keep(n) {
						want = append(want, n.Number)
					}
				}
				q := url.Values{}
				for k, v := range tt.query {
					q[k] = v
				}
				q.Set("limit", fmt.Sprint(limit))
				got, pages := listAll(t, ts, listBase+"?"+q.Encode())
				if !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
					t.Errorf("listed %v\nwant %v", got, want)
				}
				if !sort.StringsAreSorted(got) {
					t.Errorf("listed out of order: %v", got)
				}
				if wantPages := max(1, (len(want)+limit-1)/limit); len(pages) != wantPages {
					t.Errorf("pages = %d, want %d", len(pages), wantPages)
				}
				for i, p := range pages {
					if p.Meta.TotalCount != len(want) || p.Meta.Limit != limit || p.Meta.Offset != i*limit {
						t.Errorf("page %d meta = %+v, want total %d, limit %d, offset %d", i, p.Meta, len(want), limit, i*limit)
					}
					// next and previous keep the filters.
					for _, link := range []*string{p.Meta.Next, p.Meta.Previous} {
						if link == nil {
							continue
						}
						u, err := url.Parse(*link)
						if err != nil {
							t.Fatal(err)
						}
						for k := range tt.query {
							if u.Query().Get(k) != tt.query.Get(k) {
								t.Errorf("page %d link %s lost the filter %s", i, *link, k)
							}
						}
					}
				}
			})
		}
	}
}

func TestServer_ListNumbers_badParameters(t *testing.T) {
	t.Parallel()
	_, ts := newListServer(t, Config{})
	tests := []struct{ query, want string }{
		{"limit=21", "limit must be an integer from 1 to 20"},
		{"limit=0", "limit must be"},
		{"limit=-3", "limit must be"},
		{"limit=", "limit must be"},
		{"limit=2.0", "limit must be"},
		{"limit=1e1", "limit must be"},
		{"offset=-1", "offset must be"},
		{"offset=x", "offset must be"},
		{"offset=", "offset must be"},
		{"number_startswith=", "number_startswith must be"},
		{"number_startswith=%2B1202", "number_startswith must be"},
		{"number_startswith=12x", "number_startswith must be"},
		{"subaccount=SA0000000000000000000X", "is not a subaccount"},
		{"subaccount=", "is not a subaccount"},
		{"alias=", "alias must not be empty"},
		{"alias=a&alias=b", `"alias" given 2 times`},
		{"type=local", `unknown parameter "type"`},
		{"services=voice", `unknown parameter "services"`},
		{"renewal_date__gt=2024-01-01", "unknown parameter"},
		{"limit=%zz", "malformed query string"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			res := send(t, ts, http.MethodGet, listBase+"?"+tt.query, "")
			checkError(t, res, http.StatusBadRequest, tt.want)
		})
	}
}

// TestServer_ListNumbers_objects: a list object has the fields of the
// single read, with sub_account a plain id (the single read keeps its URI)
// and alias, application and compliance_application_id null when unset.
func TestServer_ListNumbers_objects(t *testing.T) {
	t.Parallel()
	s, ts := newTestServer(t, Config{})
	s.AddNumber(Number{Number: "12025554444", AppID: testApp2, Subaccount: testSub, Alias: "Team line"})
	p := getPage(t, ts, listBase)
	if len(p.Objects) != 4 {
		t.Fatalf("objects = %d, want 4", len(p.Objects))
	}
	for _, o := range p.Objects {
		n := o["number"].(string)
		single := send(t, ts, http.MethodGet, numberPath(n), "").object(t)
		delete(single, "api_id")
		if _, ok := o["api_id"]; ok {
			t.Errorf("%s: a list object carries an api_id", n)
		}
		if got, want := keysOf(o), keysOf(single); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: list object fields %v, want the single read's %v", n, got, want)
		}
		for k, v := range single {
			if k != "sub_account" && !reflect.DeepEqual(o[k], v) {
				t.Errorf("%s: list %s = %v, single read %v", n, k, o[k], v)
			}
		}
		num := mustNumber(t, s, n)
		if num.Subaccount == "" {
			if o["sub_account"] != nil || single["sub_account"] != nil {
				t.Errorf("%s: sub_account = %v in the list, %v read alone; want null", n, o["sub_account"], single["sub_account"])
			}
			continue
		}
		if o["sub_account"] != num.Subaccount {
			t.Errorf("%s: list sub_account = %v, want the plain id %s", n, o["sub_account"], num.Subaccount)
		}
		if want := "/v1/Account/" + testAuthID + "/Subaccount/" + num.Subaccount + "/"; single["sub_account"] != want {
			t.Errorf("%s: single read sub_account = %v, want the URI %s", n, single["sub_account"], want)
		}
	}
	if o := p.Objects[0]; o["number"] != numAccepted || o["alias"] != "Main line" {
		t.Errorf("first object = %v, want %s with its alias", o, numAccepted)
	}
	if o := p.Objects[1]; o["alias"] != nil || o["application"] != nil {
		t.Errorf("object without alias or app = %v, want nulls", o)
	}
}

func keysOf(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// TestServer_ListNumbers_rawLinks: next and previous are written with a
// plain '&', as Plivo writes them.
func TestServer_ListNumbers_rawLinks(t *testing.T) {
	t.Parallel()
	_, ts := newListServer(t, Config{})
	res := send(t, ts, http.MethodGet, listBase+"?limit=2&offset=2&alias=desk", "")
	for _, want := range []string{
		`"next":"` + listBase + `?limit=2&offset=4&alias=desk"`,
		`"previous":"` + listBase + `?limit=2&offset=0&alias=desk"`,
	} {
		if !strings.Contains(string(res.body), want) {
			t.Errorf("body %s\nwant it to contain %s", res.body, want)
		}
	}
}

// TestServer_ListNumbers_rateLimited: list requests count toward the rate
// limit, as every request on the account does.
func TestServer_ListNumbers_rateLimited(t *testing.T) {
	t.Parallel()
	s, ts := newListServer(t, Config{RateLimit: 3, RateWindow: time.Hour})
	for i := range 5 {
		res := send(t, ts, http.MethodGet, listBase+"?limit=1", "")
		if want := map[bool]int{true: 200, false: 429}[i < 3]; res.status != want {
			t.Errorf("list request %d: status %d, want %d", i, res.status, want)
		}
	}
	// A refused list request is refused before its parameters are read.
	checkError(t, send(t, ts, http.MethodGet, listBase+"?limit=99", ""), http.StatusTooManyRequests, "too many requests")
	if st := s.Stats(); st.RateLimited != 3 || st.Requests != 6 {
		t.Errorf("Stats = %+v, want 3 listed, 3 rate limited", st)
	}
}

// TestServer_ListNumbers_client: the project's own client reads the whole
// account, filters included, by following the pages.
func TestServer_ListNumbers_client(t *testing.T) {
	t.Parallel()
	s, ts := newListServer(t, Config{})
	c, err := client.New(ts.URL, testAuthID, testToken)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []client.ListParams{{}, {Limit: 7}, {Subaccount: testSub, Limit: 2}, {NumberStartsWith: "1303", Alias: "desk"}} {
		t.Run(fmt.Sprintf("%+v", p), func(t *testing.T) {
			var got []Number
			for {
				page, err := c.ListNumbers(context.Background(), p)
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range page.Objects {
					got = append(got, Number{Number: o.Number, AppID: o.AppID(), Subaccount: o.SubaccountID(), Alias: o.Alias,
						ComplianceApplicationID: o.ComplianceApplicationID, ComplianceStatus: o.ComplianceStatus})
				}
				off, ok := page.NextOffset()
				if !ok {
					break
				}
				p.Offset = off
			}
			var want []Number
			for _, n := range s.Numbers() {
				if strings.HasPrefix(n.Number, p.NumberStartsWith) && (p.Subaccount == "" || n.Subaccount == p.Subaccount) && (p.Alias == "" || n.Alias == p.Alias) {
					want = append(want, n)
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("listed %+v\nwant %+v", got, want)
			}
		})
	}
	if _, err := c.ListNumbers(context.Background(), client.ListParams{Subaccount: "SA0000000000000000000X"}); err == nil {
		t.Error("listing an unknown subaccount: no error, want 400")
	} else if e, ok := client.AsAPIError(err); !ok || e.StatusCode != http.StatusBadRequest {
		t.Errorf("listing an unknown subaccount: %v, want HTTP 400", err)
	}
}

func TestServer_RemoveNumber(t *testing.T) {
	s, ts := newListServer(t, Config{})
	const gone = "12025550010"
	if !s.RemoveNumber(gone) {
		t.Fatalf("RemoveNumber(%s) = false, want true", gone)
	}
	if s.RemoveNumber(gone) {
		t.Errorf("RemoveNumber(%s) again = true, want false", gone)
	}
	if _, ok := s.Number(gone); ok {
		t.Errorf("Number(%s) found after RemoveNumber", gone)
	}
	numbers, pages := listAll(t, ts, "/v1/Account/"+testAuthID+"/Number/?limit=20")
	if len(numbers) != 49 || pages[0].Meta.TotalCount != 49 {
		t.Errorf("listed %d numbers, total_count %d, want 49 and 49", len(numbers), pages[0].Meta.TotalCount)
	}
	if slices.Contains(numbers, gone) {
		t.Errorf("the listing still has %s", gone)
	}
	// Taken off and added back, it is listed in its place once.
	s.AddNumber(Number{Number: gone})
	numbers, _ = listAll(t, ts, "/v1/Account/"+testAuthID+"/Number/?limit=20")
	if len(numbers) != 50 || !slices.IsSorted(numbers) {
		t.Errorf("after adding it back: %d numbers, sorted %v; want 50, sorted", len(numbers), slices.IsSorted(numbers))
	}
}

package sandbox

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

const (
	testID, testToken = "MA0123456789ABCDEFGH", "test-token"
	app, sub          = "20372631212782780", "SA0123456789ABCDEFGH"
	accepted, pending = "12025551111", "12025552222"
)

// newServer returns a sandbox with cfg, an application, a subaccount, a
// number with compliance accepted, one pending and one of the subaccount.
func newServer(cfg Config) *Server {
	cfg.AuthID, cfg.AuthToken = cmp.Or(cfg.AuthID, testID), testToken
	s := New(cfg)
	s.AddApplication(app, "Main")
	s.AddSubaccount(sub, "Team")
	s.AddNumber(Number{Number: accepted, AppID: app, Alias: "Main line"})
	s.AddNumber(Number{Number: pending, ComplianceStatus: "pending"})
	s.AddNumber(Number{Number: "12025553333", Subaccount: sub})
	return s
}

// do serves one request, with the account's credentials unless noAuth,
// and decodes the answer when it is JSON.
func do(s *Server, method, path, body string, noAuth bool) (*httptest.ResponseRecorder, map[string]any) {
	r := httptest.NewRequest(method, strings.ReplaceAll(path, "{id}", s.Config().AuthID), strings.NewReader(body))
	if !noAuth {
		r.SetBasicAuth(s.Config().AuthID, testToken)
	}
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	var m map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &m)
	return w, m
}

const numberPath = "/v1/Account/{id}/Number/"

var apiID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestServer_routes: what answers what, an api_id on every answer but a 401's; a read shows null for
// unset and URIs, the list sub_account as an auth_id and no api_id on an object.
func TestServer_routes(t *testing.T) {
	s := newServer(Config{})
	for _, tt := range []struct {
		method, path string
		noAuth       bool
		want         int
	}{
		{"GET", "/v1/Account/{id}/", false, 200},
		{"GET", "/v1/Account/{id}/", true, 401},
		{"GET", "/nowhere", true, 401},
		{"GET", numberPath + accepted + "/", false, 200},
		{"GET", numberPath + accepted, false, 404},
		{"GET", numberPath + "19999999999/", false, 404},
		{"GET", numberPath + accepted + "/x/", false, 404},
		{"GET", "/v1/Account/{id}/Application/" + app + "/", false, 200},
		{"GET", "/v1/Account/{id}/Application/404/", false, 404},
		{"GET", "/v1/Account/{id}/Subaccount/" + sub + "/", false, 200},
		{"GET", "/v1/Account/{id}/Subaccount/" + app + "/", false, 404},
		{"GET", "/v1/Account/MAOTHER/Number/", false, 404},
		{"GET", "/v1/Account/{id}/Call/", false, 404},
		{"DELETE", numberPath + accepted + "/", false, 405},
		{"POST", numberPath, false, 405},
	} {
		w, m := do(s, tt.method, tt.path, "", tt.noAuth)
		if w.Code != tt.want {
			t.Errorf("%s %s (no auth %v): %d, want %d", tt.method, tt.path, tt.noAuth, w.Code, tt.want)
		}
		if id, _ := m["api_id"].(string); (w.Code == 401) == apiID.MatchString(id) {
			t.Errorf("%s %s: %d with api_id %q: want one, but for a 401", tt.method, tt.path, w.Code, id)
		}
	}
	_, one := do(s, "GET", numberPath+"12025553333/", "", false)
	_, list := do(s, "GET", numberPath+"?number_startswith=120255533", "", false)
	_, main := do(s, "GET", numberPath+accepted+"/", "", false)
	account := "/v1/Account/" + testID + "/"
	for k, v := range map[string]any{"number": "12025553333", "alias": nil, "application": nil, "compliance_application_id": nil,
		"compliance_status": "accepted", "sub_account": account + "Subaccount/" + sub + "/"} {
		if one[k] != v {
			t.Errorf("read: %s = %v, want %v", k, one[k], v)
		}
	}
	if o := list["objects"].([]any)[0].(map[string]any); o["sub_account"] != sub || o["api_id"] != nil || main["application"] != account+"Application/"+app+"/" {
		t.Errorf("listed: %v, want sub_account %s and no api_id; application %v, want its URI", o, sub, main["application"])
	}
}

func TestServer_update(t *testing.T) {
	main, def := Number{accepted, app, "", "Main line", "", "accepted"}, "20372631212782700"
	for _, tt := range []struct {
		name, body, number string
		cfg                Config
		want               int
		wantErr            string
		after              Number
	}{
		{"fields applied", `{"alias": "New", "app_id": "", "subaccount": "` + sub + `"}`, "", Config{}, 202, "", Number{accepted, "", sub, "New", "", "accepted"}},
		{"null is a no-op", `{"alias": null}`, "", Config{}, 202, "", main},
		{"empty alias clears", `{"alias": ""}`, "", Config{}, 202, "", Number{accepted, app, "", "", "", "accepted"}},
		{"all or nothing", `{"alias": "x", "app_id": "404"}`, "", Config{}, 400, `app_id "404" is not an application`, main},
		{"unknown key", `{"alias": "x", "color": "red"}`, "", Config{}, 400, `unknown parameter "color"`, main},
		{"not a string", `{"alias": 7}`, "", Config{}, 400, "strings and nulls", main},
		{"not an object", `null`, "", Config{}, 400, "one JSON object", main},
		{"trailing data", `{"alias": "x"} {}`, "", Config{}, 400, "one JSON object", main},
		{"too large", `{"alias": "` + strings.Repeat("x", 70000) + `"}`, "", Config{}, 400, "up to 64 KiB", main},
		{"unknown subaccount", `{"subaccount": ""}`, "", Config{}, 400, `subaccount "" is not a subaccount`, main},
		{"subaccount moving numbers", `{"subaccount": "` + sub + `"}`, "", Config{AuthID: sub}, 403, "only the main account", main},
		{"compliance while accepted", `{"compliance_application_id": "CA1"}`, "", Config{}, 400, "compliance status is pending or rejected", main},
		{"compliance while pending", `{"compliance_application_id": "CA1"}`, pending, Config{}, 202, "", Number{pending, "", "", "", "CA1", "pending"}},
		{"unknown number", `{"alias": "x"}`, "19999999999", Config{}, 404, "not found", main},
		{"default app on missing", `{"alias": "x"}`, "", Config{DefaultAppOnMissing: true, DefaultApp: def}, 202, "", Number{accepted, def, "", "x", "", "accepted"}},
		{"null app is not missing", `{"app_id": null}`, "", Config{DefaultAppOnMissing: true, DefaultApp: def}, 202, "", main},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(tt.cfg)
			w, m := do(s, "POST", numberPath+cmp.Or(tt.number, accepted)+"/", tt.body, false)
			if w.Code != tt.want || !strings.Contains(fmt.Sprint(m["error"]), tt.wantErr) {
				t.Errorf("%d %s, want %d %q", w.Code, w.Body, tt.want, tt.wantErr)
			}
			if got, _ := s.Number(tt.after.Number); got != tt.after {
				t.Errorf("after: %+v, want %+v", got, tt.after)
			}
		})
	}
}

func TestServer_listPagesAndFilters(t *testing.T) {
	s := New(Config{AuthID: testID, AuthToken: testToken})
	s.AddSubaccount(sub, "Team")
	for i := 44; i >= 0; i-- { // added out of order
		n := Number{Number: fmt.Sprintf("1%d0255501%02d", 2+i%2, i), Alias: fmt.Sprint("desk ", i%3)}
		if i%5 == 0 {
			n.Subaccount = sub
		}
		s.AddNumber(n)
	}
	// listAll pages by offset, as the client does, and returns the numbers and total_count.
	listAll := func(query string, limit int) (numbers []string, total int) {
		for off := 0; off == 0 || off < total; off += limit {
			w, m := do(s, "GET", fmt.Sprintf("%s?limit=%d&offset=%d&%s", numberPath, limit, off, query), "", false)
			if w.Code != 200 {
				t.Fatalf("GET %s: %d %s", query, w.Code, w.Body)
			}
			total = int(m["meta"].(map[string]any)["total_count"].(float64))
			for _, o := range m["objects"].([]any) {
				numbers = append(numbers, o.(map[string]any)["number"].(string))
			}
		}
		return numbers, total
	}
	for _, tt := range []struct {
		query       string
		limit, want int
	}{{"", 20, 45}, {"", 7, 45}, {"number_startswith=130", 20, 22}, {"subaccount=" + sub, 20, 9}, {"alias=desk+1", 4, 15}} {
		got, total := listAll(tt.query, tt.limit)
		if len(got) != tt.want || total != tt.want || !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Errorf("%q by %d: %d numbers of %d, want %d, sorted, each once: %v", tt.query, tt.limit, len(got), total, tt.want, got)
		}
	}
	// A number released moves those after it up a place.
	before, _ := listAll("", 5)
	s.RemoveNumber(before[2])
	if after, total := listAll("", 5); total != 44 || after[2] != before[3] {
		t.Errorf("after a release: %d numbers, third %s; want 44, %s", total, after[2], before[3])
	}
	for _, q := range []string{"limit=0", "limit=21", "offset=-1", "number_startswith=1a", "%zz"} {
		if w, _ := do(s, "GET", numberPath+"?"+q, "", false); w.Code != 400 {
			t.Errorf("?%s: %d, want 400", q, w.Code)
		}
	}
}

// TestServer_rateLimit: Plivo's 300 per 5 s pass at once, then 60 a second; every request counts; a 429 has
// no Retry-After and changes nothing.
func TestServer_rateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newServer(Config{Rate: PlivoLimit})
		passed := func(n int) (ok int) {
			for i := range n {
				w, _ := do(s, "POST", numberPath+accepted+"/", fmt.Sprintf(`{"alias": "a%d"}`, i), false)
				if w.Code == 202 {
					ok++
				} else if w.Code != 429 || w.Header().Get("Retry-After") != "" {
					t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body)
				}
			}
			return ok
		}
		if w, _ := do(s, "GET", numberPath, "", false); w.Code != 200 {
			t.Fatalf("list: %d", w.Code)
		}
		for _, step := range []struct {
			after     time.Duration
			n, passed int
		}{{0, 310, 299}, {time.Second, 100, 60}, {time.Hour, 400, 300}} { // the list took one of the first 300
			time.Sleep(step.after)
			if got := passed(step.n); got != step.passed {
				t.Errorf("%d requests %v later: %d passed, want %d", step.n, step.after, got, step.passed)
			}
		}
		if n, _ := s.Number(accepted); n.Alias != "a299" {
			t.Errorf("alias %q, want a299: a 429 changes nothing", n.Alias)
		}
		if st := s.Stats(); st.Requests != 811 || st.RateLimited != 151 || st.Updates != 659 {
			t.Errorf("%+v, want 811 requests, 151 limited, 659 updates", st)
		}
	})
}

// TestServer_faultsAndLatency: failures apply nothing and are counted; they and the latency touch only
// number endpoints.
func TestServer_faultsAndLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newServer(Config{FailRate: 1, Latency: 150 * time.Millisecond})
		statuses := map[int]bool{}
		for range 60 {
			start := time.Now()
			w, m := do(s, "POST", numberPath+accepted+"/", `{"alias": "x"}`, false)
			statuses[w.Code] = true
			if ct := w.Header().Get("Content-Type"); w.Code == 500 && m["error"] != "internal server error" || w.Code != 500 && ct != "text/html" || time.Since(start) != 150*time.Millisecond {
				t.Errorf("%d %s %s after %v", w.Code, ct, w.Body, time.Since(start))
			}
		}
		start := time.Now()
		if w, _ := do(s, "GET", "/v1/Account/{id}/", "", false); w.Code != 200 || time.Since(start) != 0 || len(statuses) != 3 || !statuses[502] {
			t.Errorf("account read %d after %v; statuses %v, want 500, 502 and 503", w.Code, time.Since(start), statuses)
		}
		if n, _ := s.Number(accepted); n.Alias != "Main line" || s.Stats().Faults != 60 || s.Stats().Updates != 0 {
			t.Errorf("alias %q, %+v: want nothing applied, 60 failed", n.Alias, s.Stats())
		}
	})
}

// TestStart_servesOnLoopbackAndStops: stop cuts a request in its latency
// (as a client that gives up does): no answer, nothing applied.
func TestStart_servesOnLoopbackAndStops(t *testing.T) {
	for addr, ok := range map[string]bool{"127.0.0.1:0": true, "[::1]:80": true, "localhost:1": true, "0.0.0.0:80": false, ":8089": false, "10.0.0.1:80": false, "127.0.0.1": false} {
		if err := CheckListenAddr(addr); (err == nil) != ok {
			t.Errorf("CheckListenAddr(%q) = %v", addr, err)
		}
	}
	s := newServer(Config{Latency: time.Hour})
	arrived := make(chan bool, 1)
	base, stop, err := Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- true
		s.ServeHTTP(w, r)
	}), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest("POST", base+"/v1/Account/"+testID+"/Number/"+accepted+"/", strings.NewReader(`{"alias": "late"}`))
	r.Header.Set("Content-Type", "application/json")
	r.SetBasicAuth(testID, testToken)
	done := make(chan error)
	go func() { _, err := http.DefaultClient.Do(r); done <- err }()
	<-arrived // the request is in its hour of latency
	if err := stop(context.Background()); err != nil {
		t.Errorf("stop: %v", err)
	}
	if n, _ := s.Number(accepted); <-done == nil || n.Alias != "Main line" {
		t.Error("a delayed request was answered, or applied, after stop")
	}
}

func TestLoadNumbers_readsWhatDumpWrites(t *testing.T) {
	s := New(Config{})
	want := []Number{
		{"12025550001", app, "", `Sales, "east"`, "", "accepted"},
		{"447700900123", "", sub, "  line\nbreak ", "CA-1", "pending"},
	}
	s.AddNumber(want[1], want[0])
	if _, ok := s.subs[sub]; !ok || s.apps[app] == "" {
		t.Errorf("AddNumber registered %v and %v", s.apps, s.subs)
	}
	var buf bytes.Buffer
	if err := s.Dump(&buf); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadNumbers(&buf); err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("round trip: %v %v, want %v", got, err, want)
	}
	got, err := LoadNumbers(strings.NewReader("\uFEFFAlias, NUMBER \n hi , 12025550001 \n"))
	if err != nil || len(got) != 1 || got[0].Number != "12025550001" || got[0].Alias != "hi " {
		t.Errorf("any order and case, BOM, spaces: %+v %v", got, err)
	}
	for in, wantErr := range map[string]string{
		"":                                     "missing header",
		"number,app\n1,2\n":                    `column "app"`,
		"number,Number\n1,1\n":                 `column "Number"`,
		"alias\nx\n":                           `missing column "number"`,
		"number\n+12025550001\n":               "line 2: number \"+12025550001\": want 1 to 15 digits",
		"number\n1234567890123456\n":           "want 1 to 15 digits",
		"number\n12025550001\n12025550001\n":   "line 3: number 12025550001 already on line 2",
		"number,alias\n1\n":                    "wrong number of fields",
		"number\n12025550001\n\n12025550002\n": "",
	} {
		if _, err := LoadNumbers(strings.NewReader(in)); (err == nil) != (wantErr == "") || err != nil && !strings.Contains(err.Error(), wantErr) {
			t.Errorf("LoadNumbers(%q) = %v, want %q", in, err, wantErr)
		}
	}
}

func TestRateAndConfig_refuseNonsense(t *testing.T) {
	for in, want := range map[string]string{"300/5s": "300/5s", "60": "60/1s", "0.5/s": "0.5/1s", "1000/m": "1000/1m0s", "0": "0",
		"-1": "", "NaN": "", "300/5": "", "1/0s": "", "1/48h": "", "x": ""} {
		var r Rate
		if err := r.Set(in); (err == nil) != (want != "") || err == nil && r.String() != want {
			t.Errorf("Set(%q): %v %v, want %q", in, r, err, want)
		}
	}
	// Each flag's check is cmd_sandbox_test's; here, that Validate names every problem.
	if err := fmt.Sprint(Config{FailRate: 1.5, Latency: -1, DefaultApp: "a b"}.Validate()); strings.Count(err, "\n") != 2 || !strings.Contains(err, "latency -1") {
		t.Errorf("Validate: %v, want 3 problems, latency -1 among them", err)
	}
}

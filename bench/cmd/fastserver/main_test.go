package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRecorder_stats(t *testing.T) {
	r := newRecorder(100)
	t0 := time.Unix(1000, 0)
	// 4 at once (one of them added last: the times are sorted), then one every 100 ms: the busiest [t, t+1s)
	// holds the first four and the nine after them.
	for range 3 {
		r.add(t0)
	}
	for i := 1; i <= 20; i++ {
		r.add(t0.Add(time.Duration(i) * 100 * time.Millisecond))
	}
	r.add(t0)
	got := r.stats(24)
	for _, want := range []string{
		"posts 24\n", "recorded 24\n", "span_s 2.000\n", "rate 11.500\n",
		"worst_window 13\n", "worst_window_at_s 0.000\n", "per_second 13 10 1\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("stats lack %q:\n%s", want, got)
		}
	}
	r.reset()
	if got := r.stats(0); !strings.Contains(got, "recorded 0\n") {
		t.Errorf("after reset: %s", got)
	}
	small, off := newRecorder(2), newRecorder(0) // the capacity bounds what is kept; 0 keeps nothing
	for range 5 {
		small.add(t0)
		off.add(t0)
	}
	if len(small.times) != 2 || len(off.times) != 0 {
		t.Errorf("kept %d and %d times, want 2 and 0", len(small.times), len(off.times))
	}
}

func TestServer_answers(t *testing.T) {
	s := &server{rec: newRecorder(0)}
	for _, tt := range []struct {
		method, path string
		auth         bool
		status       int
		body         string
	}{
		{"POST", "/v1/Account/MA1/Number/12025550101/", true, 202, `{"message":"changed","api_id":"bench-1"}`},
		{"GET", "/v1/Account/MA1/", true, 200, "{}"},
		{"GET", "/v1/Account/MA1/Application/123/", true, 200, "{}"},
		{"GET", "/v1/Account/MA1/Number/12025550101/", true, 200, `"number":"12025550101"`},
		{"POST", "/v1/Account/MA1/Number/12025550101/", false, 401, ""},
		{"GET", "/elsewhere", true, 404, ""},
	} {
		req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(`{"app_id":"1"}`))
		if tt.auth {
			req.SetBasicAuth("MA1", "token")
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.body) {
			t.Errorf("%s %s = %d %q, want %d with %q", tt.method, tt.path, w.Code, w.Body.String(), tt.status, tt.body)
		}
		if tt.status == http.StatusAccepted && w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("POST answer Content-Type = %q", w.Header().Get("Content-Type"))
		}
	}
}

package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

const (
	testAuthID = "MAXXXXXXXXXXXXXXXXXX"
	testToken  = "s3cr3t-t0ken-value"
)

// setup starts a server with mux and a client for it.
func setup(t *testing.T, opts ...Option) (*Client, *http.ServeMux) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, testAuthID, testToken, append([]Option{WithUserAgent("plivo-bulk/test")}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, mux
}

func checkAuth(t *testing.T, r *http.Request) {
	t.Helper()
	u, p, ok := r.BasicAuth()
	if !ok || u != testAuthID || p != testToken {
		t.Errorf("basic auth = %q, %q, %v", u, p, ok)
	}
	if ua := r.Header.Get("User-Agent"); ua != "plivo-bulk/test" {
		t.Errorf("User-Agent = %q", ua)
	}
}

func TestClient_UpdateNumber(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("POST /v1/Account/"+testAuthID+"/Number/12025551111/", func(w http.ResponseWriter, r *http.Request) {
		checkAuth(t, r)
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("decode body: %v", err)
		}
		want := map[string]any{"app_id": "", "alias": "Front desk"}
		if fmt.Sprint(body) != fmt.Sprint(want) {
			t.Errorf("body = %v, want %v (app_id must be \"\", never null)", body, want)
		}
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprint(w, `{"message":"changed","api_id":"5a9fcb68"}`)
	})
	got, err := c.UpdateNumber(context.Background(), "12025551111", map[string]string{"app_id": "", "alias": "Front desk"})
	if err != nil {
		t.Fatalf("UpdateNumber: %v", err)
	}
	if got.APIID != "5a9fcb68" || got.Message != "changed" || got.HTTPStatus != 202 {
		t.Errorf("UpdateNumber = %+v", got)
	}
}

func TestClient_errors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		header    map[string]string
		body      string
		wantKind  Kind
		wantMsg   string
		wantAPIID string
		wantAfter time.Duration
	}{
		{name: "404", status: 404, body: `{"api_id":"a1","error":"not found"}`, wantKind: KindNotFound, wantMsg: "not found", wantAPIID: "a1"},
		{name: "400", status: 400, body: `{"api_id":"a2","error":"invalid app_id"}`, wantKind: KindHTTP4xx, wantMsg: "invalid app_id", wantAPIID: "a2"},
		{name: "401 without api_id", status: 401, body: `{"error":"authentication credentials were not provided"}`, wantKind: KindAuth, wantMsg: "authentication credentials were not provided"},
		{name: "403", status: 403, body: `{"api_id":"a3","error":"forbidden"}`, wantKind: KindForbidden, wantMsg: "forbidden", wantAPIID: "a3"},
		{name: "405", status: 405, body: `{"error":"method not allowed"}`, wantKind: KindMethod, wantMsg: "method not allowed"},
		{name: "429 seconds", status: 429, header: map[string]string{"Retry-After": "3"}, body: `{"error":"too many requests"}`, wantKind: KindRateLimited, wantMsg: "too many requests", wantAfter: 3 * time.Second},
		{name: "429 huge", status: 429, header: map[string]string{"Retry-After": "999999"}, body: `{}`, wantKind: KindRateLimited, wantMsg: "{}", wantAfter: maxRetryAfter},
		{name: "429 junk", status: 429, header: map[string]string{"Retry-After": "soon"}, body: ``, wantKind: KindRateLimited, wantMsg: "Too Many Requests"},
		{name: "500", status: 500, body: `{"api_id":"a4","error":"internal"}`, wantKind: KindServer, wantMsg: "internal", wantAPIID: "a4"},
		{name: "502 html", status: 502, body: "<html>\n<body>Bad   gateway</body></html>", wantKind: KindServer, wantMsg: "<html> <body>Bad gateway</body></html>"},
		{name: "408", status: 408, body: `{"error":"timeout"}`, wantKind: KindHTTP4xx, wantMsg: "timeout"},
		{name: "error object", status: 400, body: `{"error":{"alias":["too long"]}}`, wantKind: KindHTTP4xx, wantMsg: `{"alias":["too long"]}`},
		{name: "202 without api_id", status: 202, body: `{"message":"changed"}`, wantKind: KindBadAnswer, wantMsg: "answer has no api_id"},
		{name: "200 html", status: 200, body: `<html>hello</html>`, wantKind: KindBadAnswer, wantMsg: "answer is not the expected JSON: <html>hello</html>"},
		{name: "truncated json", status: 202, body: `{"message":"changed","api_`, wantKind: KindBadAnswer, wantMsg: `answer is not the expected JSON: {"message":"changed","api_`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := setup(t)
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			_, err := c.UpdateNumber(context.Background(), "12025551111", map[string]string{"alias": "x"})
			e, ok := AsAPIError(err)
			if !ok {
				t.Fatalf("err = %v, want *APIError", err)
			}
			wantMsg := fmt.Sprintf("HTTP %d: %s", tt.status, tt.wantMsg)
			if e.Kind != tt.wantKind || err.Error() != wantMsg || e.APIID != tt.wantAPIID || e.RetryAfter != tt.wantAfter || e.StatusCode != tt.status {
				t.Errorf("got %d %v %q APIID=%q RetryAfter=%v\nwant %d %v %q APIID=%q RetryAfter=%v",
					e.StatusCode, e.Kind, err, e.APIID, e.RetryAfter, tt.status, tt.wantKind, wantMsg, tt.wantAPIID, tt.wantAfter)
			}
			if strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, c), testToken) {
				t.Error("the token appears in the error or the client's text")
			}
		})
	}
}

func TestClient_timeout(t *testing.T) {
	c, mux := setup(t, WithTimeout(50*time.Millisecond))
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	_, err := c.UpdateNumber(context.Background(), "12025551111", map[string]string{"alias": "x"})
	e, ok := AsAPIError(err)
	if !ok || e.Kind != KindTimeout {
		t.Fatalf("err = %#v, want a timeout", err)
	}
}

func TestClient_droppedConnection(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	})
	_, err := c.UpdateNumber(context.Background(), "12025551111", map[string]string{"alias": "x"})
	e, ok := AsAPIError(err)
	if !ok || e.Kind != KindNetwork || e.StatusCode != 0 {
		t.Fatalf("err = %v, want a network error", err)
	}
}

func TestClient_cancelled(t *testing.T) {
	c, mux := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // the server notices a gone client only once the body is read
		cancel()
		<-r.Context().Done()
	})
	_, err := c.UpdateNumber(ctx, "12025551111", map[string]string{"alias": "x"})
	e, ok := AsAPIError(err)
	if !ok || e.Kind != KindCancelled || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want cancelled", err)
	}
}

func TestClient_GetNumber(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("GET /v1/Account/"+testAuthID+"/Number/12025551111/", func(w http.ResponseWriter, r *http.Request) {
		checkAuth(t, r)
		fmt.Fprintf(w, `{"number":"12025551111","alias":null,"application":"/v1/Account/%[1]s/Application/2037/","sub_account":"/v1/Account/%[1]s/Subaccount/SA1/","compliance_application_id":null,"api_id":"g1"}`, testAuthID)
	})
	got, err := c.GetNumber(context.Background(), "12025551111")
	if err != nil {
		t.Fatal(err)
	}
	if got.AppID() != "2037" || got.SubaccountID() != "SA1" || got.Alias != "" || got.Number != "12025551111" {
		t.Errorf("GetNumber = %+v, AppID %q, SubaccountID %q", got, got.AppID(), got.SubaccountID())
	}
}

func TestNew_validates(t *testing.T) {
	tests := []struct {
		url, id, token, want string
	}{
		{"http://api.example.com", "MA1", "t", "plain http is refused"},
		{"http://10.0.0.1:8080", "MA1", "t", "plain http is refused"},
		{"ftp://x", "MA1", "t", "scheme must be https"},
		{"https://user:pw@api.plivo.com", "MA1", "t", "must not carry credentials"},
		{"https://api.plivo.com", "", "t", "auth id is empty"},
		{"https://api.plivo.com", "MA/../x", "t", "characters an auth id cannot have"},
		{"https://api.plivo.com", "MA1", "", "auth token is empty"},
	}
	for _, tt := range tests {
		_, err := New(tt.url, tt.id, tt.token)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%q, %q) = %v, want %q", tt.url, tt.id, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("New(%q) error shows the URL's password: %v", tt.url, err)
		}
	}
	for _, u := range []string{"http://127.0.0.1:1", "http://localhost:8089", "http://[::1]:80", "https://api.plivo.com"} {
		if _, err := New(u, "MA1", "t"); err != nil {
			t.Errorf("New(%q) = %v, want ok", u, err)
		}
	}
}

// TestClient_connectionReuse: every answer is drained and closed, so
// sequential calls share one connection. The transport gives up reuse if
// its writer has not reported 50 ms after the answer came, which a loaded
// machine can make it miss: in a bubble the clock stands still while any
// goroutine waits on the network. Only this client's dials are counted, not
// whatever else on the machine connects to the port.
func TestClient_connectionReuse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(202)
			fmt.Fprint(w, `{"message":"changed","api_id":"x"}`)
		}))
		defer srv.Close()
		c, err := New(srv.URL, testAuthID, testToken, WithMaxConns(4))
		if err != nil {
			t.Fatal(err)
		}
		defer c.http.CloseIdleConnections() // their goroutines must end inside the bubble
		dials := 0
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) {
				if !info.Reused {
					dials++
				}
			},
		})
		for range 20 {
			if _, err := c.UpdateNumber(ctx, "12025551111", map[string]string{"alias": "x"}); err != nil {
				t.Fatal(err)
			}
		}
		if dials != 1 {
			t.Errorf("20 sequential calls opened %d connections, want 1", dials)
		}
	})
}

func TestClient_GetNumber_notTheNumber(t *testing.T) {
	for _, body := range []string{`{"message":"changed"}`, `{}`, `{"number":"19999999999"}`} {
		c, mux := setup(t)
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) })
		_, err := c.GetNumber(context.Background(), "12025551111")
		if e, ok := AsAPIError(err); !ok || e.Kind != KindBadAnswer || err.Error() != "HTTP 200: answer is not the description of number 12025551111" {
			t.Errorf("GetNumber answered %s: err = %v, want a bad answer", body, err)
		}
	}
}

func TestClient_redirectNotFollowed(t *testing.T) {
	hits := 0
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		if _, _, ok := r.BasicAuth(); ok {
			t.Error("the credentials followed a redirect")
		}
	}))
	t.Cleanup(other.Close)
	c, mux := setup(t)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/elsewhere", http.StatusTemporaryRedirect)
	})
	_, err := c.UpdateNumber(context.Background(), "12025551111", map[string]string{"alias": "x"})
	e, ok := AsAPIError(err)
	if !ok || e.Kind != KindRedirect || !strings.Contains(e.Message, "not followed") {
		t.Fatalf("err = %v, want a redirect error", err)
	}
	if hits != 0 {
		t.Errorf("the redirect was followed %d times", hits)
	}
}

package client

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// secretToken is a distinctive token for the secrets tests.
const secretToken = "tok-Q9vX2mLr8TqZ4wNb7YcK1hJd5sFp3GaE"

// secretForms returns what must never be seen of secretToken for
// testAuthID: the token, its Basic auth credential, and every 10-character
// piece of the token's random part and of the part of the credential that
// encodes the token alone.
func secretForms() []string {
	basic := base64.StdEncoding.EncodeToString([]byte(testAuthID + ":" + secretToken))
	forms := []string{secretToken, basic}
	pieces := func(s string) {
		for i := 0; i+10 <= len(s); i++ {
			forms = append(forms, s[i:i+10])
		}
	}
	pieces(strings.TrimPrefix(secretToken, "tok-"))
	pieces(basic[(len(testAuthID)+1+2)/3*4:])
	return forms
}

// assertNoSecret fails when text holds any of secretForms.
func assertNoSecret(t *testing.T, what, text string) {
	t.Helper()
	for _, f := range secretForms() {
		if strings.Contains(text, f) {
			t.Errorf("%s shows (part of) the token: %s", what, strings.ReplaceAll(text, f, "<SECRET>"))
			return
		}
	}
}

// printed is every way a value is commonly printed.
func printed(vs ...any) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "%v|%+v|%#v|%s|%q\n", v, v, v, v, v)
	}
	return b.String()
}

// jsonEscapeAll writes every character of s as a JSON \u escape.
func jsonEscapeAll(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

func TestSecrets_clientPrinted(t *testing.T) {
	c, err := New("https://api.plivo.com", testAuthID, secretToken, WithUserAgent("plivo-bulk/test"), WithTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, "the client, printed", printed(c, *c, struct{ C *Client }{c}, []*Client{c}))
	if !strings.Contains(c.String(), testAuthID) {
		t.Errorf("String() = %q, want it to name the account", c.String())
	}
}

// TestClient_serverEchoesToken: a server (or a proxy) that echoes the
// request's credentials in its answer must not get them into an error, in
// any form the error is printed, nor into what is read.
func TestSecrets_serverEchoesToken(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte(testAuthID + ":" + secretToken))
	tests := []struct {
		name        string
		status      int
		body        string
		wantMessage bool // the error must show the redaction mark
	}{
		{name: "401 JSON echo", status: 401, body: `{"api_id":"echo-` + secretToken + `","error":"you sent Authorization: Basic ` + basic + ` (token ` + secretToken + `)"}`, wantMessage: true},
		{name: "400 JSON escaped echo", status: 400, body: `{"api_id":"a1","error":"token ` + jsonEscapeAll(secretToken) + `, auth ` + jsonEscapeAll(basic) + `"}`, wantMessage: true},
		{name: "400 error object echo", status: 400, body: `{"error":{"authorization":["Basic ` + basic + `"],"token":["` + secretToken + `"]}}`, wantMessage: true},
		// The answer is cut to 200 characters: the token straddles the cut.
		{name: "502 HTML echo across the cut", status: 502, body: "<html><body>" + strings.Repeat("x", 160) + " token=" + secretToken + " auth=Basic " + basic + "</body></html>"},
		{name: "429 text echo", status: 429, body: "slow down, " + secretToken, wantMessage: true},
		{name: "500 echo in api_id", status: 500, body: `{"api_id":"` + secretToken + `","error":"internal"}`},
		{name: "200 garbage echo", status: 200, body: "<html>you are Basic " + basic + " with " + secretToken + "</html>", wantMessage: true},
		{name: "202 without api_id", status: 202, body: `{"message":"` + secretToken + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var echoed []string
			c, mux := setupWith(t, secretToken)
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				echoed = append(echoed, r.Header.Get("Authorization"))
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			_, err1 := c.UpdateNumber(context.Background(), "12025551111", map[string]string{"alias": "x"})
			info, err2 := c.GetNumber(context.Background(), "12025551111")
			err3 := c.GetAccount(context.Background())
			for i, err := range []error{err1, err2, err3} {
				if err == nil {
					if i == 2 && tt.status < 300 {
						continue // the account check decodes nothing
					}
					t.Fatalf("call %d: no error", i+1)
				}
				text := printed(err, errors.Unwrap(err))
				if e, ok := AsAPIError(err); ok {
					text += printed(*e, e.Message, e.APIID)
				}
				assertNoSecret(t, fmt.Sprintf("call %d's error", i+1), text)
				if tt.wantMessage && !strings.Contains(err.Error(), "[redacted]") {
					t.Errorf("call %d: error %q does not show [redacted] where the server echoed the token", i+1, err)
				}
			}
			assertNoSecret(t, "the number read", printed(info))
			if len(echoed) == 0 || echoed[0] != "Basic "+basic {
				t.Errorf("the server got Authorization %q, want the Basic credential", echoed)
			}
		})
	}

	t.Run("200 number whose fields echo the token", func(t *testing.T) {
		c, mux := setupWith(t, secretToken)
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"number":"12025551111","alias":"%s","application":"/v1/Account/%s/Application/%s/","api_id":"%s"}`, secretToken, testAuthID, basic, secretToken)
		})
		info, err := c.GetNumber(context.Background(), "12025551111")
		if err != nil {
			t.Fatal(err)
		}
		assertNoSecret(t, "the number read", printed(info, info.AppID()))
	})
}

// setupWith is setup with another token.
func setupWith(t *testing.T, token string, opts ...Option) (*Client, *http.ServeMux) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, testAuthID, token, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, mux
}

// TestClient_transportErrorsShowNoToken: errors without an answer (refused,
// dropped, timed out, cancelled) hold no token either.
func TestSecrets_transportErrors(t *testing.T) {
	// A port with nothing listening: refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	c, err := New("http://"+addr, testAuthID, secretToken, WithTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateNumber(context.Background(), "12025551111", map[string]string{"alias": "x"})
	if err == nil {
		t.Fatal("no error from a refused connection")
	}
	assertNoSecret(t, "a refused connection's error", printed(err, errors.Unwrap(err), c))

	stall := make(chan struct{})
	t.Cleanup(func() { close(stall) })
	for _, mode := range []string{"drop", "stall", "cancel"} {
		c, mux := setupWith(t, secretToken, WithTimeout(50*time.Millisecond))
		ctx, cancel := context.WithCancel(context.Background())
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			switch mode {
			case "drop":
				if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
					_ = conn.Close()
				}
			case "cancel":
				cancel()
				<-r.Context().Done()
			default:
				select {
				case <-stall:
				case <-r.Context().Done():
				}
			}
		})
		_, err := c.GetNumber(ctx, "12025551111")
		cancel()
		if err == nil {
			t.Fatalf("%s: no error", mode)
		}
		assertNoSecret(t, mode+" error", printed(err, errors.Unwrap(err)))
	}
}

// TestNew_errorsShowNoPassword: a password in the API URL is never quoted
// back, whatever is wrong with the URL.
func TestSecrets_apiURLPassword(t *testing.T) {
	const pw = "pwZ8kQ3vN6tR1yU4"
	for _, u := range []string{
		"http://user:" + pw + "@127.0.0.1:1",
		"https://user:" + pw + "@api.plivo.com",
		"http://user:" + pw + "@10.1.2.3:1",
		"http://user:" + pw + "@api.example.com",
		"ftp://user:" + pw + "@127.0.0.1:1",
		"http://user:" + pw + "@127.0.0.1:port",
		"https://user:" + pw + "@exa mple.com",
		"https://:" + pw + "@",
		"https://api.plivo.com/?password=" + pw,
		"https://api.plivo.com/#" + pw,
		"http://10.1.2.3:1/?password=" + pw,
	} {
		_, err := New(u, testAuthID, secretToken)
		if err == nil {
			t.Errorf("New(%q) = nil error, want a refusal", u)
			continue
		}
		if s := printed(err, errors.Unwrap(err)); strings.Contains(s, pw) || strings.Contains(s, secretToken) {
			t.Errorf("New with a password in the URL: the error shows it: %s", strings.ReplaceAll(s, pw, "<PASSWORD>"))
		}
	}
}

package client

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// secretToken is a distinctive token for the secrets tests.
const secretToken = "tok-Q9vX2mLr8TqZ4wNb7YcK1hJd5sFp3GaE"

var basic = base64.StdEncoding.EncodeToString([]byte(testAuthID + ":" + secretToken))

// assertNoSecret fails when text holds the token, its Basic credential, or any 10-character piece of the
// token's random part or of the part of the credential that encodes the token alone.
func assertNoSecret(t *testing.T, what, text string) {
	t.Helper()
	forms := []string{secretToken, basic}
	for _, s := range []string{strings.TrimPrefix(secretToken, "tok-"), basic[(len(testAuthID)+1+2)/3*4:]} {
		for i := 0; i+10 <= len(s); i++ {
			forms = append(forms, s[i:i+10])
		}
	}
	for _, f := range forms {
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

// TestSecrets_serverEchoesToken: a server (or a proxy) that echoes the credentials must not get them into
// an error, however printed, nor into what is read or listed, nor into the request log; nor does the client, printed.
func TestSecrets_serverEchoesToken(t *testing.T) {
	for _, tt := range []struct {
		status int
		body   string
		marked bool // the error must show the redaction mark
	}{
		{401, `{"api_id":"echo-` + secretToken + `","error":"you sent Authorization: Basic ` + basic + ` (token ` + secretToken + `)"}`, true},
		{400, `{"api_id":"a1","error":"token ` + jsonEscapeAll(secretToken) + `, auth ` + jsonEscapeAll(basic) + `"}`, true},
		{400, `{"error":{"authorization":["Basic ` + basic + `"],"token":["` + secretToken + `"]}}`, true},
		{502, "<html><body>" + strings.Repeat("x", 160) + " token=" + secretToken + " auth=Basic " + basic + "</body></html>", false}, // across the cut at 200
		{429, "slow down, " + secretToken, true},
		{500, `{"api_id":"` + secretToken + `","error":"internal"}`, false},
		{200, "<html>you are Basic " + basic + " with " + secretToken + "</html>", true},
		{202, `{"message":"` + secretToken + `"}`, false},
		{200, `{"meta":{"total_count":1,"next":"/x?t=` + secretToken + `"},"objects":[{"number":"1202","alias":"` + secretToken + `","application":"/v1/A/` + basic + `/"}]}`, false},
		{200, `{"meta":{"total_count":1,"next":null},"objects":[{"alias":"` + secretToken + `"}]}`, false},
	} {
		var log []Exchange
		c, mux := setup(t, secretToken, Options{Trace: func(_ context.Context, x Exchange) { log = append(log, x) }})
		answer(mux, tt.status, tt.body)
		_, err1 := c.UpdateNumber(context.Background(), "1202"+secretToken, map[string]string{"alias": "x"}) // a cell may hold the token
		info, err2 := c.GetNumber(context.Background(), "12025551111")
		err3 := c.GetAccount(context.Background())
		page, err4 := c.ListNumbers(context.Background(), ListParams{})
		for i, err := range []error{err1, err2, err3, err4} {
			if err == nil && (i < 2 || tt.status >= 300) { // the account check decodes nothing; a page may be one
				t.Fatalf("%d: call %d: no error", tt.status, i+1)
			} else if err != nil {
				e, _ := errors.AsType[*APIError](err)
				assertNoSecret(t, fmt.Sprintf("%d: call %d's error", tt.status, i+1), printed(err, errors.Unwrap(err), *e))
				if tt.marked && !strings.Contains(err.Error(), "[redacted]") {
					t.Errorf("%d: call %d: error %q does not show [redacted] where the server echoed the token", tt.status, i+1, err)
				}
			}
		}
		text := printed(info, page, log)
		for _, o := range page.Objects {
			text += printed(o.AppID(), o.SubaccountID())
		}
		assertNoSecret(t, "the number read, the page and the request log", text)
	}

	c, mux := setup(t, secretToken, Options{})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"number":"12025551111","alias":"%s","application":"/v1/Account/%s/Application/%s/","api_id":"%s"}`, jsonEscapeAll(secretToken), testAuthID, basic, secretToken)
	})
	info, err := c.GetNumber(context.Background(), "12025551111")
	assertNoSecret(t, "a number whose fields echo the token, and the client", printed(info, info.AppID(), err, c, *c, struct{ C *Client }{c}, []*Client{c}))
	if !strings.Contains(c.String(), testAuthID) {
		t.Errorf("String() = %q, want it to name the account", c.String())
	}
}

// TestSecrets_noAnswer: errors without an answer (refused, dropped, timed out, cancelled) have their kind and hold no token.
func TestSecrets_noAnswer(t *testing.T) {
	stall := make(chan struct{})
	t.Cleanup(func() { close(stall) })
	for mode, kind := range map[string]Kind{"refused": KindNetwork, "drop": KindNetwork, "stall": KindTimeout, "cancel": KindCancelled} {
		var opt Options // only the stall may time out: under load, 50 ms could end the others first
		if mode == "stall" {
			opt.Timeout = 50 * time.Millisecond
		}
		c, mux := setup(t, secretToken, opt)
		if mode == "refused" { // nothing listens
			closed := httptest.NewServer(nil)
			closed.Close()
			c, _ = New(closed.URL, testAuthID, secretToken, Options{})
		}
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
		if e, ok := errors.AsType[*APIError](err); !ok || e.Kind != kind || e.StatusCode != 0 || kind == KindCancelled && !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want %s", mode, err, kind)
		}
		assertNoSecret(t, mode+" error", printed(err, errors.Unwrap(err)))
	}
}

// TestNew_refuses: what New refuses it says why, and never quotes back a password in the API URL.
func TestNew_refuses(t *testing.T) {
	const pw = "pwZ8kQ3vN6tR1yU4"
	for _, tt := range []struct{ url, id, token, want string }{
		{"http://api.example.com", "MA1", "t", "plain http is refused"},
		{"http://user:" + pw + "@10.1.2.3:1", "MA1", "t", "plain http is refused"},
		{"http://10.1.2.3:1/?password=" + pw, "MA1", "t", "plain http is refused"},
		{"ftp://user:" + pw + "@127.0.0.1:1", "MA1", "t", "scheme must be https"},
		{"https://user:" + pw + "@api.plivo.com", "MA1", "t", "must not carry credentials"},
		{"http://user:" + pw + "@127.0.0.1:1", "MA1", "t", "must not carry credentials"},
		{"https://api.plivo.com/?password=" + pw, "MA1", "t", "a query"},
		{"https://api.plivo.com/#" + pw, "MA1", "t", "a fragment"},
		{"https://:" + pw + "@", "MA1", "t", "no host"},
		{"http://user:" + pw + "@127.0.0.1:port", "MA1", "t", "cannot be parsed"},
		{"https://user:" + pw + "@exa mple.com", "MA1", "t", "cannot be parsed"},
		{"https://api.plivo.com", "", "t", "auth id is empty"},
		{"https://api.plivo.com", "MA/../x", "t", "characters an auth id cannot have"},
		{"https://api.plivo.com", "MA1", "", "auth token is empty"},
	} {
		_, err := New(tt.url, tt.id, tt.token, Options{})
		if s := printed(err, errors.Unwrap(err)); err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(s, pw) {
			t.Errorf("New(%q, %q) = %v, want %q, never the password", tt.url, tt.id, err, tt.want)
		}
	}
	for _, u := range []string{"http://127.0.0.1:1", "http://localhost:8089", "http://[::1]:80", "https://api.plivo.com"} {
		if _, err := New(u, "MA1", "t", Options{}); err != nil {
			t.Errorf("New(%q) = %v, want ok", u, err)
		}
	}
}

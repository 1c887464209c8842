package main

// Tests of secrets and credentials: servers that echo the credentials
// (plain, encoded, JSON-escaped, cut short), refused API URLs, a token file,
// credentials that may not change numbers. Every run of every test is checked for every form of the token in
// its output and its files (e2eProc.check, secForms); a test adds the forms
// its server invents.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// secSetup starts a sandbox with a fresh token (authID "" makes one up) and
// numbers 1202555<first...>, and a runner pointed at it; with hostile, the
// runner's API is secHostile's.
func secSetup(t *testing.T, authID, hostile string, first, n int) (*e2eFixture, *e2eRunner) {
	t.Helper()
	fx, r := e2eStartFixture(t, sandbox.Config{AuthID: authID}, e2eNumbers(e2eNumberRange(first, n)...)...)
	if hostile != "" {
		r = r.with("PLIVO_API_URL", secHostile(t, fx, hostile))
	}
	return fx, r
}

// secInput writes an input with every target column; each row is number,
// app_id, subaccount, alias, compliance_application_id.
func secInput(r *e2eRunner, rows ...[]string) string {
	b := "number,app_id,subaccount,alias,compliance_application_id\n"
	for _, row := range rows {
		b += e2eCSVLine(append(row, make([]string, 5-len(row))...)...)
	}
	return r.write("numbers.csv", b)
}

// secFailed returns the report's failed rows, and how many times it shows
// the redaction in place of a secret.
func secFailed(t *testing.T, r *e2eRunner) (failed, redacted int) {
	for _, g := range e2eReadReport(t, r.path("report.csv")) {
		if g.Status == "failed" {
			failed++
		}
	}
	return failed, strings.Count(e2eRead(t, r.path("report.csv")), "[redacted]")
}

// secEncoded returns s as a server may echo it encoded: URL-encoded for a
// query and for a path (upper- and lower-case hex), JSON-escaped as PHP
// does, and base64 in both alphabets, padded and not.
func secEncoded(s string) []string {
	lower := regexp.MustCompile(`%[0-9A-F]{2}`)
	forms := []string{url.QueryEscape(s), url.PathEscape(s), strings.ReplaceAll(s, "/", `\/`),
		lower.ReplaceAllStringFunc(url.QueryEscape(s), strings.ToLower), lower.ReplaceAllStringFunc(url.PathEscape(s), strings.ToLower)}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		forms = append(forms, enc.EncodeToString([]byte(s)))
	}
	return forms
}

// secUEscaped returns s with every character \u-escaped, as JSON allows:
// what the raw bytes of an answer do not show.
func secUEscaped(s string) string {
	var b strings.Builder
	for _, c := range s {
		fmt.Fprintf(&b, `\u%04x`, c)
	}
	return b.String()
}

// secHostile serves fx, but answers the number requests as mode says,
// echoing the request's Authorization header and the password it carries:
// a misconfigured proxy or a hostile server.
func secHostile(t *testing.T, fx *e2eFixture, mode string) string {
	return e2eProxy(t, fx, func(w http.ResponseWriter, r *http.Request) bool {
		authz := r.Header.Get("Authorization")
		user, pw, _ := r.BasicAuth()
		post, number := r.Method == http.MethodPost, strings.Contains(r.URL.Path, "/Number/")
		switch {
		case mode == "401 to updates" && post:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]string{"api_id": "echo-" + pw,
				"error": "invalid credentials: you sent Authorization: " + authz + " (token " + pw + ")"})
		case mode == "encoded" && post:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"api_id": "e1",
				"error": "bad request from " + strings.Join(append(secEncoded(pw), secEncoded(user+":"+pw)...), " or ")})
		case mode == "escaped" && post: // JSON that is not the answer expected: its text is shown
			code, apiID := http.StatusInternalServerError, `"e1"`
			if strings.HasSuffix(r.URL.Path, "8/") {
				code, apiID = http.StatusAccepted, "5"
			}
			e2eAnswer(w, code, "application/json", fmt.Sprintf(`{"api_id":%s,"message":"you sent %s as %s"}`, apiID, secUEscaped(pw), secUEscaped(user+":"+pw)))
		case mode == "garbage" && number && post: // the token straddles the client's 200-character cut
			e2eAnswer(w, http.StatusBadGateway, "text/html", fmt.Sprintf("<html><body>%s token=%s auth=%s</body></html>", strings.Repeat("x", 160), pw, authz))
		case mode == "garbage" && number:
			e2eAnswer(w, http.StatusOK, "text/html", fmt.Sprintf("<html>you are %s, your password is %s</html>", authz, pw))
		case mode == "2xx" && number && post: // a success whose fields echo it, JSON-escaped
			e2eAnswer(w, http.StatusAccepted, "application/json", fmt.Sprintf(`{"message":"%s","api_id":"%s"}`, secUEscaped("changed for "+pw), secUEscaped(pw)))
		case mode == "2xx" && number:
			n, _ := fx.srv.Number(strings.TrimSuffix(r.URL.Path[strings.Index(r.URL.Path, "/Number/")+len("/Number/"):], "/"))
			e2eAnswer(w, http.StatusOK, "application/json", fmt.Sprintf(`{"number":%q,"alias":"%s","application":"%s","sub_account":"%s","compliance_application_id":"%s","api_id":"%s"}`,
				n.Number, secUEscaped("alias "+pw), secUEscaped("/v1/Account/X/Application/"+pw+"/"), secUEscaped(authz), secUEscaped(pw), secUEscaped(pw)))
		default:
			return false
		}
		return true
	})
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	run := func(r *e2eRunner, input string, extra ...string) e2eResult {
		return r.run(e2eRun(input, "report.csv", append([]string{"--rate", "0"}, extra...)...)...)
	}

	t.Run("refused 403 on a subaccount", func(t *testing.T) {
		t.Parallel()
		_, r := secSetup(t, "SA"+e2eRandString("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 18), "", 9040, 2)
		res := run(r, secInput(r, []string{e2eNumber(9040), e2eAppA, e2eSubA}, []string{e2eNumber(9041), e2eAppA}))
		e2eExit(t, "run", res, 1)
		if rows := e2eReadReport(t, r.path("report.csv")); rows[0].HTTPStatus != "403" && rows[1].HTTPStatus != "403" {
			t.Errorf("report %+v, want a 403", rows)
		}
	})

	// Bad credentials stop the run at the account check, before any
	// number is touched, with exit code 3, and a report with no row.
	t.Run("a wrong token", func(t *testing.T) {
		t.Parallel()
		fx, r := secSetup(t, "", "", 9070, 2)
		r.secrets = append(r.secrets, secForms(fx.authID, fx.token)...)
		good, r := r, r.withToken(fx.authID, "tok-"+e2eRandString(e2eAlnum, 32))
		input := secInput(r, []string{e2eNumber(9070), e2eAppA}, []string{e2eNumber(9071), e2eAppA})
		res := run(r, input, "--summary", "s.json")
		e2eExit(t, "run", res, 3, "authentication failed")
		stopAdvice(t, res.stderr, "2 rows were not attempted: fix PLIVO_AUTH_ID or PLIVO_AUTH_TOKEN, then run again")
		if fx.quiesce(t); fx.requests() != 1 {
			t.Errorf("%d requests, want 1 (the account check)", fx.requests())
		}
		if rows := e2eReadReport(t, r.path("report.csv")); len(rows) != 0 {
			t.Errorf("report rows %+v after an authentication failure, want none", rows)
		}
		// Its header-only report does not block the next run.
		e2eExit(t, "the next run, no --resume or --force", run(good, input), 0)
	})

	t.Run("a 401 to updates that echoes the credentials", func(t *testing.T) {
		t.Parallel()
		_, r := secSetup(t, "", "401 to updates", 9080, 3)
		res := run(r, secInput(r, []string{e2eNumber(9080), e2eAppA}, []string{e2eNumber(9081), e2eAppA}), "--log-format", "json", "--summary", "s.json")
		e2eExit(t, "run", res, 3)
		if !strings.Contains(res.stderr, "authentication failed") || !strings.Contains(res.stderr+e2eRead(t, r.path("report.csv")), "[redacted]") {
			t.Errorf("want an abort whose server message shows [redacted] in place of the credentials:\n%v", res)
		}
	})

	t.Run("errors and garbage that echo a token from PLIVO_AUTH_TOKEN_FILE, to run and plan", func(t *testing.T) {
		t.Parallel()
		fx, r := secSetup(t, "", "garbage", 9090, 4)
		tokenFile := filepath.Join(t.TempDir(), "auth-token") // outside the runner's directory, which check reads
		e2eOK(t, os.WriteFile(tokenFile, []byte(fx.token+"\n"), 0o400))
		r = r.without("PLIVO_AUTH_TOKEN").with("PLIVO_AUTH_TOKEN_FILE", tokenFile)
		input := secInput(r,
			[]string{e2eNumber(9090), e2eAppA}, []string{e2eNumber(9091), e2eAppB, "", "x"}, // POST: 502 page
			[]string{e2eNumber(9092), "", "", "alias"}, []string{e2eNumber(9093), "", e2eSubA}, // read first: 200 garbage
		)
		e2eExit(t, "run", run(r, input, "--max-attempts", "2"), 1)
		if failed, redacted := secFailed(t, r); failed != 4 || redacted < 4 {
			t.Errorf("%d failed rows, %d [redacted]; want 4 and 4", failed, redacted)
		}
		e2eExit(t, "plan", r.run(slices.Concat([]string{"plan", "--input", input, "--output", "plan.csv", "--rate", "0", "--max-attempts", "2"}, e2eFastRetries)...), 1)
	})

	t.Run("errors that echo the credentials encoded", func(t *testing.T) {
		t.Parallel()
		// Characters that URL-encoding changes, and a length that base64
		// pads, for the token and for authID:token.
		fx, _ := e2eStartFixture(t, sandbox.Config{AuthToken: "tok-" + e2eRandString(e2eAlnum, 32) + "/+=?&"}, e2eNumbers(e2eNumber(9095), e2eNumber(9096))...)
		r := e2eNewRunner(t, fx).with("PLIVO_API_URL", secHostile(t, fx, "encoded"))
		r.secrets = append(r.secrets, append(secEncoded(fx.token), secEncoded(fx.authID+":"+fx.token)...)...)
		e2eExit(t, "run", run(r, secInput(r, []string{e2eNumber(9095), e2eAppA}, []string{e2eNumber(9096), e2eAppB}), "--log-format", "json"), 1)
		if failed, redacted := secFailed(t, r); failed != 2 || redacted < 2*18 {
			t.Errorf("%d failed rows, %d [redacted]; want 2, and each of 18 encodings redacted", failed, redacted)
		}
	})

	t.Run("answers that echo the credentials JSON-escaped", func(t *testing.T) {
		t.Parallel()
		_, r := secSetup(t, "", "escaped", 9097, 2)
		for _, f := range r.secrets {
			r.secrets = append(r.secrets, secUEscaped(f)) // the text is cut short: pieces too
		}
		e2eExit(t, "run", run(r, secInput(r, []string{e2eNumber(9097), e2eAppA}, []string{e2eNumber(9098), e2eAppB}), "--log-format", "json"), 1)
		if failed, _ := secFailed(t, r); failed != 2 {
			t.Errorf("%d failed rows, want 2", failed)
		}
	})

	t.Run("successes whose fields echo the credentials JSON-escaped", func(t *testing.T) {
		t.Parallel()
		_, r := secSetup(t, "", "2xx", 2600, 3)
		input := r.write("numbers.csv", "number,alias\n"+strings.Join(e2eNumberRange(2600, 3), ",new\n")+",new\n")
		if res := run(r, input, "--undo", "undo.csv", "--summary", "s.json"); res.code > 1 {
			t.Fatalf("exit code %d, want 0 or 1\n%v", res.code, res)
		}
	})

	t.Run("refused api urls", func(t *testing.T) {
		t.Parallel()
		// A listener that counts connections: the refused URLs that point
		// at it must not reach it.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		e2eOK(t, err)
		var accepted atomic.Int32
		go func() {
			for c, err := ln.Accept(); err == nil; c, err = ln.Accept() {
				accepted.Add(1)
				_ = c.Close()
			}
		}()
		t.Cleanup(func() {
			_ = ln.Close()
			if n := accepted.Load(); n != 0 {
				t.Errorf("a refused URL reached the listener: %d connections", n)
			}
		})
		local, pw := ln.Addr().String(), "pw"+e2eRandString(e2eAlnum, 20)
		for _, tt := range []struct{ name, url, want string }{
			// The messages are client's (TestNew_refuses); here, that no
			// request goes out and no password is shown, run or plan.
			{"plain http to another host", "http://user:" + pw + "@10.1.2.3:1", "plain http is refused"},
			{"userinfo on a listener", "http://user:" + pw + "@" + local, "must not carry credentials"},
			{"another scheme", "ftp://user:" + pw + "@" + local, "scheme must be https"},
			{"password in the query", "https://" + local + "/?password=" + pw, "must not carry credentials"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				fx, r := secSetup(t, "", "", 9120, 1)
				r.secrets = append(r.secrets, pw)
				input := secInput(r, []string{e2eNumber(9120), e2eAppA})
				for _, cmd := range [][]string{{"run", "--report", "report.csv", "--summary", "s.json"}, {"plan", "--output", "plan.csv"}} {
					res := r.run(slices.Concat(cmd, []string{"--input", input, "--api-url", tt.url, "--rate", "0"}, e2eFastRetries)...)
					e2eExit(t, cmd[0], res, 2)
					e2eHas(t, cmd[0], res.stderr, tt.want)
				}
				if n := fx.requests(); n != 0 {
					t.Errorf("%d requests reached the sandbox", n)
				}
			})
		}
	})

	// The standalone sandbox and --sandbox with a token in the
	// environment: TestRunSandbox_neverPrintsATokenFromTheEnvironment,
	// TestRun_sandboxSamples.
}

// TestAuthTokenFile_authenticates: the token read from PLIVO_AUTH_TOKEN_FILE
// is the one the requests' Basic credential carries (the sandbox answers 401
// to any other), less one trailing newline and nothing else.
func TestAuthTokenFile_authenticates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, content, envToken string
		want                    int
	}{
		{name: "no newline", content: "TOKEN", want: exitOK},
		{name: "one newline, as echo writes", content: "TOKEN\n", want: exitOK},
		{name: "the same token in PLIVO_AUTH_TOKEN too", content: "TOKEN\n", envToken: "TOKEN", want: exitOK},
		// Only one newline is the file's end; the rest is the token's, which the API refuses.
		{name: "two newlines", content: "TOKEN\n\n", want: exitAborted},
		{name: "a trailing space", content: "TOKEN \n", want: exitAborted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx, r, input, _ := e2eMoveAll(t, sandbox.Config{}, 601, 1, e2eAppA)
			tokenFile := filepath.Join(t.TempDir(), "token") // outside the runner's directory, which check reads
			_ = os.WriteFile(tokenFile, []byte(strings.ReplaceAll(tt.content, "TOKEN", fx.token)), 0o400)
			r = r.with("PLIVO_AUTH_TOKEN", strings.ReplaceAll(tt.envToken, "TOKEN", fx.token)).with("PLIVO_AUTH_TOKEN_FILE", tokenFile)
			res := r.run(e2eRun(input, "report.csv", "--rate", "0")...)
			e2eExit(t, "run", res, tt.want) // e2eProc.check looks for the token
		})
	}
}

// TestForbidden_everyUpdateRefusedStopsTheRun: credentials that may read the
// account but not change its numbers get a 403 for every update. The
// account check, the pre-flight and the listing answered 200 before any
// update, yet the run stops after the first ten updates, exit 3, rather
// than sending every row to be refused.
func TestForbidden_everyUpdateRefusedStopsTheRun(t *testing.T) {
	t.Parallel()
	var posts atomic.Int64
	_, r, _, numbers := e2eMoveAll(t, sandbox.Config{}, 4100, 100, e2eAppA, func(w http.ResponseWriter, q *http.Request) bool {
		if q.Method != http.MethodPost || !strings.Contains(q.URL.Path, "/Number/") {
			return false
		}
		posts.Add(1)
		e2eAnswer(w, http.StatusForbidden, "application/json", `{"api_id":"f0","error":"not allowed to change this number"}`)
		return true
	})
	in := "number,app_id,alias\n"
	for i, n := range numbers { // every other row alias only: the number's app is read first, by the listing here
		in += n + []string{"," + e2eAppA + ",\n", ",,renamed\n"}[i%2]
	}
	e2eExit(t, "run", r.run(e2eRun(r.write("numbers.csv", in), "report.csv", "--rate", "0", "--concurrency", "1")...), exitAborted, "403")
	if n := posts.Load(); n != 10 {
		t.Errorf("%d updates sent, want the run stopped after the first 10", n)
	}
}

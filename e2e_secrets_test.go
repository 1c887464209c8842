package main

// The secrets end-to-end test: the real binary, given a known token, is run
// through every path (success, every error answer, aborts, a hostile server
// that echoes the credentials, refused API URLs, dry run, plan, undo,
// summary, interruption, the standalone sandbox) and neither the token, nor
// its HTTP Basic form, nor a piece of either may appear on stdout, on stderr
// or in any file the run leaves behind.
//
// plivo-bulk has no panic recovery (no recover() outside tests), so there
// is no panic path to cover here; a panic's stack trace would be caught by
// e2eProc.check anyway.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

const secAlnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// secToken returns a distinctive token: "tok-" and 32 random characters.
func secToken() string { return "tok-" + e2eRandString(secAlnum, 32) }

// secMainID returns a made-up main account auth id.
func secMainID() string { return "MA" + e2eRandString("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 18) }

// secPieceLen is the length of the pieces of a secret that must not appear
// either: a server text cut in the middle of an echoed token still leaks
// what is left of it.
const secPieceLen = 10

// secForms returns what must never be seen of token: the token, the Basic
// auth credential base64(authID:token), and every secPieceLen-long piece of
// the token's random part and of the part of the Basic credential that
// encodes the token alone (the auth id, which the tool prints, is left out).
func secForms(authID, token string) []string {
	basic := base64.StdEncoding.EncodeToString([]byte(authID + ":" + token))
	forms := []string{token, basic}
	pieces := func(s string) {
		for i := 0; i+secPieceLen <= len(s); i++ {
			forms = append(forms, s[i:i+secPieceLen])
		}
	}
	pieces(strings.TrimPrefix(token, "tok-"))
	// base64 turns each 3 bytes into 4 characters: past the groups that
	// hold "authID:", the characters encode the token only.
	pieces(basic[(len(authID)+1+2)/3*4:])
	return forms
}

// secStartFixture is e2eStartFixture with the credentials given.
func secStartFixture(t *testing.T, cfg sandbox.Config, authID, token string, numbers ...sandbox.Number) *e2eFixture {
	t.Helper()
	cfg.AuthID, cfg.AuthToken = authID, token
	return e2eStartFixture(t, cfg, numbers...)
}

// secSetup starts a sandbox with a fresh token and numbers, and a runner
// pointed at it.
func secSetup(t *testing.T, cfg sandbox.Config, authID string, numbers ...sandbox.Number) (*e2eFixture, *e2eRunner, []string) {
	t.Helper()
	fx := secStartFixture(t, cfg, authID, secToken(), numbers...)
	return fx, e2eNewRunner(t, fx), secForms(fx.authID, fx.token)
}

// secInput writes an input CSV with every target column and returns its
// path; each row is number, app_id, subaccount, alias,
// compliance_application_id (missing cells are empty).
func secInput(r *e2eRunner, rows ...[]string) string {
	var b strings.Builder
	b.WriteString("number,app_id,subaccount,alias,compliance_application_id\n")
	for _, row := range rows {
		cells := make([]string, 5)
		copy(cells, row)
		b.WriteString(e2eCSVLine(cells...))
	}
	return r.write("numbers.csv", b.String())
}

// secCheck fails the test when any of forms appears in the run's stdout or
// stderr, or in any file under the runner's directory (every file a run
// writes lands there: report, undo, summary, plan, dump, home).
func secCheck(t *testing.T, r *e2eRunner, res e2eResult, forms []string) {
	t.Helper()
	texts := map[string]string{"stdout": res.stdout, "stderr": res.stderr}
	err := filepath.WalkDir(r.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		texts["file "+strings.TrimPrefix(path, r.dir+string(filepath.Separator))] = string(b)
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", r.dir, err)
	}
	for name, s := range texts {
		for _, f := range forms {
			if i := strings.Index(s, f); i >= 0 {
				// Show the line, the secret masked.
				start := strings.LastIndexByte(s[:i], '\n') + 1
				end := strings.IndexByte(s[i:], '\n')
				if end < 0 {
					end = len(s)
				} else {
					end += i
				}
				t.Errorf("a secret (%d characters) appears in %s: %s", len(f), name, strings.ReplaceAll(s[start:end], f, "<SECRET>"))
				break
			}
		}
	}
}

// secExit fails the test unless res ended with one of codes.
func secExit(t *testing.T, res e2eResult, codes ...int) {
	t.Helper()
	for _, c := range codes {
		if res.code == c {
			return
		}
	}
	t.Fatalf("exit code %d, want one of %v\n%v", res.code, codes, res)
}

// secReport reads the report and returns its rows by status, with the
// http_status cells seen.
func secReport(t *testing.T, r *e2eRunner, name string) (map[string]int, map[string]bool) {
	t.Helper()
	data, err := os.ReadFile(r.path(name))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := e2eParseReport(data, false)
	if err != nil {
		t.Fatalf("report: %v\n%s", err, data)
	}
	byStatus, http := map[string]int{}, map[string]bool{}
	for _, g := range rows {
		byStatus[g.Status]++
		http[g.HTTPStatus] = true
	}
	return byStatus, http
}

// secEncoded returns s as a server may echo it encoded: URL-encoded for a
// query and for a path (with upper- and lower-case hex digits), JSON-escaped
// as PHP does, and base64 in both alphabets, padded and not.
func secEncoded(s string) []string {
	lower := regexp.MustCompile(`%[0-9A-F]{2}`)
	forms := []string{url.QueryEscape(s), url.PathEscape(s), strings.ReplaceAll(s, "/", `\/`),
		lower.ReplaceAllStringFunc(url.QueryEscape(s), strings.ToLower), lower.ReplaceAllStringFunc(url.PathEscape(s), strings.ToLower)}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		forms = append(forms, enc.EncodeToString([]byte(s)))
	}
	return forms
}

// secUEscaped returns s with every character \u-escaped, as JSON allows.
func secUEscaped(s string) string {
	var b strings.Builder
	for _, c := range s {
		fmt.Fprintf(&b, `\u%04x`, c)
	}
	return b.String()
}

// secRedacted is what the client puts in place of a secret in server text.
const secRedacted = "[redacted]"

// secHostileProxy serves the sandbox's reads through a reverse proxy, and
// answers what mode says for the number requests, echoing back the request's
// Authorization header and the password it carries: a misconfigured proxy
// or a hostile server.
func secHostileProxy(t *testing.T, fx *e2eFixture, mode string) string {
	t.Helper()
	target, err := url.Parse(fx.url)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		authz := r.Header.Get("Authorization")
		_, pw, _ := r.BasicAuth()
		isNumber := strings.Contains(r.URL.Path, "/Number/")
		switch {
		case mode == "401 to updates" && r.Method == http.MethodPost:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]string{
				"api_id": "echo-" + pw,
				"error":  "invalid credentials: you sent Authorization: " + authz + " (token " + pw + ")",
			})
		case mode == "encoded" && r.Method == http.MethodPost:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			user, _, _ := r.BasicAuth()
			_ = json.NewEncoder(w).Encode(map[string]string{"api_id": "e1",
				"error": "bad request from " + strings.Join(append(secEncoded(pw), secEncoded(user+":"+pw)...), " or ")})
		case mode == "escaped" && r.Method == http.MethodPost:
			// JSON that is not an error body, or not the answer expected,
			// with the credentials \u-escaped: the text shown in their
			// place is the body itself.
			user, _, _ := r.BasicAuth()
			code, apiID := http.StatusInternalServerError, `"e1"`
			if strings.HasSuffix(r.URL.Path, "8/") {
				code, apiID = http.StatusAccepted, "5"
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"api_id":%s,"message":"you sent %s as %s"}`, apiID, secUEscaped(pw), secUEscaped(user+":"+pw))
		case mode == "garbage" && isNumber && r.Method == http.MethodPost:
			// An HTML page whose echoed token straddles the client's
			// 200-character cut of a text answer.
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "<html><body>%s token=%s auth=%s</body></html>", strings.Repeat("x", 160), pw, authz)
		case mode == "garbage" && isNumber:
			// A 200 to a read that is not the JSON expected.
			w.WriteHeader(http.StatusOK)
			fmt.Fprintf(w, "<html>you are %s, your password is %s</html>", authz, pw)
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestE2E_Secrets(t *testing.T) {
	t.Parallel()
	e2eBinary(t) // build the binary before the parallel subtests need it

	fast := e2eFastRetries
	nums := func(first, n int) []sandbox.Number {
		var ns []string
		for i := range n {
			ns = append(ns, fmt.Sprintf("1202555%04d", first+i))
		}
		return e2eNumbers(ns...)
	}
	num := func(i int) string { return fmt.Sprintf("1202555%04d", i) }

	t.Run("run text logs", func(t *testing.T) {
		t.Parallel()
		_, r, forms := secSetup(t, sandbox.Config{DefaultAppOnMissing: true, DefaultApp: e2eDefaultApp}, secMainID(), nums(9000, 5)...)
		input := secInput(r,
			[]string{num(9000), e2eAppA},
			[]string{num(9001), "", e2eSubA},
			[]string{num(9002), "", "", "Desk"},
			[]string{num(9003), "(clear)"},
			[]string{num(9004), e2eAppB, e2eSubB, "x", "CA-1"},
		)
		res := r.run(e2eArgs([]string{"run", "--input", input, "--report", "report.csv", "--rate", "0"}, fast)...)
		secExit(t, res, 0)
		secCheck(t, r, res, forms)
		if st, _ := secReport(t, r, "report.csv"); st["ok"] != 5 {
			t.Errorf("report statuses %v, want 5 ok", st)
		}
	})

	t.Run("run json logs with progress", func(t *testing.T) {
		t.Parallel()
		_, r, forms := secSetup(t, sandbox.Config{Latency: 15 * time.Millisecond}, secMainID(), nums(9010, 8)...)
		var rows [][]string
		for i := range 8 {
			rows = append(rows, []string{num(9010 + i), e2eAppA, "", fmt.Sprintf("json %d", i)})
		}
		input := secInput(r, rows...)
		res := r.run(e2eArgs([]string{"run", "--input", input, "--report", "report.csv", "--rate", "0", "--concurrency", "1",
			"--log-format", "json", "--log-every", "10ms"}, fast)...)
		secExit(t, res, 0)
		secCheck(t, r, res, forms)
		progress := 0
		for _, l := range e2eJSONLogs(res.stderr) {
			if l["msg"] == "progress" {
				progress++
			}
		}
		if progress == 0 {
			t.Errorf("no progress log line in a run of more than 100ms with --log-every 10ms:\n%s", res.stderr)
		}
	})

	t.Run("dry run", func(t *testing.T) {
		t.Parallel()
		fx, r, forms := secSetup(t, sandbox.Config{}, secMainID(), nums(9020, 2)...)
		input := secInput(r, []string{num(9020), e2eAppA}, []string{num(9021), "", "", "alias"}, []string{"12345", e2eAppA})
		res := r.run(e2eArgs([]string{"run", "--dry-run", "--input", input, "--report", "report.csv"}, fast)...)
		secExit(t, res, 1)
		secCheck(t, r, res, forms)
		if !strings.Contains(res.stdout, "POST /v1/Account/"+fx.authID+"/Number/") {
			t.Errorf("the dry run printed no request:\n%s", res.stdout)
		}
	})

	t.Run("run refused 400 404 and pre-flight invalid", func(t *testing.T) {
		t.Parallel()
		ns := nums(9030, 3)
		ns[1].ComplianceStatus = "accepted" // a compliance change is a real 400
		_, r, forms := secSetup(t, sandbox.Config{}, secMainID(), ns...)
		input := secInput(r,
			[]string{num(9030), e2eAppUnknown},           // pre-flight: invalid
			[]string{num(9031), e2eAppA, "", "", "CA-9"}, // 400
			[]string{num(9039), e2eAppA},                 // 404: not on the account
			[]string{num(9032), e2eAppB},                 // ok
		)
		res := r.run(e2eArgs([]string{"run", "--input", input, "--report", "report.csv", "--rate", "0", "--log-format", "json"}, fast)...)
		secExit(t, res, 1)
		secCheck(t, r, res, forms)
		st, http := secReport(t, r, "report.csv")
		if st["ok"] != 1 || st["failed"] != 2 || st["invalid"] != 1 || !http["400"] || !http["404"] {
			t.Errorf("report statuses %v, http statuses %v; want 1 ok, 2 failed (400, 404), 1 invalid", st, http)
		}
	})

	t.Run("run refused 403 on a subaccount", func(t *testing.T) {
		t.Parallel()
		subID := "SA" + e2eRandString("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 18)
		_, r, forms := secSetup(t, sandbox.Config{}, subID, nums(9040, 2)...)
		input := secInput(r, []string{num(9040), e2eAppA, e2eSubA}, []string{num(9041), e2eAppA})
		res := r.run(e2eArgs([]string{"run", "--input", input, "--report", "report.csv", "--rate", "0"}, fast)...)
		secExit(t, res, 1)
		secCheck(t, r, res, forms)
		if st, http := secReport(t, r, "report.csv"); st["failed"] != 1 || !http["403"] {
			t.Errorf("report statuses %v, http statuses %v; want one 403", st, http)
		}
	})

	t.Run("run rate limited 429", func(t *testing.T) {
		t.Parallel()
		fx, r, forms := secSetup(t, sandbox.Config{RateLimit: 2}, secMainID(), nums(9050, 8)...)
		var rows [][]string
		for i := range 8 {
			rows = append(rows, []string{num(9050 + i), e2eAppA})
		}
		input := secInput(r, rows...)
		// Without --adaptive, which after the 429s may slow the run down to
		// a request every second or two: the answers, not the pacing, are
		// under test.
		res := r.run(e2eArgs([]string{"run", "--input", input, "--report", "report.csv", "--rate", "0", "--max-attempts", "2", "--adaptive=false"}, fast)...)
		secExit(t, res, 0, 1)
		secCheck(t, r, res, forms)
		if fx.srv.Stats().RateLimited == 0 {
			t.Errorf("the sandbox never answered 429: the test tests nothing")
		}
	})

	t.Run("run faults with a short timeout", func(t *testing.T) {
		t.Parallel()
		fx := e2eStartFaulty(t, e2eFaults{Fail: 0.2, FailAfterApply: 0.1, Drop: 0.1, Stall: 0.1, Garbage: 0.2, Seed: 77},
			sandbox.Config{AuthID: secMainID(), AuthToken: secToken()}, nums(9060, 16)...)
		r, forms := e2eNewRunner(t, fx), secForms(fx.authID, fx.token)
		var rows [][]string
		for i := range 16 {
			app := e2eAppA
			if i%4 == 0 {
				app = "" // read first: faults on reads too
			}
			rows = append(rows, []string{num(9060 + i), app, "", fmt.Sprintf("fault %d", i)})
		}
		input := secInput(r, rows...)
		res := r.run(e2eArgs([]string{"run", "--input", input, "--report", "report.csv", "--rate", "0", "--timeout", "200ms", "--max-attempts", "3"}, fast)...)
		secExit(t, res, 0, 1)
		secCheck(t, r, res, forms)
		if _, injected := fx.counts(); injected == 0 {
			t.Errorf("no fault was injected: the test tests nothing")
		}
	})

	t.Run("abort on a wrong token", func(t *testing.T) {
		t.Parallel()
		fx, r, forms := secSetup(t, sandbox.Config{}, secMainID(), nums(9070, 2)...)
		wrong := secToken()
		r = r.withToken(fx.authID, wrong)
		forms = append(forms, secForms(fx.authID, wrong)...)
		input := secInput(r, []string{num(9070), e2eAppA}, []string{num(9071), e2eAppA})
		res := r.run(e2eArgs([]string{"run", "--input", input, "--report", "report.csv", "--rate", "0", "--summary", "s.json"}, fast)...)
		secExit(t, res, 3)
		secCheck(t, r, res, forms)
		if !strings.Contains(res.stderr, "authentication failed") {
			t.Errorf("stderr does not say authentication failed:\n%s", res.stderr)
		}
	})

	t.Run("abort on a 401 to updates that echoes the credentials", func(t *testing.T) {
		t.Parallel()
		fx, r, forms := secSetup(t, sandbox.Config{}, secMainID(), nums(9080, 3)...)
		r = r.with("PLIVO_API_URL", secHostileProxy(t, fx, "401 to updates"))
		input := secInput(r, []string{num(9080), e2eAppA}, []string{num(9081), e2eAppA}, []string{num(9082), e2eAppA})
		res := r.run(e2eArgs([]string{"run", "--input", input, "--report", "report.csv", "--rate", "0", "--log-format", "json", "--summary", "s.json"}, fast)...)
		secExit(t, res, 3)
		secCheck(t, r, res, forms)
		report, _ := os.ReadFile(r.path("report.csv"))
		if !strings.Contains(res.stderr, "authentication failed") || !strings.Contains(res.stderr+string(report), secRedacted) {
			t.Errorf("want an abort whose server message shows %s in place of the credentials:\n%v\n--- report:\n%s", secRedacted, res, report)
		}
	})

	t.Run("errors and garbage that echo the credentials", func(t *testing.T) {
		t.Parallel()
		fx, r, forms := secSetup(t, sandbox.Config{}, secMainID(), nums(9090, 4)...)
		r = r.with("PLIVO_API_URL", secHostileProxy(t, fx, "garbage"))
		input := secInput(r,
			[]string{num(9090), e2eAppA}, []string{num(9091), e2eAppB, "", "x"}, // POST: 502 page
			[]string{num(9092), "", "", "alias"}, []string{num(9093), "", e2eSubA}, // read first: 200 garbage
		)
		res := r.run(e2eArgs([]string{"run", "--input", input, "--report", "report.csv", "--rate", "0", "--max-attempts", "2"}, fast)...)
		secExit(t, res, 1)
		secCheck(t, r, res, forms)
		report, _ := os.ReadFile(r.path("report.csv"))
		if st, _ := secReport(t, r, "report.csv"); st["failed"] != 4 || strings.Count(string(report), secRedacted) < 4 {
			t.Errorf("want 4 failed rows whose errors show %s in place of the credentials; statuses %v\n%s", secRedacted, st, report)
		}
		// The same server, read by plan.
		res = r.run(e2eArgs([]string{"plan", "--input", input, "--output", "plan.csv", "--rate", "0", "--max-attempts", "2"}, fast)...)
		secExit(t, res, 1)
		secCheck(t, r, res, forms)
	})

	t.Run("a token from PLIVO_AUTH_TOKEN_FILE that the server echoes", func(t *testing.T) {
		t.Parallel()
		fx, r, forms := secSetup(t, sandbox.Config{}, secMainID(), nums(9085, 2)...)
		// Outside the runner's directory, which secCheck reads whole.
		tokenFile := filepath.Join(t.TempDir(), "auth-token")
		if err := os.WriteFile(tokenFile, []byte(fx.token+"\n"), 0o400); err != nil {
			t.Fatal(err)
		}
		r = r.without("PLIVO_AUTH_TOKEN").with("PLIVO_AUTH_TOKEN_FILE", tokenFile).with("PLIVO_API_URL", secHostileProxy(t, fx, "garbage"))
		input := secInput(r, []string{num(9085), e2eAppA}, []string{num(9086), e2eAppB})
		res := r.run(e2eArgs([]string{"run", "--input", input, "--report", "report.csv", "--rate", "0", "--max-attempts", "1"}, fast)...)
		secExit(t, res, 1)
		secCheck(t, r, res, forms)
		report, _ := os.ReadFile(r.path("report.csv"))
		if st, _ := secReport(t, r, "report.csv"); st["failed"] != 2 || strings.Count(string(report), secRedacted) < 2 {
			t.Errorf("want 2 failed rows whose errors show %s in place of the token; statuses %v\n%s", secRedacted, st, report)
		}
	})

	t.Run("errors that echo the credentials encoded", func(t *testing.T) {
		t.Parallel()
		// Characters that URL-encoding changes, and a length that base64
		// pads, for the token and for authID:token.
		authID, token := secMainID(), secToken()+"/+=?&"
		fx := secStartFixture(t, sandbox.Config{}, authID, token, nums(9095, 2)...)
		r := e2eNewRunner(t, fx).with("PLIVO_API_URL", secHostileProxy(t, fx, "encoded"))
		forms := append(secForms(authID, token), append(secEncoded(token), secEncoded(authID+":"+token)...)...)
		input := secInput(r, []string{num(9095), e2eAppA}, []string{num(9096), e2eAppB})
		res := r.run(e2eArgs([]string{"run", "--input", input, "--report", "report.csv", "--rate", "0", "--log-format", "json"}, fast)...)
		secExit(t, res, 1)
		secCheck(t, r, res, forms)
		report, _ := os.ReadFile(r.path("report.csv"))
		if st, _ := secReport(t, r, "report.csv"); st["failed"] != 2 || strings.Count(string(report), secRedacted) < 2*18 {
			t.Errorf("want 2 failed rows whose errors show %s in place of each of 18 encodings; statuses %v\n%s", secRedacted, st, report)
		}
	})

	t.Run("answers that echo the credentials JSON-escaped", func(t *testing.T) {
		t.Parallel()
		authID, token := secMainID(), secToken()
		fx := secStartFixture(t, sandbox.Config{}, authID, token, nums(9097, 2)...)
		r := e2eNewRunner(t, fx).with("PLIVO_API_URL", secHostileProxy(t, fx, "escaped"))
		forms := secForms(authID, token)
		for _, f := range forms {
			forms = append(forms, secUEscaped(f)) // the text is cut short: pieces too
		}
		input := secInput(r, []string{num(9097), e2eAppA}, []string{num(9098), e2eAppB})
		res := r.run(e2eArgs([]string{"run", "--input", input, "--report", "report.csv", "--rate", "0", "--log-format", "json"}, fast)...)
		secExit(t, res, 1)
		secCheck(t, r, res, forms)
		if st, _ := secReport(t, r, "report.csv"); st["failed"] != 2 {
			t.Errorf("want 2 failed rows; statuses %v", st)
		}
	})

	t.Run("run with undo verify skip-unchanged and summary", func(t *testing.T) {
		t.Parallel()
		_, r, forms := secSetup(t, sandbox.Config{DefaultAppOnMissing: true, DefaultApp: e2eDefaultApp}, secMainID(), nums(9100, 4)...)
		input := secInput(r,
			[]string{num(9100), e2eAppA},
			[]string{num(9101), e2eAppStart, "", "old"}, // already so: skipped
			[]string{num(9102), "", "", "renamed"},
			[]string{num(9103), "(clear)", e2eSubB, "(clear)"},
		)
		res := r.run(e2eArgs([]string{"run", "--input", input, "--report", "report.csv", "--rate", "0",
			"--undo", "undo.csv", "--verify", "--skip-unchanged", "--summary", "s.json"}, fast)...)
		secExit(t, res, 0)
		secCheck(t, r, res, forms)
		for _, f := range []string{"undo.csv", "s.json"} {
			if _, err := os.Stat(r.path(f)); err != nil {
				t.Errorf("the run wrote no %s: %v", f, err)
			}
		}
		if st, _ := secReport(t, r, "report.csv"); st["skipped"] != 1 || st["ok"] != 3 {
			t.Errorf("report statuses %v, want 3 ok and 1 skipped", st)
		}
	})

	t.Run("plan", func(t *testing.T) {
		t.Parallel()
		_, r, forms := secSetup(t, sandbox.Config{}, secMainID(), nums(9110, 2)...)
		input := secInput(r, []string{num(9110), e2eAppA}, []string{num(9111), e2eAppStart, "", "old"}, []string{num(9119), e2eAppA})
		res := r.run(e2eArgs([]string{"plan", "--input", input, "--output", "plan.csv", "--rate", "0", "--summary", "s.json"}, fast)...)
		secExit(t, res, 1) // 9119 is not on the account
		secCheck(t, r, res, forms)
		if _, err := os.Stat(r.path("plan.csv")); err != nil {
			t.Errorf("no plan written: %v", err)
		}
	})

	t.Run("refused api urls", func(t *testing.T) {
		t.Parallel()
		// A listener that counts connections: the refused URLs that point
		// at it must not reach it.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ln.Close() })
		var accepted atomic.Int32
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted.Add(1)
				_ = c.Close()
			}
		}()
		local := ln.Addr().String()
		pw := "pw" + e2eRandString(secAlnum, 20)
		tests := []struct{ name, url, want string }{
			{"plain http to another host", "http://10.1.2.3:1", "plain http is refused"},
			{"userinfo on loopback", "http://user:" + pw + "@127.0.0.1:1", "must not carry credentials"},
			{"userinfo on a listener", "http://user:" + pw + "@" + local, "must not carry credentials"},
			{"userinfo over https", "https://user:" + pw + "@" + local, "must not carry credentials"},
			{"userinfo and plain http to another host", "http://user:" + pw + "@10.1.2.3:1", "plain http is refused"},
			{"userinfo and another scheme", "ftp://user:" + pw + "@" + local, "scheme must be https"},
			{"userinfo in a URL that does not parse", "http://user:" + pw + "@127.0.0.1:port", "api url"},
			{"password in the query", "https://" + local + "/?password=" + pw, "must not carry credentials"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				fx, r, forms := secSetup(t, sandbox.Config{}, secMainID(), nums(9120, 1)...)
				forms = append(forms, pw)
				input := secInput(r, []string{num(9120), e2eAppA})
				for _, cmd := range [][]string{
					{"run", "--report", "report.csv", "--summary", "s.json"},
					{"plan", "--output", "plan.csv"},
				} {
					res := r.run(e2eArgs(cmd, []string{"--input", input, "--api-url", tt.url, "--rate", "0"}, fast)...)
					secExit(t, res, 2)
					secCheck(t, r, res, forms)
					if !strings.Contains(res.stderr, tt.want) {
						t.Errorf("%s: stderr lacks %q:\n%s", cmd[0], tt.want, res.stderr)
					}
					if res.elapsed > 10*time.Second {
						t.Errorf("%s: took %v to refuse the URL", cmd[0], res.elapsed)
					}
				}
				if n := fx.requests(); n != 0 {
					t.Errorf("%d requests reached the sandbox", n)
				}
			})
		}
		t.Cleanup(func() {
			if n := accepted.Load(); n != 0 {
				t.Errorf("a refused URL reached the listener: %d connections", n)
			}
		})
	})

	t.Run("sandbox command with the token in the environment", func(t *testing.T) {
		t.Parallel()
		authID, token := secMainID(), secToken()
		forms := secForms(authID, token)
		r := e2eNewRunner(t, nil).with("PLIVO_AUTH_ID", authID).withToken(authID, token)
		r.write("sandbox-numbers.csv", "number,app_id,alias,compliance_status\n"+num(9130)+","+e2eAppStart+",old,pending\n"+num(9131)+","+e2eAppStart+",old,pending\n")
		sb := r.start(nil, "sandbox", "--listen", "127.0.0.1:0", "--numbers", "sandbox-numbers.csv", "--apps", e2eAppA, "--dump", "dump.csv")
		exportRE := regexp.MustCompile(`export PLIVO_API_URL=(\S+)`)
		// The line after the export line says where the token came from: wait
		// for it to be printed whole, not just for the export line.
		doneRE := regexp.MustCompile(`export PLIVO_API_URL=\S+.*\n.*\n`)
		e2eWaitFor(t, 10*time.Second, "the sandbox's export line and the next", func() bool {
			return doneRE.MatchString(sb.stdout.String()) || sb.exited()
		})
		if sb.exited() {
			t.Fatalf("the sandbox ended early\n%v", sb.wait())
		}
		apiURL := exportRE.FindStringSubmatch(sb.stdout.String())[1]
		if !strings.Contains(sb.stdout.String(), "taken from PLIVO_AUTH_TOKEN") {
			t.Errorf("the sandbox does not say it uses the token of the environment:\n%s", sb.stdout.String())
		}

		// A run against it, with the same credentials.
		rr := r.with("PLIVO_API_URL", apiURL)
		input := secInput(rr, []string{num(9130), e2eAppA, "", "from the sandbox"}, []string{num(9131), "", "", "alias only"})
		res := rr.run(e2eArgs([]string{"run", "--input", input, "--report", "report.csv", "--rate", "0"}, fast)...)
		secExit(t, res, 0)
		secCheck(t, rr, res, forms)

		sb.signal(syscall.SIGINT)
		if !sb.waitTimeout(10 * time.Second) {
			t.Fatalf("the sandbox did not stop within 10s of SIGINT")
		}
		sres := sb.wait()
		secExit(t, sres, 0)
		secCheck(t, r, sres, forms)
		dump, err := os.ReadFile(r.path("dump.csv"))
		if err != nil || !strings.Contains(string(dump), "from the sandbox") {
			t.Errorf("dump after the run: %v\n%s", err, dump)
		}
	})

	t.Run("interrupt and resume", func(t *testing.T) {
		t.Parallel()
		const n = 24
		_, r, forms := secSetup(t, sandbox.Config{Latency: 40 * time.Millisecond}, secMainID(), nums(9140, n)...)
		var rows [][]string
		for i := range n {
			rows = append(rows, []string{num(9140 + i), e2eAppA})
		}
		input := secInput(r, rows...)
		args := e2eArgs([]string{"run", "--input", input, "--report", "report.csv", "--rate", "0", "--concurrency", "4",
			"--undo", "undo.csv", "--summary", "s.json"}, fast)
		p := r.start(nil, args...)
		e2eWaitFor(t, 10*time.Second, "2 report rows", func() bool { return e2eReportLines(r.path("report.csv")) >= 2 || p.exited() })
		if p.exited() {
			t.Fatalf("the run ended before it could be interrupted\n%v", p.wait())
		}
		p.signal(syscall.SIGINT)
		if !p.waitTimeout(10 * time.Second) {
			t.Fatalf("no exit 10s after SIGINT")
		}
		res := p.wait()
		secExit(t, res, 130)
		secCheck(t, r, res, forms)

		res = r.run(append(args, "--resume")...)
		secExit(t, res, 0)
		secCheck(t, r, res, forms)
	})

	t.Run("built-in sandbox with a token in the environment", func(t *testing.T) {
		t.Parallel()
		authID, token := secMainID(), secToken()
		r := e2eNewRunner(t, nil).with("PLIVO_AUTH_ID", authID).withToken(authID, token)
		input := secInput(r, []string{num(9150), e2eAppA}, []string{num(9151), "", "", "alias"})
		res := r.run(e2eArgs([]string{"run", "--sandbox", "--input", input, "--report", "report.csv", "--undo", "undo.csv"}, fast)...)
		secExit(t, res, 0)
		secCheck(t, r, res, secForms(authID, token))
	})
}

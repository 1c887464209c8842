package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// sandboxOutput is an io.Writer that a test can read while sandboxCmd
// writes to it.
type sandboxOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *sandboxOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *sandboxOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// startSandboxCmd runs `sandbox args` in-process in the background, with
// env as its environment, and waits for it to print its banner. stop
// cancels it and returns its error.
func startSandboxCmd(t *testing.T, env map[string]string, args ...string) (baseURL string, out *sandboxOutput, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = &sandboxOutput{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, append([]string{"sandbox"}, args...), envOf(env), nil, out, io.Discard) }()
	stop = func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("sandboxCmd did not return after cancel")
			return nil
		}
	}
	urlRE := regexp.MustCompile(`serving Plivo's Number API on (http://\S+)`)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		// The banner's last line: the rest of it is there too.
		if m := urlRE.FindStringSubmatch(out.String()); m != nil && strings.Contains(out.String(), "Serving until interrupted") {
			return m[1], out, stop
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("sandboxCmd returned early: %v\n%s", err, out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	stop()
	t.Fatalf("sandboxCmd printed no URL:\n%s", out.String())
	return "", nil, nil
}

func TestRunSandbox_serveAndDump(t *testing.T) {
	dir := t.TempDir()
	numbersFile := filepath.Join(dir, "numbers.csv")
	if err := os.WriteFile(numbersFile, []byte("number,app_id,alias\n12025551111,111,Old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dumpFile := filepath.Join(dir, "dump.csv")
	base, out, stop := startSandboxCmd(t, nil, "--listen", "127.0.0.1:0", "--numbers", numbersFile, "--apps", "222", "--dump", dumpFile)

	m := regexp.MustCompile(`export PLIVO_API_URL=(\S+) PLIVO_AUTH_ID=(\S+) PLIVO_AUTH_TOKEN=(\S+)`).FindStringSubmatch(out.String())
	if m == nil || m[1] != base {
		t.Fatalf("no export line for %s in:\n%s", base, out.String())
	}
	req, _ := http.NewRequest("POST", base+"/v1/Account/"+m[2]+"/Number/12025551111/", strings.NewReader(`{"app_id": "222", "alias": "New"}`))
	req.SetBasicAuth(m[2], m[3])
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Errorf("update status = %d, want 202", res.StatusCode)
	}

	if err := stop(); err != nil {
		t.Fatalf("sandboxCmd: %v", err)
	}
	if s := out.String(); !strings.Contains(s, "stopped after 1 requests: 1 updates applied (1 changed a number), 0 rate limited") {
		t.Errorf("no stats in output:\n%s", s)
	}
	got, err := os.ReadFile(dumpFile)
	if err != nil {
		t.Fatal(err)
	}
	want := "number,app_id,subaccount,alias,compliance_application_id,compliance_status\n12025551111,222,,New,,accepted\n"
	if string(got) != want {
		t.Errorf("dump = %q, want %q", got, want)
	}
}

func TestRunSandbox_tokenFromEnvironment(t *testing.T) {
	const token = "envTokenThatMustNotBePrinted0123456789"
	env := map[string]string{"PLIVO_AUTH_ID": "MAENVENVENVENVENVENV", "PLIVO_AUTH_TOKEN": token}
	_, out, stop := startSandboxCmd(t, env, "--listen", "127.0.0.1:0", "--dump", "-")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if strings.Contains(s, token) {
		t.Errorf("output shows the token from the environment:\n%s", s)
	}
	if !strings.Contains(s, "PLIVO_AUTH_ID=MAENVENVENVENVENVENV") || !strings.Contains(s, "taken from PLIVO_AUTH_TOKEN") {
		t.Errorf("output does not explain the credentials:\n%s", s)
	}
	if !strings.HasSuffix(s, "compliance_status\n") {
		t.Errorf("output does not end with the (empty) dump:\n%s", s)
	}
}

func TestRunSandbox_badArgs(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.csv")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--nope"}, "unknown flag --nope"},
		{"argument", []string{"extra"}, "unexpected argument"},
		{"public address", []string{"--listen", "0.0.0.0:8089"}, "loopback"},
		{"all interfaces", []string{"--listen", ":8089"}, "loopback"},
		{"no port", []string{"--listen", "127.0.0.1"}, "listen"},
		{"rate above 1", []string{"--fail-rate", "1.5"}, "fail rate"},
		{"negative latency", []string{"--latency", "-1s"}, "latency"},
		{"negative rate limit", []string{"--rate-limit", "-1"}, "rate limit"},
		{"bad rate window", []string{"--rate-limit", "300/5"}, "window"},
		{"a removed fault", []string{"--drop-rate", "0.1"}, "unknown flag --drop-rate"},
		{"bad subaccount", []string{"--subaccounts", "SA1"}, "subaccounts"},
		{"empty app", []string{"--apps", "1,,2"}, "empty item"},
		{"bad default app", []string{"--default-app", "a b"}, "default app"},
		{"missing numbers file", []string{"--numbers", missing}, "open numbers file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runWith(t, envOf(nil), nil, append([]string{"sandbox"}, tt.args...)...)
			if code != exitUsage {
				t.Fatalf("exit %d, want 2: %s", code, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.want)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}

func TestSandboxShellQuote(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"http://127.0.0.1:8089": "http://127.0.0.1:8089",
		"MA0123":                "MA0123",
		"a b":                   "'a b'",
		"it's":                  `'it'\''s'`,
		"":                      "''",
	} {
		if got := sandboxShellQuote(in); got != want {
			t.Errorf("sandboxShellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestParseSandboxFlags_rateLimit: Plivo's documented limit unless told
// otherwise, and the banner says which.
func TestParseSandboxFlags_rateLimit(t *testing.T) {
	tests := []struct {
		args   []string
		want   sandbox.Rate
		banner string
	}{
		{nil, sandbox.Rate{Limit: 300, Window: 5 * time.Second}, "rate limit 300/5s"},
		{[]string{"--rate-limit", "60"}, sandbox.Rate{Limit: 60, Window: time.Second}, "rate limit 60/1s"},
		{[]string{"--rate-limit", "0", "--fail-rate", "0.05", "--latency", "80ms"}, sandbox.Rate{Window: time.Second}, "failing 5% of number requests; latency 80ms"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var o sandboxOptions
			c := newSandboxCmd(&sys{getenv: envOf(nil)}, &o)
			if err := parseInto(c, tt.args); err != nil {
				t.Fatal(err)
			}
			if err := o.check(); err != nil {
				t.Fatal(err)
			}
			if got := (sandbox.Rate{Limit: o.cfg.RateLimit, Window: o.cfg.RateWindow}); got != tt.want {
				t.Errorf("rate limit = %+v, want %+v", got, tt.want)
			}
			var banner bytes.Buffer
			printSandboxBanner(&banner, "http://127.0.0.1:1", o.cfg, false, 1)
			if !strings.Contains(banner.String(), tt.banner) {
				t.Errorf("banner lacks %q:\n%s", tt.banner, banner.String())
			}
			if tt.want.Limit == 0 && strings.Contains(banner.String(), "rate limit") {
				t.Errorf("banner of an unlimited sandbox mentions a rate limit:\n%s", banner.String())
			}
		})
	}
}

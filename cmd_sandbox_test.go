package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
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

// startSandboxCmd runs sandboxCmd with args in the background and waits
// for it to print its URL. stop cancels it and returns its error.
func startSandboxCmd(t *testing.T, args ...string) (baseURL string, out *sandboxOutput, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = &sandboxOutput{}
	done := make(chan error, 1)
	go func() { done <- sandboxCmd(ctx, args, out, io.Discard) }()
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
		if m := urlRE.FindStringSubmatch(out.String()); m != nil {
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
	t.Setenv("PLIVO_AUTH_ID", "")
	t.Setenv("PLIVO_AUTH_TOKEN", "")
	dir := t.TempDir()
	numbersFile := filepath.Join(dir, "numbers.csv")
	if err := os.WriteFile(numbersFile, []byte("number,app_id,alias\n12025551111,111,Old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dumpFile := filepath.Join(dir, "dump.csv")
	base, out, stop := startSandboxCmd(t, "--listen", "127.0.0.1:0", "--numbers", numbersFile, "--apps", "222", "--dump", dumpFile)

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
	if s := out.String(); !strings.Contains(s, "stopped after 1 requests: 1 updates applied") || !strings.Contains(s, "202: 1") {
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
	t.Setenv("PLIVO_AUTH_ID", "MAENVENVENVENVENVENV")
	t.Setenv("PLIVO_AUTH_TOKEN", token)
	_, out, stop := startSandboxCmd(t, "--listen", "127.0.0.1:0", "--dump", "-")
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
	t.Setenv("PLIVO_AUTH_ID", "")
	t.Setenv("PLIVO_AUTH_TOKEN", "")
	missing := filepath.Join(t.TempDir(), "missing.csv")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--nope"}, "not defined"},
		{"argument", []string{"extra"}, "unexpected argument"},
		{"public address", []string{"--listen", "0.0.0.0:8089"}, "loopback"},
		{"all interfaces", []string{"--listen", ":8089"}, "loopback"},
		{"no port", []string{"--listen", "127.0.0.1"}, "listen"},
		{"rate above 1", []string{"--fail-rate", "1.5"}, "fail rate"},
		{"rates add up past 1", []string{"--drop-rate", "0.7", "--stall-rate", "0.7"}, "add up"},
		{"negative rate limit", []string{"--rate-limit", "-1"}, "rate limit"},
		{"bad rate window", []string{"--rate-limit", "300/5"}, "window"},
		{"unknown limiter", []string{"--rate-limit", "60", "--limiter", "leaky"}, "want bucket, fixed or sliding"},
		{"fractional fixed", []string{"--rate-limit", "0.5", "--limiter", "fixed"}, "whole number"},
		{"limiter without a limit", []string{"--limiter", "sliding"}, "need --rate-limit"},
		{"dip without a limit", []string{"--limit-dip", "1s:1s:0.5"}, "need --rate-limit"},
		{"bad dip", []string{"--rate-limit", "60", "--limit-dip", "1s:0.5"}, "AFTER:FOR:FACTOR"},
		{"overlapping dips", []string{"--rate-limit", "60", "--limit-dip", "1s:5s:0.5", "--limit-dip", "2s:1s:0"}, "overlap"},
		{"bad subaccount", []string{"--subaccounts", "SA1"}, "subaccounts"},
		{"empty app", []string{"--apps", "1,,2"}, "empty item"},
		{"bad default app", []string{"--default-app", "a b"}, "default app"},
		{"missing numbers file", []string{"--numbers", missing}, "open numbers file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := sandboxCmd(t.Context(), tt.args, &stdout, &stderr)
			if !isUsage(err) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}
}

func TestRunSandbox_help(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := sandboxCmd(t.Context(), []string{"-h"}, &stdout, &stderr)
	if !errors.Is(err, flag.ErrHelp) || isUsage(err) {
		t.Errorf("err = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"Usage: plivo-bulk sandbox", "Examples:", "-listen", "-fail-rate", "-limiter", "-limit-dip", "300/5s", "sliding"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, stderr.String())
		}
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

func TestParseSandboxFlags_rateLimit(t *testing.T) {
	t.Setenv("PLIVO_AUTH_ID", "")
	t.Setenv("PLIVO_AUTH_TOKEN", "")
	tests := []struct {
		args   []string
		want   sandbox.Config
		banner string
	}{
		{[]string{"--rate-limit", "60"}, sandbox.Config{RateLimit: 60, RateWindow: time.Second, Limiter: sandbox.LimiterBucket}, "rate limit 60/s (bucket)"},
		{[]string{"--rate-limit", "300/5s", "--limiter", "fixed", "--no-retry-after"},
			sandbox.Config{RateLimit: 300, RateWindow: 5 * time.Second, Limiter: sandbox.LimiterFixed, NoRetryAfter: true}, "rate limit 300/5s (fixed) without Retry-After"},
		{[]string{"--rate-limit", "100/1m", "--limiter", "sliding", "--limit-dip", "20s:10s:0.5", "--limit-dip", "1m:5s:0,2m:1m:50%"},
			sandbox.Config{RateLimit: 100, RateWindow: time.Minute, Limiter: sandbox.LimiterSliding, LimitDips: []sandbox.LimitDip{
				{After: 20 * time.Second, For: 10 * time.Second, Factor: 0.5}, {After: time.Minute, For: 5 * time.Second}, {After: 2 * time.Minute, For: time.Minute, Factor: 0.5}}},
			"rate limit 100/m (sliding) with dips 20s:10s:0.5,1m0s:5s:0,2m0s:1m0s:0.5"},
		{nil, sandbox.Config{Limiter: sandbox.LimiterBucket}, "account "},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			o, err := parseSandboxFlags(tt.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			got := sandbox.Config{RateLimit: o.cfg.RateLimit, RateWindow: o.cfg.RateWindow, Limiter: o.cfg.Limiter, LimitDips: o.cfg.LimitDips, NoRetryAfter: o.cfg.NoRetryAfter}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("config = %+v, want %+v", got, tt.want)
			}
			var banner bytes.Buffer
			printSandboxBanner(&banner, "http://127.0.0.1:1", o.cfg, false, 1)
			if !strings.Contains(banner.String(), tt.banner) {
				t.Errorf("banner lacks %q:\n%s", tt.banner, banner.String())
			}
			if tt.args == nil && strings.Contains(banner.String(), "rate limit") {
				t.Errorf("banner of an unlimited sandbox mentions a rate limit:\n%s", banner.String())
			}
		})
	}
}

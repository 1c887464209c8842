package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// startSandboxCmd runs `sandbox args` in-process with env as its
// environment, and returns its banner once printed, and stop, which
// interrupts it and returns the rest of its output and its error.
func startSandboxCmd(t *testing.T, env map[string]string, args ...string) (banner string, stop func() (string, error)) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, append([]string{"sandbox"}, args...), envOf(env), nil, pw, io.Discard)
		pw.Close()
	}()
	lines := bufio.NewReader(pr)
	for !strings.Contains(banner, "Serving until interrupted") {
		line, err := lines.ReadString('\n')
		if banner += line; err != nil {
			break
		}
	}
	return banner, func() (string, error) {
		cancel()
		rest, _ := io.ReadAll(lines) // until run returns and closes pw
		return string(rest), <-done
	}
}

func TestRunSandbox_servesAndDumps(t *testing.T) {
	dir := t.TempDir()
	numbers, dump := filepath.Join(dir, "numbers.csv"), filepath.Join(dir, "dump.csv")
	if err := os.WriteFile(numbers, []byte("number,app_id,alias\n12025551111,111,Old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	banner, stop := startSandboxCmd(t, nil, "--listen", "127.0.0.1:0", "--numbers", numbers, "--apps", "222", "--dump", dump, "--latency", "1ms")
	m := regexp.MustCompile(`(?m)^  export PLIVO_API_URL=(\S+) PLIVO_AUTH_ID=(\S+) PLIVO_AUTH_TOKEN=(\S+)$`).FindStringSubmatch(banner)
	if m == nil || !strings.Contains(banner, "on "+m[1]+"\naccount "+m[2]+" with 1 numbers; rate limit 300/5s; latency 1ms\n") {
		t.Fatalf("banner:\n%s", banner)
	}
	req, _ := http.NewRequest("POST", m[1]+"/v1/Account/"+m[2]+"/Number/12025551111/", strings.NewReader(`{"app_id": "222", "alias": "New"}`))
	req.SetBasicAuth(m[2], m[3])
	req.Header.Set("Content-Type", "application/json")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusAccepted {
		t.Errorf("update: %v %v, want 202", res, err)
	}
	out, err := stop()
	if err != nil || !strings.Contains(out, "stopped after 1 requests: 1 updates applied (1 changed a number), 0 rate limited, 0 failed on purpose\nnumbers written to "+dump) {
		t.Errorf("stop: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(dump); string(got) != "number,app_id,subaccount,alias,compliance_application_id,compliance_status\n12025551111,222,,New,,accepted\n" {
		t.Errorf("dump = %q", got)
	}
}

func TestRunSandbox_neverPrintsATokenFromTheEnvironment(t *testing.T) {
	const token = "envTokenThatMustNotBePrinted0123456789"
	banner, stop := startSandboxCmd(t, map[string]string{"PLIVO_AUTH_ID": "MA ENV'S", "PLIVO_AUTH_TOKEN": token},
		"--listen", "127.0.0.1:0", "--dump", "-", "--rate-limit", "0", "--fail-rate", "0.05", "--default-app-on-missing")
	out, err := stop()
	if err != nil || strings.Contains(banner+out, token) || !strings.HasSuffix(out, "compliance_status\n") {
		t.Errorf("%v; output shows the token or lacks the (empty) dump:\n%s%s", err, banner, out)
	}
	e2eHas(t, "banner", banner, `PLIVO_AUTH_ID='MA ENV'\''S'`+"\n", "taken from PLIVO_AUTH_TOKEN", "0 numbers; failing 5% of number requests; default app on missing app_id: none\n", "no numbers loaded")
}

func TestRunSandbox_badArgsAreUsageErrors(t *testing.T) {
	here, _ := os.Getwd()
	here += "/"
	for args, want := range map[string]string{
		"--nope":                             "unknown flag --nope",
		"extra":                              "unexpected argument",
		"--listen 0.0.0.0:8089":              "loopback",
		"--listen 127.0.0.1":                 "missing port",
		"--fail-rate 1.5":                    "fail rate",
		"--latency -1s":                      "latency",
		"--rate-limit -1":                    "rate limit",
		"--rate-limit 300/5":                 "window",
		"--subaccounts SA1":                  "subaccounts",
		"--apps 1,,2":                        `application id ""`,
		"--default-app a/b":                  "default app",
		"--numbers /nonexistent/x.csv":       "open numbers file",
		"--numbers HERE/cmd_sandbox_test.go": "read numbers header", // the runner finds a relative one in its directory
	} {
		code, stdout, stderr := runWith(t, append([]string{"sandbox"}, strings.Fields(strings.ReplaceAll(args, "HERE/", here))...)...)
		if code != exitUsage || !strings.Contains(stderr, want) || stdout != "" {
			t.Errorf("sandbox %s: exit %d, stdout %q, stderr %q; want 2 and %q", args, code, stdout, stderr, want)
		}
	}
}

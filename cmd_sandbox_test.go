package main

import (
	"net/http"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startSandboxCmd starts `sandbox args` on r, and returns its banner once
// printed, and stop, which interrupts it and returns the rest of its output
// and its exit code.
func startSandboxCmd(t *testing.T, r *e2eRunner, args ...string) (banner string, stop func() (string, int)) {
	p := r.start(nil, append([]string{"sandbox"}, args...)...)
	e2eWaitFor(t, 10*time.Second, "the banner", func() bool { return strings.Contains(p.stdout.String(), "Serving until interrupted") || p.exited() })
	banner = p.stdout.String()
	return banner, func() (string, int) {
		p.signal(syscall.SIGINT)
		res := p.wait()
		return strings.TrimPrefix(res.stdout, banner), res.code
	}
}

func TestRunSandbox_servesAndDumps(t *testing.T) {
	r := e2eNewRunner(t, nil)
	r.write("numbers.csv", "number,app_id,alias\n12025551111,111,Old\n")
	banner, stop := startSandboxCmd(t, r, "--listen", "127.0.0.1:0", "--numbers", "numbers.csv", "--apps", "222", "--dump", "dump.csv", "--latency", "1ms")
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
	out, code := stop()
	if code != 0 || !strings.Contains(out, "stopped after 1 requests: 1 updates applied (1 changed a number), 0 rate limited, 0 failed on purpose\nnumbers written to "+r.path("dump.csv")) {
		t.Errorf("stop: exit %d\n%s", code, out)
	}
	if got := e2eRead(t, r.path("dump.csv")); got != "number,app_id,subaccount,alias,compliance_application_id,compliance_status\n12025551111,222,,New,,accepted\n" {
		t.Errorf("dump = %q", got)
	}
}

func TestRunSandbox_neverPrintsATokenFromTheEnvironment(t *testing.T) {
	// The runner fails the test if any form of the token is printed.
	r := e2eNewRunner(t, nil).with("PLIVO_AUTH_ID", "MA ENV'S").withToken("MA ENV'S", "tok-envTokenThatMustNotBePrinted0123456789")
	banner, stop := startSandboxCmd(t, r, "--listen", "127.0.0.1:0", "--dump", "-", "--rate-limit", "0", "--fail-rate", "0.05", "--default-app-on-missing")
	if out, code := stop(); code != 0 || !strings.HasSuffix(out, "compliance_status\n") {
		t.Errorf("exit %d; output lacks the (empty) dump:\n%s%s", code, banner, out)
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

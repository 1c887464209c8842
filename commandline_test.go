package main

import (
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// envOf is an environment that holds m only.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// parseInto parses args with the flags of c, as the command line would
// before c runs.
func parseInto(c *cobra.Command, args []string) error {
	if err := c.ParseFlags(args); err != nil {
		return flagError(c, err)
	}
	return nil
}

// checkGolden compares got with testdata/name, which -update rewrites.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		e2eOK(t, os.MkdirAll("testdata", 0o755))
		e2eOK(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	e2eOK(t, err)
	if got != string(want) {
		t.Errorf("output differs from %s (go test -run %s -update rewrites it):\n%s", path, t.Name(), got)
	}
}

// TestHelp_onStdoutForEveryForm: every way of asking for a command's help
// prints the same text on stdout, nothing on stderr, and exits 0.
func TestHelp_onStdoutForEveryForm(t *testing.T) {
	for golden, forms := range map[string][][]string{
		"help-root.txt":       {{"--help"}, {"-h"}, {"help"}},
		"help-run.txt":        {{"help", "run"}, {"run", "-h"}, {"run", "--help"}},
		"help-plan.txt":       {{"help", "plan"}, {"plan", "--help"}},
		"help-export.txt":     {{"help", "export"}, {"export", "-h"}},
		"help-sandbox.txt":    {{"help", "sandbox"}, {"sandbox", "--help"}},
		"help-completion.txt": {{"help", "completion"}, {"completion", "--help"}},
		// These recursed until the stack overflowed.
		"help-help.txt": {{"help", "help"}, {"help", "-h"}, {"help", "--help"}},
	} {
		for _, args := range forms {
			res := e2eNewRunner(t, nil).run(args...)
			if res.code != 0 || res.stderr != "" {
				t.Errorf("%v: exit %d, stderr %q; want 0 and nothing", args, res.code, res.stderr)
			}
			checkGolden(t, golden, res.stdout)
		}
	}
	res := e2eNewRunner(t, nil).run("--help", "--help")
	if res.code != 0 || res.stderr != "" || !strings.HasPrefix(res.stdout, "plivo-bulk changes the settings") {
		t.Errorf("--help --help: exit %d, stderr %q, stdout:\n%s", res.code, res.stderr, res.stdout)
	}
}

// TestHelp_everyFlagInAGroup: a flag added without a group would land
// under "Flags" with --help; flagGroups must name it.
func TestHelp_everyFlagInAGroup(t *testing.T) {
	root := newRootCmd(&sys{getenv: envOf(nil)})
	named := map[string]bool{"help": true}
	for _, g := range flagGroups {
		for _, n := range g[1:] {
			named[n] = true
		}
	}
	for _, c := range root.Commands() {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if !named[f.Name] {
				t.Errorf("%s --%s is in no group of flagGroups", c.Name(), f.Name)
			}
		})
	}
}

// TestCompletion: cobra's completion scripts, and the values they offer.
func TestCompletion(t *testing.T) {
	for shell, first := range map[string]string{
		"bash": "# bash completion V2 for plivo-bulk", "zsh": "#compdef plivo-bulk",
		"fish": "# fish completion for plivo-bulk", "powershell": "# powershell completion for plivo-bulk",
	} {
		res := e2eNewRunner(t, nil).run("completion", shell)
		if res.code != 0 || res.stderr != "" || !strings.HasPrefix(res.stdout, first) {
			t.Errorf("completion %s: exit %d, stderr %q, stdout starts %q", shell, res.code, res.stderr, res.stdout[:min(len(res.stdout), 60)])
		}
	}
	for _, tt := range []struct {
		args         []string
		stdout, want string
	}{
		{[]string{"run", "--read", ""}, "auto\npage\neach\n:4\n", "Completion ended with directive: ShellCompDirectiveNoFileComp\n"},
		{[]string{"run", "--log-format", ""}, "text\njson\n:4\n", "Completion ended with directive: ShellCompDirectiveNoFileComp\n"},
		{[]string{"export", "--re"}, ":4\n", "Completion ended with directive: ShellCompDirectiveNoFileComp\n"},
		{[]string{"pl"}, "plan\tshow what run would change (reads only)\n:4\n", "Completion ended with directive: ShellCompDirectiveNoFileComp\n"},
	} {
		res := e2eNewRunner(t, nil).run(append([]string{"__complete"}, tt.args...)...)
		if res.code != 0 || res.stdout != tt.stdout || res.stderr != tt.want {
			t.Errorf("__complete %q: exit %d\nstdout %q, want %q\nstderr %q, want %q", tt.args, res.code, res.stdout, tt.stdout, res.stderr, tt.want)
		}
	}
}

// TestCommandLine_errors: a mistyped flag or command gets one line with a
// hint, nothing on stdout, and exit 2, before anything is read or sent.
func TestCommandLine_errors(t *testing.T) {
	for _, tt := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"run", "--rat", "5"}, "plivo-bulk: run: unknown flag --rat: did you mean --rate? (see 'plivo-bulk run --help')\n"},
		{[]string{"run", "--dryrun"}, "plivo-bulk: run: unknown flag --dryrun: did you mean --dry-run? (see 'plivo-bulk run --help')\n"},
		{[]string{"plan", "--out", "p.csv"}, "plivo-bulk: plan: unknown flag --out: did you mean --output? (see 'plivo-bulk plan --help')\n"},
		{[]string{"run", "-rate", "5"}, "plivo-bulk: run: unknown flag -rate: did you mean --rate? (see 'plivo-bulk run --help')\n"},
		{[]string{"export", "--input", "x.csv"}, "plivo-bulk: export: unknown flag --input (see 'plivo-bulk export --help')\n"},
		{[]string{"sandbox", "--rate", "5"}, "plivo-bulk: sandbox: unknown flag --rate: did you mean --rate-limit? (see 'plivo-bulk sandbox --help')\n"},
		{[]string{"rn"}, "plivo-bulk: unknown command \"rn\": did you mean run? (see 'plivo-bulk --help')\n"},
		{[]string{"help", "exprt"}, "plivo-bulk: unknown command \"exprt\": did you mean export? (see 'plivo-bulk --help')\n"},
		{[]string{"frobnicate"}, "plivo-bulk: unknown command \"frobnicate\" (see 'plivo-bulk --help')\n"},
		{nil, "plivo-bulk: no command given: see 'plivo-bulk --help'\n"},
		{[]string{"--versoin"}, "plivo-bulk: unknown flag --versoin: did you mean --version? (see 'plivo-bulk --help')\n"},
		{[]string{"run", "--rate", "fast"}, "plivo-bulk: run: --rate \"fast\": want a number\n"},
		{[]string{"run", "--max-failures", "0"}, "plivo-bulk: run: --max-failures \"0\": want a number of rows (1 or more) or a percentage, as in 5%\n"},
		// NaN% would be a budget that never stops the run.
		{[]string{"run", "--max-failures", "NaN%"}, "plivo-bulk: run: --max-failures \"NaN%\": want a percentage above 0 and at most 100, as in 5%\n"},
		{[]string{"run", "--max-failures", "101%"}, "plivo-bulk: run: --max-failures \"101%\": want a percentage above 0 and at most 100, as in 5%\n"},
		{[]string{"export", "--output", "x.csv", "--prefix", "+1415"}, "plivo-bulk: export: --prefix \"+1415\": want the digits a number starts with, country code first, without +\n"},
		{[]string{"run", "--input", "in.csv", "extra"}, "plivo-bulk: run: unexpected argument \"extra\" (flags start with --)\n"},
		{[]string{"run", "--report", "r.csv"}, "plivo-bulk: run: --input is required\n"},
		{[]string{"run", "--input", "x.csv"}, "plivo-bulk: run: --report is required\n"},
		{[]string{"plan", "--input", "x.csv"}, "plivo-bulk: plan: --output is required\n"},
		{[]string{"export"}, "plivo-bulk: export: --output is required\n"},
		{[]string{"run", "--input", "-", "--report", "-"}, "plivo-bulk: run: --input and --report cannot both be standard streams\n"},
		{[]string{"plan", "--input", "-", "--output", "-"}, "plivo-bulk: plan: --input and --output cannot both be standard streams\n"},
		{[]string{"completion", "bsh"}, "plivo-bulk: unknown command \"bsh\": did you mean bash? (see 'plivo-bulk completion --help')\n"},
		{[]string{"completion"}, "plivo-bulk: completion: name a shell: bash, zsh, fish or powershell\n"},
	} {
		res := e2eNewRunner(t, nil).run(tt.args...)
		if res.code != exitUsage || res.stdout != "" || res.stderr != tt.stderr {
			t.Errorf("%q: exit %d, stdout %q\nstderr %q\nwant   %q", tt.args, res.code, res.stdout, res.stderr, tt.stderr)
		}
	}
}

// TestCommandLine_jsonErrors: with --log-format json every stderr line is
// a JSON record from the first, and an error that ends the run with exit 2
// is at level ERROR.
func TestCommandLine_jsonErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.csv")
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"run", "--log-format", "json", "--rat", "5"}, "run: unknown flag --rat: did you mean --rate? (see 'plivo-bulk run --help')"},
		{[]string{"plan", "--log-format=json", "--input", missing, "--output", "-"}, "missing credentials: set PLIVO_AUTH_ID (or --auth-id) and PLIVO_AUTH_TOKEN (or PLIVO_AUTH_TOKEN_FILE); or try --sandbox (no account needed) or --dry-run"},
		{[]string{"run", "--log-format", "json", "--sandbox", "--input", missing, "--report", "-"}, missing + ": cannot open: no such file or directory"},
	} {
		res := e2eNewRunner(t, nil).run(tt.args...)
		lines := e2eJSONLogs(res.stderr)
		if res.code != exitUsage || res.stdout != "" || len(lines) == 0 {
			t.Fatalf("%q: exit %d, stdout %q, stderr:\n%s", tt.args, res.code, res.stdout, res.stderr)
		}
		last := lines[len(lines)-1]
		if strings.Count(res.stderr, "\n") != len(lines) || last["level"] != "ERROR" || last["exit_code"] != 2.0 || !strings.Contains(last["msg"].(string), tt.msg) {
			t.Errorf("%q: stderr:\n%s\nwant JSON lines only, the last at ERROR with exit_code 2 and %q", tt.args, res.stderr, tt.msg)
		}
	}
}

// TestRun_usageErrors: missing credentials, a token file that cannot be
// used, bad flags and input files that cannot be used stop the run with exit
// code 2 before anything is sent, with a message that says what to fix and
// never a token. In-process: the environment is passed to run.
func TestRun_usageErrors(t *testing.T) {
	t.Parallel()
	good := "number,app_id\n12025550601," + e2eAppA + "\n"
	// tokenFile sets PLIVO_AUTH_TOKEN to env and PLIVO_AUTH_TOKEN_FILE to
	// tf, where it writes content: nothing when nil, a directory when "/".
	tokenFile := func(content *string, env string) func(*e2eRunner, string) *e2eRunner {
		return func(r *e2eRunner, tf string) *e2eRunner {
			if content != nil && *content == "/" {
				_ = os.Mkdir(tf, 0o700) // opens, but cannot be read
			} else if content != nil {
				_ = os.WriteFile(tf, []byte(*content), 0o400)
				if len(*content) > 1 { // never shown either (e2eProc.check)
					r.secrets = append(r.secrets, strings.TrimSpace((*content)[:20]))
				}
			}
			return r.with("PLIVO_AUTH_TOKEN", env).with("PLIVO_AUTH_TOKEN_FILE", tf)
		}
	}
	const envToken = "tokenInTheEnvironment0123456789"
	tests := []struct {
		name    string
		content *string // input; nil: no input file at all
		env     func(r *e2eRunner, tokenFile string) *e2eRunner
		extra   []string
		want    []string // in stderr; "FILE" stands for the input's path
	}{
		// The messages for each kind of bad file are batch/input's
		// (TestOpen_badFiles), for a bad URL the client's (TestNew_refuses).
		{name: "no auth id", content: &good, env: func(r *e2eRunner, _ string) *e2eRunner { return r.without("PLIVO_AUTH_ID") },
			want: []string{"missing credentials", "PLIVO_AUTH_ID"}},
		{name: "empty token", content: &good, env: func(r *e2eRunner, _ string) *e2eRunner { return r.with("PLIVO_AUTH_TOKEN", "") },
			want: []string{"missing credentials", "PLIVO_AUTH_TOKEN"}},
		{name: "token file missing", content: &good, env: tokenFile(nil, ""), want: []string{"no such file"}},
		{name: "token file a directory", content: &good, env: tokenFile(e2ePtr("/"), ""), want: []string{"is a directory"}},
		{name: "token file empty", content: &good, env: tokenFile(e2ePtr(""), ""), want: []string{"empty"}},
		{name: "token file a newline only", content: &good, env: tokenFile(e2ePtr("\n"), ""), want: []string{"empty"}},
		{name: "token file different from PLIVO_AUTH_TOKEN", content: &good, env: tokenFile(e2ePtr("tokenInTheFile0123456789\n"), envToken), want: []string{"different"}},
		{name: "token file missing though PLIVO_AUTH_TOKEN is set", content: &good, env: tokenFile(nil, envToken), want: []string{"no such file"}},
		{name: "token file far too long", content: &good, env: tokenFile(e2ePtr(strings.Repeat("x", 5000)), ""), want: []string{"longer than"}},
		{name: "resume and force", content: &good, extra: []string{"--resume", "--force"}, want: []string{"--resume and --force"}},
		{name: "missing file", want: []string{"FILE", "cannot open", "no such file"}},
		{name: "unknown column", content: e2ePtr("number,app_ip\n12025550601,1\n"), want: []string{"FILE", "line 1", `unknown column "app_ip"`, `did you mean "app_id"`}},
		{name: "cell over 64 KiB", content: e2ePtr("number,alias\n12025550601," + strings.Repeat("x", 70<<10) + "\n"),
			want: []string{"FILE", "line 2: column 2 (alias) is longer than 64 KiB"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx, r := e2eStartFixture(t, sandbox.Config{}, e2eNumbers("12025550601")...)
			tf := filepath.Join(t.TempDir(), "token") // outside the runner's directory, which check reads
			if tt.env != nil {
				r = tt.env(r, tf)
			}
			input := r.path("numbers.csv")
			if tt.content != nil {
				r.write("numbers.csv", *tt.content)
			}
			argvs, want := [][]string{e2eRun(input, "report.csv", append(tt.extra, "--rate", "0")...)}, tt.want
			if strings.HasPrefix(tt.name, "token file") {
				// An address the sandbox refuses: were the token not checked
				// first, it would say so, not serve until the test times out.
				argvs, want = append(argvs, []string{"sandbox", "--listen", "192.0.2.1:0"}), append(want, "PLIVO_AUTH_TOKEN_FILE", tf)
			}
			for _, argv := range argvs {
				res := r.run(argv...)
				e2eExit(t, argv[0], res, exitUsage)
				for _, w := range want {
					e2eHas(t, "stderr", res.stderr, map[string]string{"FILE": input}[w]+strings.TrimPrefix(w, "FILE"))
				}
			}
			if _, err := os.Stat(r.path("report.csv")); err == nil {
				t.Errorf("a report was created")
			}
			if n := fx.requests(); n != 0 {
				t.Errorf("%d requests reached the server, want none", n)
			}
		})
	}
}

func e2ePtr[T any](v T) *T { return &v }

// TestRun_outputsNeverTheInput: an output that is the input, or another
// output, by another path is refused, even with --force, and nothing is
// touched (the ways a path can name a file: report's TestCheckDistinct).
// In-process: paths are absolute, spelled as a user would.
func TestRun_outputsNeverTheInput(t *testing.T) {
	t.Parallel()
	for _, flags := range [][]string{
		{"--report", "./numbers.csv", "--force"},
		{"--report", "report.csv", "--undo", "./numbers.csv"},
		{"--report", "report.csv", "--summary", "./numbers.csv"},
		{"--report", "out.csv", "--undo", "./sub/../out.csv", "--force"},
	} {
		t.Run(strings.Join(flags, " "), func(t *testing.T) {
			t.Parallel()
			fx, r, input, _ := e2eMoveAll(t, sandbox.Config{}, 1900, 2, e2eAppA)
			content, out := e2eRead(t, input), r.write("out.csv", "precious\n")
			e2eOK(t, os.Mkdir(r.path("sub"), 0o700))
			flags := slices.Clone(flags)
			for i, f := range flags {
				if !strings.HasPrefix(f, "--") {
					flags[i] = r.dir + "/" + f // as typed: ./x and sub/../x stay unclean
				}
			}
			e2eExit(t, "run", r.run(slices.Concat([]string{"run", "--input", input, "--rate", "0"}, e2eFastRetries, flags)...), exitUsage)
			if got := e2eRead(t, input); got != content {
				t.Errorf("the input changed to %q", got)
			}
			if got := e2eRead(t, out); got != "precious\n" {
				t.Errorf("out.csv changed to %q", got)
			}
			if n := fx.requests(); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	res := e2eNewRunner(t, nil).run("version")
	if res.code != 0 || !strings.HasPrefix(res.stdout, "plivo-bulk ") || !strings.Contains(res.stdout, "commit ") || !strings.Contains(res.stdout, "go1.") {
		t.Errorf("version: exit %d, %q", res.code, res.stdout)
	}
}

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
		"--numbers HERE/commandline_test.go": "read numbers header", // the runner finds a relative one in its directory
	} {
		res := e2eNewRunner(t, nil).run(append([]string{"sandbox"}, strings.Fields(strings.ReplaceAll(args, "HERE/", here))...)...)
		if res.code != exitUsage || !strings.Contains(res.stderr, want) || res.stdout != "" {
			t.Errorf("sandbox %s: exit %d, stdout %q, stderr %q; want 2 and %q", args, res.code, res.stdout, res.stderr, want)
		}
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
	"github.com/spf13/cobra"
)

const sandboxLong = `Serve an in-memory stand-in for Plivo's Number API on a loopback address, to
try plivo-bulk without touching a real account. The sandbox prints the
environment that points plivo-bulk at it, serves until interrupted (Ctrl-C),
then prints what it served.

It uses the credentials in PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN (or
PLIVO_AUTH_TOKEN_FILE) when they are set, and makes up others when they are not. It never prints a token taken
from the environment.

By default it enforces Plivo's documented rate limit, 300 requests per 5
seconds (--rate-limit 300/5s): a bucket of 300 that refills at 60 a second,
counting every request on the account, list and reads included. Its 429
answers carry no Retry-After, as Plivo documents none. --rate-limit changes
it (N or N/WINDOW; 0 is unlimited); --fail-rate and --latency make the
number requests unreliable and slow.

The --numbers file is a CSV with a header naming some of the columns
number,app_id,subaccount,alias,compliance_application_id,compliance_status
(number is required; numbers in E.164 without '+'). The applications and
subaccounts it names are created; --dump writes the same format.`

const sandboxExample = `  # An account with the numbers of a CSV and one more application
  plivo-bulk sandbox --numbers numbers.csv --apps 20372631212782780

  # An unreliable, slow network
  plivo-bulk sandbox --numbers numbers.csv --fail-rate 0.05 --latency 80ms

  # Plivo's documented default-app rule, and the state kept at the end
  plivo-bulk sandbox --numbers numbers.csv --default-app-on-missing \
      --default-app 20372631212782780 --dump after.csv`

// sandboxShutdownTimeout bounds how long the sandbox waits for requests in
// flight once interrupted.
const sandboxShutdownTimeout = 5 * time.Second

// sandboxListFlag is a comma-separated list flag that may also be repeated.
type sandboxListFlag []string

func (l *sandboxListFlag) String() string { return strings.Join(*l, ",") }

func (l *sandboxListFlag) Type() string { return "list" }

func (l *sandboxListFlag) Set(v string) error {
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return errors.New("empty item in list")
		}
		*l = append(*l, item)
	}
	return nil
}

// sandboxOptions are the flags of `plivo-bulk sandbox`.
type sandboxOptions struct {
	listen      string
	numbers     string
	apps        sandboxListFlag
	subaccounts sandboxListFlag
	dump        string
	rate        sandbox.Rate
	cfg         sandbox.Config
}

// newSandboxCmd binds the flags of sandbox to o.
func newSandboxCmd(s *sys, o *sandboxOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "sandbox",
		Short:   "serve a stand-in for Plivo's Number API",
		Long:    sandboxLong,
		Example: sandboxExample,
		Args:    noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			token, err := authToken(s.stop, s.getenv)
			if err != nil {
				return err
			}
			o.cfg.AuthID, o.cfg.AuthToken = s.getenv("PLIVO_AUTH_ID"), token
			if err := o.check(); err != nil {
				return err
			}
			return sandboxCmd(withStop(c.Context(), s.stop), *o, s.stdout)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8089", "serve on `HOST:PORT`, a loopback address (port 0 picks a free one)")
	fs.StringVar(&o.numbers, "numbers", "", "load the account's numbers from CSV `FILE`")
	fs.Var(&o.apps, "apps", "create the applications with these `IDS` (comma-separated)")
	fs.Var(&o.subaccounts, "subaccounts", "create the subaccounts with these auth `IDS` (comma-separated; SA and 18 upper-case letters or digits)")
	o.rate = sandbox.PlivoLimit
	fs.Var(value{&o.rate, "rate"}, "rate-limit", "the account's rate limit: `N[/WINDOW]` requests, a second unless a WINDOW is given, as in 300/5s or 1000/1m; 0 is unlimited")
	fs.Float64Var(&o.cfg.FailRate, "fail-rate", 0, "answer this `FRACTION` of number requests 500, 502 or 503, without applying them")
	fs.DurationVar(&o.cfg.Latency, "latency", 0, "delay every number request by `DURATION`")
	fs.BoolVar(&o.cfg.DefaultAppOnMissing, "default-app-on-missing", false, "assign the default app to numbers updated without app_id, as Plivo documents")
	fs.StringVar(&o.cfg.DefaultApp, "default-app", "", "the account's default_number_app `ID`; created if needed")
	fs.StringVar(&o.dump, "dump", "", "when stopped, write the numbers as CSV to `FILE` (- for stdout)")
	return cmd
}

// check validates the flags before any work.
func (o *sandboxOptions) check() error {
	if err := sandbox.CheckListenAddr(o.listen); err != nil {
		return usagef("sandbox: --listen: %w", err)
	}
	for _, id := range o.apps {
		if !sandbox.ValidAppID(id) {
			return usagef("sandbox: --apps: application id %q: want letters, digits, '.', '_' or '-'", id)
		}
	}
	for _, id := range o.subaccounts {
		if !sandbox.ValidSubaccountID(id) {
			return usagef("sandbox: --subaccounts: %q: want SA and 18 upper-case letters or digits", id)
		}
	}
	o.cfg.RateLimit, o.cfg.RateWindow = o.rate.Limit, o.rate.Window
	if err := o.cfg.Validate(); err != nil {
		return usagef("sandbox: %w", err)
	}
	return nil
}

// sandboxCmd runs `plivo-bulk sandbox`: it serves a sandbox until ctx is
// done, then prints its stats and, with --dump, its state.
func sandboxCmd(ctx context.Context, o sandboxOptions, stdout io.Writer) (err error) {
	var numbers []sandbox.Number
	if o.numbers != "" {
		if numbers, err = loadSandboxNumbers(o.numbers); err != nil {
			return usagef("sandbox: %w", err)
		}
	}

	tokenFromEnv := o.cfg.AuthToken != ""
	s := sandbox.New(o.cfg)
	for _, id := range o.apps {
		s.AddApplication(id, "App "+id)
	}
	for _, id := range o.subaccounts {
		s.AddSubaccount(id, "Subaccount "+id)
	}
	s.SeedNumbers(numbers)
	cfg := s.Config()

	baseURL, stop, err := sandbox.Start(s, o.listen)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	printSandboxBanner(stdout, baseURL, cfg, tokenFromEnv, len(numbers))

	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sandboxShutdownTimeout)
	defer cancel()
	stopErr := stop(stopCtx)
	printSandboxStats(stdout, s.Stats())
	if stopErr != nil {
		stopErr = fmt.Errorf("sandbox: stop server: %w", stopErr)
	}
	if o.dump != "" {
		if err := dumpSandbox(s, o.dump, stdout); err != nil {
			return errors.Join(stopErr, fmt.Errorf("sandbox: %w", err))
		}
	}
	return stopErr
}

func loadSandboxNumbers(path string) ([]sandbox.Number, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open numbers file: %w", err)
	}
	defer f.Close()
	ns, err := sandbox.LoadNumbers(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ns, nil
}

// printSandboxBanner tells how to point plivo-bulk at the sandbox. It
// prints a generated token, which guards nothing but the sandbox, and never
// one taken from the environment.
func printSandboxBanner(w io.Writer, baseURL string, cfg sandbox.Config, tokenFromEnv bool, numbers int) {
	fmt.Fprintf(w, "plivo-bulk sandbox: serving Plivo's Number API on %s\n", baseURL)
	fmt.Fprintf(w, "account %s with %d numbers", cfg.AuthID, numbers)
	if cfg.RateLimit > 0 {
		fmt.Fprintf(w, "; rate limit %s", sandbox.Rate{Limit: cfg.RateLimit, Window: cfg.RateWindow})
	}
	if cfg.FailRate > 0 {
		fmt.Fprintf(w, "; failing %g%% of number requests", cfg.FailRate*100)
	}
	if cfg.Latency > 0 {
		fmt.Fprintf(w, "; latency %v", cfg.Latency)
	}
	if cfg.DefaultAppOnMissing {
		app := cfg.DefaultApp
		if app == "" {
			app = "none"
		}
		fmt.Fprintf(w, "; default app on missing app_id: %s", app)
	}
	fmt.Fprintln(w)
	if numbers == 0 {
		fmt.Fprintln(w, "no numbers loaded: every update will answer 404 (see --numbers)")
	}

	fmt.Fprintln(w, "\nPoint plivo-bulk at it with:")
	exports := "  export PLIVO_API_URL=" + sandboxShellQuote(baseURL) + " PLIVO_AUTH_ID=" + sandboxShellQuote(cfg.AuthID)
	if tokenFromEnv {
		fmt.Fprintln(w, exports)
		fmt.Fprintln(w, "  (the auth token was taken from PLIVO_AUTH_TOKEN or PLIVO_AUTH_TOKEN_FILE; keep it set)")
	} else {
		fmt.Fprintln(w, exports+" PLIVO_AUTH_TOKEN="+sandboxShellQuote(cfg.AuthToken))
	}
	fmt.Fprintln(w, "\nServing until interrupted (Ctrl-C).")
}

// sandboxShellQuote quotes s for a POSIX shell when it needs it.
func sandboxShellQuote(s string) string {
	safe := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@%+=,[]", r))
	}) < 0
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func printSandboxStats(w io.Writer, st sandbox.Stats) {
	fmt.Fprintf(w, "\nplivo-bulk sandbox: stopped after %d requests: %d updates applied (%d changed a number), %d rate limited, %d failed on purpose\n",
		st.Requests, st.Updates, st.Changes, st.RateLimited, st.Faults)
}

// dumpSandbox writes the sandbox's numbers to path, or to stdout for "-".
func dumpSandbox(s *sandbox.Server, path string, stdout io.Writer) error {
	if path == "-" {
		return s.Dump(stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create dump file: %w", err)
	}
	if err := s.Dump(f); err != nil {
		f.Close()
		return fmt.Errorf("dump to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close dump file %s: %w", path, err)
	}
	fmt.Fprintf(stdout, "numbers written to %s\n", path)
	return nil
}

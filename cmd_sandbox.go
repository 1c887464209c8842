package main

import (
	"cmp"
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
rehearse without a real account, until interrupted (Ctrl-C). It prints the
environment that points plivo-bulk at it, with the credentials in PLIVO_AUTH_ID
and PLIVO_AUTH_TOKEN (or PLIVO_AUTH_TOKEN_FILE) when set, never printing that
token, else its own. By default it enforces Plivo's documented limit, 300
requests per 5 s, its 429s without Retry-After. --numbers and --dump read and
write CSV with the columns
number,app_id,subaccount,alias,compliance_application_id,compliance_status.`

const sandboxExample = `  plivo-bulk sandbox --numbers numbers.csv --apps 20372631212782780
  plivo-bulk sandbox --numbers numbers.csv --fail-rate 0.05 --latency 80ms --dump after.csv`

// sandboxOptions are the flags of `plivo-bulk sandbox`.
type sandboxOptions struct {
	listen, numbers, dump string
	apps, subaccounts     []string
	cfg                   sandbox.Config
}

// newSandboxCmd binds the flags of sandbox to o.
func newSandboxCmd(s *sys, o *sandboxOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "sandbox", Short: "serve a stand-in for Plivo's Number API", Long: sandboxLong, Example: sandboxExample, Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			token, err := authToken(s.stop, s.getenv)
			if err != nil {
				return err
			}
			o.cfg.AuthID, o.cfg.AuthToken = s.getenv("PLIVO_AUTH_ID"), token
			return sandboxCmd(withStop(c.Context(), s.stop), *o, s.stdout)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8089", "serve on `HOST:PORT`, a loopback address (port 0 picks a free one)")
	fs.StringVar(&o.numbers, "numbers", "", "load the account's numbers from CSV `FILE`")
	fs.StringSliceVar(&o.apps, "apps", nil, "create the applications with these `IDS` (comma-separated)")
	fs.StringSliceVar(&o.subaccounts, "subaccounts", nil, "create the subaccounts with these auth `IDS` (comma-separated; SA and 18 upper-case letters or digits)")
	o.cfg.Rate = sandbox.PlivoLimit
	fs.Var(value{&o.cfg.Rate, "rate"}, "rate-limit", "the account's rate limit: `N[/WINDOW]` requests, a second unless a WINDOW is given, as in 300/5s or 1000/1m; 0 is unlimited")
	fs.Float64Var(&o.cfg.FailRate, "fail-rate", 0, "answer this `FRACTION` of number requests 500, 502 or 503, without applying them")
	fs.DurationVar(&o.cfg.Latency, "latency", 0, "delay every number request by `DURATION`")
	fs.BoolVar(&o.cfg.DefaultAppOnMissing, "default-app-on-missing", false, "assign the default app to numbers updated without app_id, as Plivo documents")
	fs.StringVar(&o.cfg.DefaultApp, "default-app", "", "the account's default_number_app `ID`; created if needed")
	fs.StringVar(&o.dump, "dump", "", "when stopped, write the numbers as CSV to `FILE` (- for stdout)")
	return cmd
}

// sandboxCmd serves a sandbox until ctx is done, then prints its stats and --dump's numbers.
func sandboxCmd(ctx context.Context, o sandboxOptions, stdout io.Writer) error {
	s := sandbox.New(o.cfg) // not served before every check passes
	errs := []error{o.cfg.Validate(), sandbox.CheckListenAddr(o.listen)}
	for _, id := range o.apps {
		if !sandbox.ValidAppID(id) {
			errs = append(errs, fmt.Errorf("--apps: application id %q: want letters, digits, '.', '_' or '-'", id))
		}
		s.AddApplication(id, "App "+id)
	}
	for _, id := range o.subaccounts {
		if !sandbox.ValidSubaccountID(id) {
			errs = append(errs, fmt.Errorf("--subaccounts: %q: want SA and 18 upper-case letters or digits", id))
		}
		s.AddSubaccount(id, "Subaccount "+id)
	}
	if err := errors.Join(errs...); err != nil {
		return usagef("sandbox: %w", err)
	}
	var numbers []sandbox.Number
	if o.numbers != "" {
		f, err := os.Open(o.numbers)
		if err != nil {
			return usagef("sandbox: open numbers file: %w", err)
		}
		defer f.Close()
		if numbers, err = sandbox.LoadNumbers(f); err != nil {
			return usagef("sandbox: %s: %w", o.numbers, err)
		}
	}
	s.AddNumber(numbers...)
	baseURL, stop, err := sandbox.Start(s, o.listen)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	cfg := s.Config()
	fmt.Fprintf(stdout, "plivo-bulk sandbox: serving Plivo's Number API on %s\naccount %s with %d numbers", baseURL, cfg.AuthID, len(numbers))
	if cfg.Rate.Limit > 0 {
		fmt.Fprintf(stdout, "; rate limit %s", cfg.Rate)
	}
	if cfg.FailRate > 0 {
		fmt.Fprintf(stdout, "; failing %g%% of number requests", cfg.FailRate*100)
	}
	if cfg.Latency > 0 {
		fmt.Fprintf(stdout, "; latency %v", cfg.Latency)
	}
	if cfg.DefaultAppOnMissing {
		fmt.Fprintf(stdout, "; default app on missing app_id: %s", cmp.Or(cfg.DefaultApp, "none"))
	}
	if len(numbers) == 0 {
		fmt.Fprint(stdout, "\nno numbers loaded: every update will answer 404 (see --numbers)")
	}
	exports := "export PLIVO_API_URL=" + sandboxShellQuote(baseURL) + " PLIVO_AUTH_ID=" + sandboxShellQuote(cfg.AuthID)
	if o.cfg.AuthToken != "" { // from the environment: never printed
		exports += "\n  (the auth token was taken from PLIVO_AUTH_TOKEN or PLIVO_AUTH_TOKEN_FILE; keep it set)"
	} else {
		exports += " PLIVO_AUTH_TOKEN=" + sandboxShellQuote(cfg.AuthToken)
	}
	fmt.Fprintf(stdout, "\n\nPoint plivo-bulk at it with:\n  %s\n\nServing until interrupted (Ctrl-C).\n", exports)

	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second) // for requests in flight
	defer cancel()
	if err = stop(stopCtx); err != nil {
		err = fmt.Errorf("sandbox: stop server: %w", err)
	}
	st := s.Stats()
	fmt.Fprintf(stdout, "\nplivo-bulk sandbox: stopped after %d requests: %d updates applied (%d changed a number), %d rate limited, %d failed on purpose\n",
		st.Requests, st.Updates, st.Changes, st.RateLimited, st.Faults)
	if o.dump == "-" { // an *os.File's errors name it
		return errors.Join(err, s.Dump(stdout))
	} else if o.dump != "" {
		f, derr := os.Create(o.dump)
		if derr == nil {
			derr = errors.Join(s.Dump(f), f.Close())
		}
		if derr != nil {
			return errors.Join(err, fmt.Errorf("sandbox: dump to %s: %w", o.dump, derr))
		}
		fmt.Fprintf(stdout, "numbers written to %s\n", o.dump)
	}
	return err
}

// sandboxShellQuote quotes s for a POSIX shell when it needs it.
func sandboxShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@%+=,[]") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

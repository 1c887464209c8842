package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/batch/input"
	"github.com/plivo-bulk/plivo-bulk/client"
	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// common holds the flags that run and plan share: the input, the pacing and
// retries, the API and credentials, and the output on stderr.
type common struct {
	input           string
	rate            float64
	concurrency     int
	maxAttempts     int
	timeout         time.Duration
	backoffBase     time.Duration
	backoffMax      time.Duration
	adaptive        bool
	apiURL, authID  string
	progress        string
	logFormat       string
	force           bool
	sandbox         bool
	sandboxRate     sandbox.Rate
	sandboxFailRate float64
	sandboxDefApp   bool
	logEvery        time.Duration
	summary         string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.input, "input", "", "input CSV `file` (- for standard input)")
	fs.Float64Var(&c.rate, "rate", batch.DefaultRate, "requests per `second` for the whole run, retries and reads included (0 = no client-side limit)")
	fs.IntVar(&c.concurrency, "concurrency", 0, "most requests in flight (0 = grow with the observed latency, up to 5 s worth of --rate)")
	fs.IntVar(&c.maxAttempts, "max-attempts", batch.DefaultMaxAttempts, "attempts per row, the first included")
	fs.DurationVar(&c.timeout, "timeout", client.DefaultTimeout, "time limit of one request")
	fs.DurationVar(&c.backoffBase, "backoff-base", batch.DefaultBackoffBase, "first retry waits up to this long (doubling each time, with jitter)")
	fs.DurationVar(&c.backoffMax, "backoff-max", batch.DefaultBackoffMax, "longest wait between two attempts")
	fs.BoolVar(&c.adaptive, "adaptive", true, "slow down when the API answers 429, then probe back up toward --rate")
	fs.StringVar(&c.apiURL, "api-url", envOr("PLIVO_API_URL", client.DefaultBaseURL), "API root `URL` (env PLIVO_API_URL)")
	fs.StringVar(&c.authID, "auth-id", os.Getenv("PLIVO_AUTH_ID"), "account auth `id` (env PLIVO_AUTH_ID); the token comes from PLIVO_AUTH_TOKEN only")
	fs.StringVar(&c.progress, "progress", "auto", "progress bar: auto (when stderr is a terminal), always or never")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format on stderr: text or json")
	fs.DurationVar(&c.logEvery, "log-every", 10*time.Second, "without a progress bar, log the progress this often (0 = never)")
	fs.StringVar(&c.summary, "summary", "", "also write the summary as JSON to this `file` (counts, elapsed, rate, exit code)")
	fs.BoolVar(&c.force, "force", false, "replace existing output files")
	fs.BoolVar(&c.sandbox, "sandbox", false, "work against a built-in sandbox seeded with the input's numbers (no credentials, no network)")
	fs.Var(&c.sandboxRate, "sandbox-rate-limit", "with --sandbox: the sandbox's own rate limit, `N[/window]`: N requests per second, or per window as in 300/5s (0 = none)")
	fs.Float64Var(&c.sandboxFailRate, "sandbox-fail-rate", 0, "with --sandbox: fraction of requests the sandbox answers with a 5xx")
	fs.BoolVar(&c.sandboxDefApp, "sandbox-default-app", true, "with --sandbox: an update without app_id moves the number to the account's default app, as Plivo's documentation says")
}

func (c *common) validate(cmd string) error {
	switch {
	case c.input == "":
		return usagef("%s: --input is required", cmd)
	case c.rate < 0 || math.IsNaN(c.rate) || math.IsInf(c.rate, 0):
		return usagef("%s: --rate %v: must be 0 (no limit) or more", cmd, c.rate)
	case c.concurrency < 0:
		return usagef("%s: --concurrency %d: must be 0 (automatic) or more", cmd, c.concurrency)
	case c.maxAttempts < 1:
		return usagef("%s: --max-attempts %d: must be at least 1", cmd, c.maxAttempts)
	case c.timeout <= 0:
		return usagef("%s: --timeout %v: must be more than 0", cmd, c.timeout)
	case c.backoffBase <= 0 || c.backoffMax < c.backoffBase:
		return usagef("%s: --backoff-base must be more than 0 and at most --backoff-max", cmd)
	case c.logEvery < 0:
		return usagef("%s: --log-every %v: must be 0 (never) or more", cmd, c.logEvery)
	case (c.sandboxRate.Limit != 0 || c.sandboxFailRate != 0) && !c.sandbox:
		return usagef("%s: --sandbox-rate-limit and --sandbox-fail-rate need --sandbox", cmd)
	}
	switch c.progress {
	case "auto", "always", "never":
	default:
		return usagef("%s: --progress %q: want auto, always or never", cmd, c.progress)
	}
	switch c.logFormat {
	case "text", "json":
	default:
		return usagef("%s: --log-format %q: want text or json", cmd, c.logFormat)
	}
	return nil
}

// parseFlags parses args into fs and checks that nothing is left over.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err: err}
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q (flags start with --)", fs.Name(), fs.Arg(0))
	}
	return nil
}

// poolConfig is the worker pool's configuration from the flags.
func (c *common) poolConfig(stop <-chan struct{}) batch.Config {
	return batch.Config{
		Rate:        c.rate,
		Concurrency: c.concurrency,
		MaxAttempts: c.maxAttempts,
		BackoffBase: c.backoffBase,
		BackoffMax:  c.backoffMax,
		Adaptive:    c.adaptive,
		Stop:        stop,
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func newLogger(format string, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// session is what run and plan set up before their first request: a
// checked input, the API to talk to (Plivo or the sandbox) and a client.
type session struct {
	log      *slog.Logger
	in       *input.Input
	cl       *client.Client
	apiURL   string
	authID   string
	cleanups []func()

	mu   sync.Mutex
	prog *progress     // the progress bar to erase at a stop; guarded by mu
	done chan struct{} // closed when the command ends
}

// watchStop tells, at the first signal, what happens next, after erasing
// the progress bar if one is drawn (setProgress).
func (s *session) watchStop(stop <-chan struct{}, what string) {
	s.done = make(chan struct{})
	go func() {
		select {
		case <-stop:
		case <-s.done:
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.prog != nil {
			s.prog.stopBar()
		}
		s.log.Warn("interrupted: " + what + " (press Ctrl-C again to stop at once)")
	}()
}

func (s *session) setProgress(p *progress) {
	s.mu.Lock()
	s.prog = p
	s.mu.Unlock()
}

func (s *session) close() {
	if s.done != nil {
		close(s.done)
	}
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		s.cleanups[i]()
	}
}

// checkCredentials fails, before anything is read, when credentials are
// missing (the sandbox needs none).
func (c *common) checkCredentials() error {
	if c.sandbox {
		return nil
	}
	var missing []string
	if c.authID == "" {
		missing = append(missing, "PLIVO_AUTH_ID (or --auth-id)")
	}
	if os.Getenv("PLIVO_AUTH_TOKEN") == "" {
		missing = append(missing, "PLIVO_AUTH_TOKEN")
	}
	if len(missing) > 0 {
		return usagef("missing credentials: set %s; or try --sandbox (no account needed) or --dry-run", strings.Join(missing, " and "))
	}
	return nil
}

// openInput checks the whole input before anything is sent; ctx ends its
// waits (a FIFO without a writer, a stalled producer on standard input).
func (c *common) openInput(ctx context.Context, s *session) error {
	in, err := input.Open(ctx, c.input, os.Stdin)
	if err != nil {
		return &usageError{err: err}
	}
	s.cleanups = append(s.cleanups, func() { _ = in.Close() })
	s.in = in
	return nil
}

// connect starts the sandbox when asked and builds the client; nothing is
// sent yet.
func (c *common) connect(s *session, stderr io.Writer) error {
	apiURL, authID, token := c.apiURL, c.authID, os.Getenv("PLIVO_AUTH_TOKEN")
	if c.sandbox {
		sb, err := startRunSandbox(s.in, c)
		if err != nil {
			return err
		}
		s.cleanups = append(s.cleanups, sb.stop)
		apiURL, authID, token = sb.url, sb.authID, sb.token
		fmt.Fprintf(stderr, "plivo-bulk: working against the built-in SANDBOX at %s, not Plivo: nothing real is changed\n", sb.url)
	}
	concurrency := c.concurrency
	if concurrency == 0 {
		concurrency = batch.AutoConcurrency(c.rate)
	}
	cl, err := client.New(apiURL, authID, token,
		client.WithUserAgent("plivo-bulk/"+versionString()),
		client.WithTimeout(c.timeout),
		client.WithMaxConns(concurrency))
	if err != nil {
		return &usageError{err: err}
	}
	s.cl, s.apiURL, s.authID = cl, apiURL, authID
	return nil
}

// checkAccount proves the credentials with one cheap read, so that bad
// ones stop the run before any number is touched.
func (c *common) checkAccount(ctx context.Context, s *session) error {
	if err := s.cl.GetAccount(ctx); err != nil {
		if ae, ok := client.AsAPIError(err); ok && ae.Kind == client.KindAuth {
			return fmt.Errorf("%w: authentication failed (HTTP %d: %s): check PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN; nothing was sent", batch.ErrAborted, ae.StatusCode, ae.Message)
		}
		if ctx.Err() != nil {
			return batch.ErrInterrupted
		}
		s.log.Warn("could not read the account before starting; going on", "error", err.Error())
	}
	return nil
}

// maxPreflight bounds the distinct applications and subaccounts checked
// before a run; past it, the API's own 400s tell.
const maxPreflight = 200

// preflight checks once per distinct app_id and subaccount of the input
// that it exists, so that rows naming a missing one are reported invalid
// instead of each drawing the same 400. It returns a function that says
// why a row is invalid on that account, or "".
func (c *common) preflight(ctx context.Context, s *session) (func(batch.Row) string, error) {
	// The check pass collected the distinct values: no pass of its own.
	apps, _ := s.in.Distinct(batch.AppID)
	subs, _ := s.in.Distinct(batch.Subaccount)
	apps, subs = apps[:min(len(apps), maxPreflight)], subs[:min(len(subs), maxPreflight)]
	lim := rate.NewLimiter(rate.Inf, 1)
	if c.rate > 0 {
		lim = rate.NewLimiter(rate.Limit(c.rate), 1)
	}
	// check reads one resource, with a few tries when the answer says
	// nothing; it reports whether the resource is known to be missing.
	check := func(get func(context.Context, string) error, id string) (bool, error) {
		for attempt := 1; ; attempt++ {
			if err := lim.Wait(ctx); err != nil {
				return false, batch.ErrInterrupted
			}
			err := get(ctx, id)
			ae, isAPI := client.AsAPIError(err)
			switch {
			case err == nil:
				return false, nil
			case isAPI && ae.Kind == client.KindNotFound:
				return true, nil
			case isAPI && ae.Kind == client.KindAuth:
				return false, fmt.Errorf("%w: authentication failed (HTTP %d: %s)", batch.ErrAborted, ae.StatusCode, ae.Message)
			case ctx.Err() != nil:
				return false, batch.ErrInterrupted
			case isAPI && ae.Retryable() && attempt < c.maxAttempts:
				time.Sleep(max(c.backoffBase, ae.RetryAfter))
			default:
				s.log.Warn("could not check before the run; its rows will be sent", "id", id, "error", err.Error())
				return false, nil
			}
		}
	}
	missingApps, missingSubs := map[string]bool{}, map[string]bool{}
	for _, id := range apps {
		missing, err := check(s.cl.GetApplication, id)
		if err != nil {
			return nil, err
		}
		missingApps[id] = missing
	}
	for _, id := range subs {
		missing, err := check(s.cl.GetSubaccount, id)
		if err != nil {
			return nil, err
		}
		missingSubs[id] = missing
	}
	for id, m := range missingApps {
		if m {
			s.log.Warn("application does not exist on the account; its rows are invalid", "app_id", id)
		}
	}
	for id, m := range missingSubs {
		if m {
			s.log.Warn("subaccount does not exist on the account; its rows are invalid", "subaccount", id)
		}
	}
	return func(r batch.Row) string {
		if t := r.Targets[batch.AppID]; t.Set && missingApps[t.Value] {
			return fmt.Sprintf("app_id %q is not an application of this account (checked before the run)", t.Value)
		}
		if t := r.Targets[batch.Subaccount]; t.Set && missingSubs[t.Value] {
			return fmt.Sprintf("subaccount %q is not a subaccount of this account (checked before the run)", t.Value)
		}
		return ""
	}, nil
}

// toCallError adapts the client's errors to the pool's.
func toCallError(err error) error {
	ae, ok := client.AsAPIError(err)
	if !ok {
		return err
	}
	return &batch.CallError{
		HTTPStatus: ae.StatusCode,
		APIID:      ae.APIID,
		Kind:       string(ae.Kind),
		Message:    ae.Error(),
		RetryAfter: ae.RetryAfter,
		Retryable:  ae.Retryable(),
	}
}

func redactedHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	return u.Scheme + "://" + u.Host
}

// withInvalid wraps the input so that rows the preflight found wanting
// are invalid.
func withInvalid(in *input.Input, invalid func(batch.Row) string, skip func(batch.Row) bool) func(context.Context, func(batch.Row) error) error {
	return func(ctx context.Context, fn func(batch.Row) error) error {
		return in.Each(ctx, func(r batch.Row) error {
			if r.Invalid == "" {
				if why := invalid(r); why != "" {
					r.Invalid = why
				} else if skip != nil && skip(r) {
					return nil
				}
			}
			return fn(r)
		})
	}
}

// writeSummary writes the --summary file, if asked for, with the exit code
// that *errp will give; it runs deferred, so every outcome after the flags
// were parsed (an input error, an abort) leaves a summary.
func (c *common) writeSummary(s *session, sum *summary, command, output string, start time.Time, errp *error) {
	if c.summary == "" {
		return
	}
	if sum.elapsed == 0 {
		sum.elapsed = time.Since(start)
	}
	if err := sum.writeFile(c.summary, command, output, start, codeOf(*errp)); err != nil {
		s.log.Error("could not write the summary file", "path", c.summary, "error", err.Error())
	}
}

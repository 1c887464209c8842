package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/plivo-bulk/plivo-bulk/batch/input"
	"github.com/plivo-bulk/plivo-bulk/batch/pace"
	"github.com/plivo-bulk/plivo-bulk/client"
	"github.com/plivo-bulk/plivo-bulk/report"
)

// jobSetup is what a command sets up before the engine's first request: a
// checked input, the API to talk to (Plivo or the in-process sandbox) and a
// client; and what it must undo at the end.
type jobSetup struct {
	log         *slog.Logger
	in          *input.Input
	cl          *client.Client
	apiURL      string
	authID      string
	concurrency int
	closers     []func()

	mu       sync.Mutex
	bar      *progress     // the progress bar to erase at a stop; guarded by mu
	finished chan struct{} // closed when the command ends
}

func newJobSetup(f *jobFlags, stderr io.Writer) *jobSetup {
	return &jobSetup{log: newLogger(f.logFormat, f.verbose, stderr), finished: make(chan struct{})}
}

// open checks the credentials are there, reads and checks the whole input
// (the first signal ends its waits: a FIFO without a writer, a stalled
// producer), and, unless offline, starts the sandbox when asked and builds
// the client. Nothing is sent.
func (s *jobSetup) open(ctx context.Context, stop <-chan struct{}, f *jobFlags, offline bool, stderr io.Writer) error {
	if !offline {
		if err := f.checkCredentials(stop); err != nil {
			return err
		}
	}
	if !f.noInput {
		in, err := input.Open(withStop(ctx, stop), f.input, f.stdin)
		if err != nil {
			if ctx.Err() != nil || isClosed(stop) {
				return pace.ErrInterrupted
			}
			return &usageError{err: err}
		}
		s.closers = append(s.closers, func() { _ = in.Close() })
		s.in = in
	}
	if offline {
		return nil
	}
	return s.connect(f, stderr)
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// connect starts the sandbox when asked and builds the client.
func (s *jobSetup) connect(f *jobFlags, stderr io.Writer) error {
	apiURL, authID, token := f.apiURL, f.authID, f.token
	if f.sandbox {
		sb, err := startSeededSandbox(s.in, f)
		if err != nil {
			return err
		}
		s.closers = append(s.closers, sb.stop)
		apiURL, authID, token = sb.url, sb.authID, sb.token
		if f.logFormat == "json" {
			s.log.Warn("working against the built-in SANDBOX, not Plivo: nothing real is changed", "api", sb.url)
		} else {
			fmt.Fprintf(stderr, "plivo-bulk: working against the built-in SANDBOX at %s, not Plivo: nothing real is changed\n", sb.url)
		}
	}
	// The in-process sandbox holds the server's end of each connection too.
	filesPerConn := 1
	if f.sandbox {
		filesPerConn = 2
	}
	s.concurrency = fitConcurrency(f.concurrency, f.rate, filesPerConn, s.log)
	opts := []client.Option{client.WithUserAgent("plivo-bulk/" + versionString()),
		client.WithTimeout(f.timeout), client.WithMaxConns(s.concurrency)}
	if f.verbose {
		opts = append(opts, client.WithTrace(logRequests(s.log)))
	}
	cl, err := client.New(apiURL, authID, token, opts...)
	if err != nil {
		return &usageError{err: err}
	}
	s.cl, s.apiURL, s.authID = cl, apiURL, authID
	return nil
}

// origin is what the report and undo files record of where they were
// written: the account and the API host.
func (s *jobSetup) origin() (report.Origin, error) {
	o, err := report.NewOrigin(s.authID, s.apiURL)
	if err != nil {
		return o, &usageError{err: err}
	}
	return o, nil
}

// watchStop says, at the first signal, what happens next, after erasing
// the progress bar if one is drawn.
func (s *jobSetup) watchStop(stop <-chan struct{}, what string) {
	go func() {
		select {
		case <-stop:
		case <-s.finished:
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.bar != nil {
			s.bar.stopBar()
		}
		s.log.Warn("interrupted: " + what + " (press Ctrl-C again to stop at once)")
	}()
}

func (s *jobSetup) setProgress(p *progress) {
	s.mu.Lock()
	s.bar = p
	s.mu.Unlock()
}

func (s *jobSetup) close() {
	close(s.finished)
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// checkCredentials fails, before anything is read, when credentials are
// missing (the sandbox needs none).
func (c *jobFlags) checkCredentials(stop <-chan struct{}) error {
	if c.sandbox {
		return nil
	}
	var missing []string
	if c.authID == "" {
		missing = append(missing, "PLIVO_AUTH_ID (or --auth-id)")
	}
	token, err := authToken(stop, c.getenv)
	if err != nil {
		return err
	}
	c.token = token
	if token == "" {
		missing = append(missing, "PLIVO_AUTH_TOKEN (or PLIVO_AUTH_TOKEN_FILE)")
	}
	if len(missing) > 0 {
		return usagef("missing credentials: set %s; or try --sandbox (no account needed) or --dry-run", strings.Join(missing, " and "))
	}
	return nil
}

// maxTokenFile bounds what is read of PLIVO_AUTH_TOKEN_FILE: a path
// pointed at /dev/zero or a log file fails instead of filling memory.
const maxTokenFile = 4096

// authToken returns the auth token: PLIVO_AUTH_TOKEN, or the content of the
// file PLIVO_AUTH_TOKEN_FILE names (a Kubernetes Secret, a systemd
// credential) without the one trailing newline echo writes. When both are
// set they must agree: letting either win would hide a stale one. Errors
// name the variable and the path, never the content.
func authToken(stop <-chan struct{}, getenv func(string) string) (string, error) {
	token, path := getenv("PLIVO_AUTH_TOKEN"), getenv("PLIVO_AUTH_TOKEN_FILE")
	if path == "" {
		return token, nil
	}
	// A named pipe (<(pass show ...)) opens only once something writes to
	// it: the first signal ends that wait, as it ends the input's.
	type read struct {
		b   []byte
		err error
	}
	done := make(chan read, 1)
	go func() {
		b, err := readTokenFile(path)
		done <- read{b, err}
	}()
	var b []byte
	select {
	case r := <-done:
		if r.err != nil {
			return "", usagef("PLIVO_AUTH_TOKEN_FILE: %w", r.err)
		}
		b = r.b
	case <-stop:
		input.WakeFIFO(path)
		return "", pace.ErrInterrupted
	}
	switch {
	case len(b) > maxTokenFile:
		return "", usagef("PLIVO_AUTH_TOKEN_FILE: %s: longer than %d bytes, not a token", path, maxTokenFile)
	}
	fromFile := strings.TrimSuffix(string(b), "\n")
	switch {
	case fromFile == "":
		return "", usagef("PLIVO_AUTH_TOKEN_FILE: %s is empty", path)
	case token != "" && token != fromFile:
		return "", usagef("PLIVO_AUTH_TOKEN and PLIVO_AUTH_TOKEN_FILE (%s) hold different tokens: set only one", path)
	}
	return fromFile, nil
}

func readTokenFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxTokenFile+1))
}

// checkDistinct refuses outputs that are the input or each other, whatever
// path names them: --force would otherwise empty the input.
func checkDistinct(paths ...report.NamedPath) error {
	if err := report.CheckDistinct(paths...); err != nil {
		return &usageError{err: err}
	}
	return nil
}

func redactedHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	return u.Scheme + "://" + u.Host
}

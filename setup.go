package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/batch/input"
	"github.com/plivo-bulk/plivo-bulk/batch/pace"
	"github.com/plivo-bulk/plivo-bulk/client"
	"github.com/plivo-bulk/plivo-bulk/report"
)

// jobSetup is a job command (run, plan, export) under way, from its flags to its summary.
type jobSetup struct {
	f           *jobFlags
	command     string
	started     time.Time
	sum         batch.Summary
	summarize   bool // the --summary path is known safe to write
	log         *slog.Logger
	prog        *progress // stderr: every line of the command goes through it
	in          *input.Input
	cl          *client.Client
	concurrency int
	closers     []func()
	finished    chan struct{} // closed when the command ends
}

// newJob sets up command's stderr and progress, and says at the first signal what stopping means.
func newJob(f *jobFlags, command, stopping string) *jobSetup {
	file, isFile := f.stderr.(*os.File)
	bar, colour := barMode(f.progress, isFile && term.IsTerminal(int(file.Fd())), f.verbose, f.getenv)
	p := &progress{w: f.stderr, bar: bar, colour: colour, every: f.logEvery}
	if isFile {
		p.cols, _, _ = term.GetSize(int(file.Fd()))
	}
	p.log = newLogger(f.logFormat, f.verbose, p)
	s := &jobSetup{f: f, command: command, started: time.Now(), log: p.log, prog: p,
		finished: make(chan struct{})}
	go func() {
		select {
		case <-f.stop:
			p.stop()
			s.log.Warn("interrupted: " + stopping + " (press Ctrl-C again to stop at once)")
		case <-s.finished:
		}
	}()
	return s
}

// start refuses outputs that are the input or each other (past that, the summary is always written), then the
// flags' error (checkErr), checks credentials and input (the first signal ends its waits) and, unless a dry run,
// builds the client. Nothing is sent.
func (s *jobSetup) start(ctx context.Context, checkErr error, paths ...report.NamedPath) error {
	f := s.f
	if err := f.summaryOK(paths...); err != nil {
		return err
	}
	s.summarize = true
	if checkErr != nil {
		return checkErr
	}
	if err := f.checkCredentials(); err != nil {
		return err
	}
	if !f.noInput {
		stopped := withStop(ctx, f.stop)
		in, err := input.Open(stopped, f.input, f.stdin)
		if err != nil && stopped.Err() != nil {
			return pace.ErrInterrupted
		} else if err != nil {
			return usage(err)
		}
		s.closers = append(s.closers, func() { _ = in.Close() })
		s.in = in
	}
	if f.dryRun {
		return nil
	}
	var err error
	if f.sandbox {
		if f.token, err = s.startSandbox(); err != nil {
			return err
		}
		s.sayf(slog.LevelWarn, "working against the built-in SANDBOX at "+f.apiURL+", not Plivo: nothing real is changed", "api", f.apiURL)
	}
	s.concurrency = fitConcurrency(f, s.log)
	opt := client.Options{UserAgent: "plivo-bulk/" + versionString(), Timeout: f.timeout, MaxConns: s.concurrency}
	if f.verbose {
		opt.Trace = logRequests(s.log)
	}
	s.cl, err = client.New(f.apiURL, f.authID, f.token, opt)
	return usage(err)
}

// end writes the summary with the command's error and undoes the setup.
func (s *jobSetup) end(errp *error) {
	if s.summarize {
		s.writeSummary(*errp)
	}
	close(s.finished)
	s.prog.finish()
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// begin logs "starting <command>" with attrs, the rate and the account, and shows the progress of total units.
func (s *jobSetup) begin(what string, total int, attrs ...any) {
	s.log.Info("starting "+s.command, append(attrs, "rate", s.f.pacing.Rate, "api", redactedHost(s.f.apiURL), "auth_id", s.f.authID)...)
	s.prog.begin(what, total)
}

// sayf tells a person something on stderr: a plain line, or with JSON logs a record at level with attrs.
func (s *jobSetup) sayf(level slog.Level, msg string, attrs ...any) {
	if s.f.logFormat == "json" {
		s.log.Log(context.Background(), level, msg, attrs...)
	} else {
		fmt.Fprintln(s.prog, msg)
	}
}

// fitConcurrency is --concurrency or the automatic one, lowered (and said) to fit the open-files
// limit less 64 files for the input, outputs and logs; the in-process sandbox holds both ends.
func fitConcurrency(f *jobFlags, log *slog.Logger) int {
	n, limit := cmp.Or(f.pacing.Concurrency, pace.AutoConcurrency(f.pacing.Rate)), openFilesLimit()
	if fit := max(1, (limit-64)/map[bool]int{false: 1, true: 2}[f.sandbox]); limit > 0 && n > fit {
		log.Warn("fewer requests in flight than asked: the open-files limit (ulimit -n) allows no more connections", "asked", n, "concurrency", fit, "open_files_limit", limit)
		n = fit
	}
	return n
}

// checkCredentials fails, before anything is read, when credentials are missing.
func (c *jobFlags) checkCredentials() (err error) {
	if c.sandbox || c.dryRun {
		return nil
	}
	var missing []string
	if c.authID == "" {
		missing = append(missing, "PLIVO_AUTH_ID (or --auth-id)")
	}
	if c.token, err = authToken(c.stop, c.getenv); err != nil {
		return err
	}
	if c.token == "" {
		missing = append(missing, "PLIVO_AUTH_TOKEN (or PLIVO_AUTH_TOKEN_FILE)")
	}
	if len(missing) > 0 {
		return usagef("missing credentials: set %s; or try --sandbox (no account needed) or --dry-run", strings.Join(missing, " and "))
	}
	return nil
}

// maxTokenFile bounds PLIVO_AUTH_TOKEN_FILE: /dev/zero or a log file fails instead of filling memory.
const maxTokenFile = 4096

// authToken is PLIVO_AUTH_TOKEN, or PLIVO_AUTH_TOKEN_FILE's content less one trailing newline;
// both set must agree, as either winning would hide a stale one. Errors never hold the content.
func authToken(stop <-chan struct{}, getenv func(string) string) (string, error) {
	token, path := getenv("PLIVO_AUTH_TOKEN"), getenv("PLIVO_AUTH_TOKEN_FILE")
	if path == "" {
		return token, nil
	}
	// A named pipe (<(pass show ...)) opens once written to: the first signal ends that wait.
	done := make(chan error, 1)
	var b []byte
	go func() {
		f, err := os.Open(path)
		if err == nil {
			b, err = io.ReadAll(io.LimitReader(f, maxTokenFile+1))
			_ = f.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return "", usagef("PLIVO_AUTH_TOKEN_FILE: %w", err)
		}
	case <-stop:
		input.WakeFIFO(path)
		return "", pace.ErrInterrupted
	}
	fromFile := strings.TrimSuffix(string(b), "\n")
	switch {
	case len(b) > maxTokenFile:
		return "", usagef("PLIVO_AUTH_TOKEN_FILE: %s: longer than %d bytes, not a token", path, maxTokenFile)
	case fromFile == "":
		return "", usagef("PLIVO_AUTH_TOKEN_FILE: %s is empty", path)
	case token != "" && token != fromFile:
		return "", usagef("PLIVO_AUTH_TOKEN and PLIVO_AUTH_TOKEN_FILE (%s) hold different tokens: set only one", path)
	}
	return fromFile, nil
}

func redactedHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	return u.Scheme + "://" + u.Host
}

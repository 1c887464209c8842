package main

// Helpers of the behaviour tests. A command runs in-process through run,
// as main calls it, unless a test asks for the real binary (runner.binary):
// signals, process limits, a terminal, kill -9. Every test server is served
// over in-memory pipes (e2eServe), so that a test inside a synctest bubble
// waits on a Retry-After, a limiter or a timeout in fake time; a binary
// reaches the same handler on a loopback listener opened on demand.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

func TestMain(m *testing.M) {
	// A session of its own has no controlling terminal, as under cron: an
	// in-process run asks nothing, even when go test runs on a terminal.
	_, _ = syscall.Setsid()
	// Most tests wait on a server or a process, not on the CPU: run more
	// of them at once than there are cores, unless -parallel says.
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", "8")
	}
	if !testing.Short() {
		go e2eBin.once.Do(e2eBuild) // while the tests that need no binary run
	}
	os.Exit(m.Run())
}

// e2ePipe is a test server reached through net.Pipe: the client clones
// http.DefaultTransport, whose dialer init points at these servers.
type e2ePipe struct {
	h        http.Handler
	conns    chan net.Conn
	done     chan struct{}
	close    sync.Once
	ln       net.Listener
	realOnce sync.Once
	t        *testing.T
}

func (p *e2ePipe) Accept() (net.Conn, error) {
	select {
	case c := <-p.conns:
		return c, nil
	case <-p.done:
		return nil, net.ErrClosed
	}
}
func (p *e2ePipe) Close() error   { p.close.Do(func() { close(p.done) }); return nil }
func (p *e2ePipe) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

var e2ePipes sync.Map // "127.0.0.1:port" -> *e2ePipe

func init() {
	tr := http.DefaultTransport.(*http.Transport)
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		v, ok := e2ePipes.Load(addr)
		if !ok {
			return dial(ctx, network, addr)
		}
		p := v.(*e2ePipe)
		a, b := net.Pipe()
		select {
		case p.conns <- b:
			return a, nil
		case <-p.done:
			return nil, syscall.ECONNREFUSED
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// e2eServe serves h until the test ends and returns its URL: in-process
// runs reach it through a pipe, a binary through the loopback listener
// that holds its address, served only once a binary needs it (a server
// goroutine on the network would keep a synctest bubble from going idle).
func e2eServe(t *testing.T, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	e2eOK(t, err)
	p := &e2ePipe{h: h, ln: ln, conns: make(chan net.Conn), done: make(chan struct{}), t: t}
	addr := ln.Addr().String()
	e2ePipes.Store(addr, p)
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(p) }()
	t.Cleanup(func() { e2ePipes.Delete(addr); _ = srv.Close(); _ = ln.Close() })
	return "http://" + addr
}

// e2eBin is the binary under test, built at most once per test process.
var e2eBin struct {
	once sync.Once
	path string
	err  error
}

func e2eBuild() {
	// A path of its own per checkout, kept between runs: go build relinks
	// only when the binary there is not up to date.
	wd, _ := os.Getwd()
	e2eBin.path = filepath.Join(os.TempDir(), fmt.Sprintf("plivo-bulk-test-%x", sha256.Sum256([]byte(wd)))[:len("plivo-bulk-test-")+16], "plivo-bulk")
	if out, err := e2eCombinedOutput(exec.Command("go", "build", "-o", e2eBin.path, ".")); err != nil {
		e2eBin.err = fmt.Errorf("go build: %v\n%s", err, out)
	}
}

// The applications and subaccounts of the test sandboxes.
const (
	e2eAppStart   = "20372631212782779" // every seeded number starts on it
	e2eAppA       = "20372631212782780"
	e2eAppB       = "20372631212782781"
	e2eAppUnknown = "99999999999999999"
	e2eSubA       = "SAUJZDE8GXD6NCF10EPF"
	e2eSubB       = "SA91DHODZDOC9IS0J8HT"
	e2eSubUnknown = "SAXXXXXXXXXXXXXXXXXX"
	e2eDefaultApp = "20372631212782700" // the account's default_number_app
)

// e2eFixture is a sandbox behind a handler (see ServeHTTP) that records
// every request as answered and injects faults.
type e2eFixture struct {
	srv                *sandbox.Server
	faults             e2eFaults
	url, authID, token string

	mu       sync.Mutex // guards the rest
	rng      *mrand.Rand
	received int64
	reqs     []e2eRequest // every request answered, recorded by ServeHTTP
}

// e2eStartFixture starts a sandbox with numbers, and a runner pointed at it.
func e2eStartFixture(t *testing.T, cfg sandbox.Config, numbers ...sandbox.Number) (*e2eFixture, *e2eRunner) {
	t.Helper()
	return e2eStartFaulty(t, e2eFaults{}, cfg, numbers...)
}

func e2eStartFaulty(t *testing.T, faults e2eFaults, cfg sandbox.Config, numbers ...sandbox.Number) (*e2eFixture, *e2eRunner) {
	t.Helper()
	if cfg.AuthID == "" {
		cfg.AuthID = "MA" + e2eRandString("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 18)
	}
	if cfg.AuthToken == "" {
		cfg.AuthToken = "tok-" + e2eRandString(e2eAlnum, 32)
	}
	srv := sandbox.New(cfg)
	srv.AddApplication(e2eAppStart, "Old IVR")
	srv.AddApplication(e2eAppA, "Support line")
	srv.AddApplication(e2eAppB, "Sales IVR")
	srv.AddSubaccount(e2eSubA, "EMEA team")
	srv.AddSubaccount(e2eSubB, "APAC team")
	for _, n := range numbers {
		srv.AddNumber(n)
	}
	for faults.Seed == 0 {
		faults.Seed = mrand.Uint64()
	}
	fx := &e2eFixture{srv: srv, faults: faults, authID: cfg.AuthID, token: cfg.AuthToken,
		rng: mrand.New(mrand.NewPCG(faults.Seed, faults.Seed^0x9e3779b97f4a7c15))}
	fx.url = e2eServe(t, fx)
	return fx, e2eNewRunner(t, fx)
}

// requests returns the requests received so far.
func (fx *e2eFixture) requests() int64 { fx.mu.Lock(); defer fx.mu.Unlock(); return fx.received }

// quiesce waits until the sandbox has recorded every request it received.
func (fx *e2eFixture) quiesce(t *testing.T) {
	t.Helper()
	stable := 0
	e2eWaitFor(t, 10*time.Second, "the sandbox to finish its requests", func() bool {
		if int64(len(fx.all())) == fx.requests() {
			stable++
		} else {
			stable = 0
		}
		return stable >= 3
	})
}

// e2eNumbers returns sandbox numbers on e2eAppStart with the alias "old",
// compliance pending (so that compliance changes are accepted).
func e2eNumbers(numbers ...string) []sandbox.Number {
	ns := make([]sandbox.Number, len(numbers))
	for i, n := range numbers {
		ns[i] = sandbox.Number{Number: n, AppID: e2eAppStart, Alias: "old", ComplianceStatus: "pending"}
	}
	return ns
}

// e2eNumber is the i-th test number: 1202555 followed by i.
func e2eNumber(i int) string { return fmt.Sprintf("1202555%04d", i) }

// e2eNumberRange returns n numbers from e2eNumber(first).
func e2eNumberRange(first, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = e2eNumber(first + i)
	}
	return out
}

// e2eInput returns an input with header and a line per number, cells after it.
func e2eInput(header, cells string, numbers ...string) string {
	var b strings.Builder
	b.WriteString(header + "\n")
	for _, n := range numbers {
		b.WriteString(n + "," + cells + "\n")
	}
	return b.String()
}

// e2eMoveAll starts a sandbox with the numbers e2eNumberRange(first, n) and
// a runner on it, behind front if given (see e2eProxy), whose numbers.csv
// moves them all to app.
func e2eMoveAll(t *testing.T, cfg sandbox.Config, first, n int, app string, front ...func(http.ResponseWriter, *http.Request) bool) (fx *e2eFixture, r *e2eRunner, input string, numbers []string) {
	t.Helper()
	numbers = e2eNumberRange(first, n)
	fx, r = e2eStartFixture(t, cfg, e2eNumbers(numbers...)...)
	if len(front) > 0 {
		r = r.with("PLIVO_API_URL", e2eProxy(t, fx, front[0]))
	}
	return fx, r, r.write("numbers.csv", e2eInput("number,app_id", app, numbers...)), numbers
}

const e2eAlnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func e2eRandString(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[mrand.IntN(len(alphabet))]
	}
	return string(b)
}

// e2eUntouched fails the test unless every number in want holds what it
// says (an e2eNumbers seed, say), as after a rollback.
func e2eUntouched(t *testing.T, fx *e2eFixture, what string, want ...sandbox.Number) {
	t.Helper()
	for _, w := range want {
		if got, _ := fx.srv.Number(w.Number); got != w {
			t.Errorf("%s %s = %+v, want %+v", what, w.Number, got, w)
		}
	}
}

// all returns the requests answered so far.
func (fx *e2eFixture) all() []e2eRequest {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	return slices.Clone(fx.reqs)
}

// posts returns, once the sandbox has recorded every request it received,
// the POSTs to each number that arrived at or after since (the zero time
// for all), in order of arrival.
func (fx *e2eFixture) posts(t *testing.T, since time.Time) map[string][]e2eRequest {
	fx.quiesce(t)
	m := make(map[string][]e2eRequest)
	for _, q := range fx.all() {
		if q.Method == "POST" && !q.Time.Before(since) {
			m[q.Number] = append(m[q.Number], q)
		}
	}
	for _, qs := range m {
		slices.SortStableFunc(qs, func(a, b e2eRequest) int { return a.Time.Compare(b.Time) })
	}
	return m
}

// postCount returns the POSTs the sandbox received.
func (fx *e2eFixture) postCount(t *testing.T) (n int) {
	for _, qs := range fx.posts(t, time.Time{}) {
		n += len(qs)
	}
	return n
}

// e2eClean2xx returns the requests answered 2xx with a well-formed body:
// the only answers that can carry an api_id to the client.
func e2eClean2xx(qs []e2eRequest) []e2eRequest {
	return slices.DeleteFunc(slices.Clone(qs), func(q e2eRequest) bool { return q.Status < 200 || q.Status > 299 || q.Fault != "" })
}

// e2eDescribe summarises requests for a failure message.
func e2eDescribe(qs []e2eRequest) string {
	var parts []string
	for _, q := range qs {
		parts = append(parts, fmt.Sprintf("%s:%d/%s/%q", q.Method, q.Status, q.Fault, q.APIID))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// e2eRunner runs commands in a temporary directory with an environment
// built from scratch, and checks every run for leaked secrets, stack traces
// and malformed JSON logs.
type e2eRunner struct {
	t       *testing.T
	bin     string // "" runs in-process
	dir     string
	env     []string
	secrets []string
}

// e2eNewRunner returns a runner whose environment points at fx, or holds
// only HOME when fx is nil.
func e2eNewRunner(t *testing.T, fx *e2eFixture) *e2eRunner {
	t.Helper()
	r := &e2eRunner{t: t, dir: t.TempDir()}
	r.env = []string{"HOME=" + r.dir}
	if fx != nil {
		r.env = append(r.env, "PLIVO_API_URL="+fx.url, "PLIVO_AUTH_ID="+fx.authID)
		r = r.withToken(fx.authID, fx.token)
	}
	return r
}

// binary returns a copy of r that runs the built binary.
func (r *e2eRunner) binary() *e2eRunner {
	r.t.Helper()
	if testing.Short() {
		r.t.Skip("builds and runs the binary: skipped with -short")
	}
	if e2eBin.once.Do(e2eBuild); e2eBin.err != nil {
		r.t.Fatal(e2eBin.err)
	}
	c := r.with("PATH", os.Getenv("PATH"))
	c.bin = e2eBin.path
	return c
}

func (r *e2eRunner) with(key, value string) *e2eRunner {
	c := r.without(key)
	c.env = append(c.env, key+"="+value)
	return c
}

func (r *e2eRunner) without(key string) *e2eRunner {
	c := *r
	c.env = slices.DeleteFunc(slices.Clone(r.env), func(kv string) bool { return strings.HasPrefix(kv, key+"=") })
	c.secrets = slices.Clone(r.secrets)
	return &c
}

// withToken returns a copy of r whose PLIVO_AUTH_TOKEN is token, which with
// every form of it (secForms) must never appear in what a run leaves.
func (r *e2eRunner) withToken(authID, token string) *e2eRunner {
	c := r.with("PLIVO_AUTH_TOKEN", token)
	c.secrets = append(c.secrets, secForms(authID, token)...)
	return c
}

func (r *e2eRunner) getenv(key string) string {
	for _, kv := range r.env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

func (r *e2eRunner) path(name string) string { return filepath.Join(r.dir, name) }

// write creates name in the runner's directory and returns its path.
func (r *e2eRunner) write(name, content string) string {
	r.t.Helper()
	p := r.path(name)
	e2eOK(r.t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// e2eResult is how a run ended.
type e2eResult struct {
	code           int // -1 when a signal killed the process
	stdout, stderr string
	elapsed        time.Duration
}

func (res e2eResult) String() string {
	return fmt.Sprintf("exit %d after %v\n--- stdout:\n%s\n--- stderr:\n%s", res.code, res.elapsed.Round(time.Millisecond), res.stdout, res.stderr)
}

// e2eSyncBuffer is a bytes.Buffer that can be read while it is written.
type e2eSyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *e2eSyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}
func (b *e2eSyncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

// e2eProc is a running command.
type e2eProc struct {
	r              *e2eRunner
	argv           []string
	cmd            *exec.Cmd // nil in-process
	stop           chan struct{}
	cancel         context.CancelFunc
	signals        int
	stdout, stderr *e2eSyncBuffer
	started        time.Time
	done           chan struct{}
	waitErr        error
	code           int
	checked        sync.Once
	res            e2eResult
}

// e2ePathFlags are the flags whose value is a file: an in-process run finds
// a relative one in the runner's directory, as the binary does.
var e2ePathFlags = []string{"--input", "--report", "--undo", "--summary", "--output", "--numbers", "--dump"}

// start starts argv with stdin (nil for none).
func (r *e2eRunner) start(stdin io.Reader, argv ...string) *e2eProc {
	r.t.Helper()
	if r.bin != "" {
		return r.startVia(nil, func(c *exec.Cmd) { c.Stdin = stdin }, argv...)
	}
	e2eForks.mu.Lock()
	for e2eForks.forking > 0 { // polled: in a synctest bubble a Cond would be a deadlock
		e2eForks.mu.Unlock()
		time.Sleep(time.Millisecond)
		e2eForks.mu.Lock()
	}
	e2eForks.active++
	e2eForks.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	p := &e2eProc{r: r, argv: argv, stop: make(chan struct{}), cancel: cancel, stdout: &e2eSyncBuffer{}, stderr: &e2eSyncBuffer{}, done: make(chan struct{}), started: time.Now()}
	args := slices.Clone(argv)
	for i, a := range args {
		if i > 0 && slices.Contains(e2ePathFlags, args[i-1]) && a != "-" && !filepath.IsAbs(a) {
			args[i] = r.path(a)
		} else if flag, v, ok := strings.Cut(a, "="); ok && slices.Contains(e2ePathFlags, flag) && v != "-" && !filepath.IsAbs(v) {
			args[i] = flag + "=" + r.path(v)
		}
	}
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	go func() {
		defer close(p.done)
		err := run(ctx, p.stop, args, r.getenv, stdin, p.stdout, p.stderr)
		p.code = exitCodeSaid(err, notices(p.stderr, logsJSON(args)))
		p.res.elapsed = time.Since(p.started)
		e2eForks.mu.Lock()
		e2eForks.active--
		e2eForks.mu.Unlock()
	}()
	r.t.Cleanup(func() {
		for !p.exited() && p.signals < 2 {
			p.signal(syscall.SIGINT)
		}
		<-p.done
		cancel() // as main does once run returns
	})
	return p
}

// startVia starts the binary, run by the command prefix when there is one
// (with {"sh", "-c", `ulimit -f 8 && exec "$@"`, "sh"}, the shell runs it);
// adjust, when not nil, changes the command first.
func (r *e2eRunner) startVia(prefix []string, adjust func(*exec.Cmd), argv ...string) *e2eProc {
	r.t.Helper()
	if r.bin == "" {
		r = r.binary()
	}
	p := &e2eProc{r: r, argv: argv, stdout: &e2eSyncBuffer{}, stderr: &e2eSyncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(r.bin, argv...)
	if len(prefix) > 0 {
		p.cmd = exec.Command(prefix[0], slices.Concat(prefix[1:], []string{r.bin}, argv)...)
	}
	p.cmd.Dir, p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = r.dir, r.binEnv(), p.stdout, p.stderr
	p.cmd.WaitDelay = 5 * time.Second
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no terminal, as under cron
	if adjust != nil {
		adjust(p.cmd)
	}
	p.started = time.Now()
	if err := e2eForkStart(p.cmd.Start); err != nil {
		p.r.t.Fatalf("start %v: %v", p.argv, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		p.res.elapsed = time.Since(p.started)
		close(p.done)
	}()
	p.r.t.Cleanup(func() { _ = p.cmd.Process.Kill(); <-p.done })
	return p
}

// binEnv is the binary's environment; the test server it names starts
// listening on its loopback listener.
func (r *e2eRunner) binEnv() []string {
	if v, ok := e2ePipes.Load(strings.TrimPrefix(r.getenv("PLIVO_API_URL"), "http://")); ok {
		p := v.(*e2ePipe)
		p.realOnce.Do(func() {
			srv := &http.Server{Handler: p.h}
			go func() { _ = srv.Serve(p.ln) }()
			p.t.Cleanup(func() { _ = srv.Close() })
		})
	}
	return slices.Clone(r.env)
}

// e2eForks keeps forks of the binary apart from in-process runs: a child
// holds a copy of every descriptor of the test process from its fork to
// its exec, and so the flock of a report or undo file that a run has just
// closed, which the next run on that file would find taken. A fork waits
// (a while, not for ever: a run may wait for the test) until no run is
// active; a run waits while a fork is under way (cmd.Start returns after
// the exec).
var e2eForks struct {
	mu              sync.Mutex
	active, forking int
}

func e2eForkStart(start func() error) error {
	f := &e2eForks
	deadline := time.Now().Add(500 * time.Millisecond)
	f.mu.Lock()
	for f.active > 0 && time.Now().Before(deadline) {
		f.mu.Unlock()
		time.Sleep(time.Millisecond)
		f.mu.Lock()
	}
	f.forking++
	f.mu.Unlock()
	err := start()
	f.mu.Lock()
	f.forking--
	f.mu.Unlock()
	return err
}

// run runs argv to the end and returns how it ended.
func (r *e2eRunner) run(argv ...string) e2eResult {
	r.t.Helper()
	return r.start(nil, argv...).wait()
}

func (p *e2eProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig. In-process, SIGINT does what main makes of it: the
// first stops dispatching, the second cancels the calls in flight; any
// other signal, or a third, is for the binary.
func (p *e2eProc) signal(sig syscall.Signal) {
	p.r.t.Helper()
	if p.cmd != nil {
		if err := p.cmd.Process.Signal(sig); err != nil && !p.exited() {
			p.r.t.Fatalf("send %v: %v", sig, err)
		}
		return
	}
	if sig != syscall.SIGINT || p.signals == 2 {
		p.r.t.Fatalf("%v (signal %d) is tested on the binary: use runner.binary()", sig, p.signals+1)
	}
	switch p.signals++; p.signals {
	case 1:
		close(p.stop)
	case 2:
		p.cancel()
	}
}

// alive fails the test now if the command has ended (before what).
func (p *e2eProc) alive(what string) {
	if p.r.t.Helper(); p.exited() {
		p.r.t.Fatalf("plivo-bulk %v ended %s\n%v", p.argv, what, p.wait())
	}
}

// signalEnds sends sig and fails the test now unless the command ends
// within d; it returns how it ended.
func (p *e2eProc) signalEnds(sig syscall.Signal, d time.Duration) e2eResult {
	p.r.t.Helper()
	if p.signal(sig); !p.waitTimeout(d) {
		p.r.t.Fatalf("plivo-bulk %v: no exit %v after %v", p.argv, d, sig)
	}
	return p.wait()
}

func (p *e2eProc) waitTimeout(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// wait waits for the end, checks the output (see check) and returns how
// the run ended.
func (p *e2eProc) wait() e2eResult {
	t := p.r.t
	t.Helper()
	if !p.waitTimeout(60 * time.Second) {
		t.Fatalf("plivo-bulk %v did not end within 60 s:\nstderr: %s", p.argv, p.stderr)
	}
	p.checked.Do(func() {
		p.res.stdout, p.res.stderr, p.res.code = p.stdout.String(), p.stderr.String(), p.code
		var ee *exec.ExitError
		switch {
		case p.cmd == nil:
		case errors.As(p.waitErr, &ee):
			p.res.code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				p.res.code = -1
			}
		case p.waitErr != nil:
			t.Fatalf("plivo-bulk %v: %v", p.argv, p.waitErr)
		}
		p.check()
	})
	return p.res
}

// check looks at a finished run's output and files for what must never be
// there: a form of the token, a stack trace, a race report; with
// --log-format json, a stderr line that is not JSON.
func (p *e2eProc) check() {
	t := p.r.t
	t.Helper()
	texts := map[string]string{"stdout": p.res.stdout, "stderr": p.res.stderr}
	_ = filepath.WalkDir(p.r.dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			b, _ := os.ReadFile(path)
			texts[path] = string(b)
		}
		return nil
	})
	for name, s := range texts {
		for _, secret := range p.r.secrets {
			if strings.Contains(s, secret) {
				t.Errorf("plivo-bulk %v: a form of the token (%d characters) appears in %s", p.argv, len(secret), name)
				break
			}
		}
		for _, bad := range []string{"goroutine ", "panic:", "WARNING: DATA RACE"} {
			if (name == "stdout" || name == "stderr") && strings.Contains(s, bad) {
				t.Errorf("plivo-bulk %v: %s holds %q:\n%s", p.argv, name, bad, s)
			}
		}
	}
	if logsJSON(p.argv) {
		for _, line := range strings.Split(strings.TrimSpace(p.res.stderr), "\n") {
			if line != "" && (!strings.HasPrefix(line, "{") || !json.Valid([]byte(line))) {
				t.Errorf("plivo-bulk %v: stderr line is not JSON: %s", p.argv, line)
			}
		}
	}
}

// secForms returns what must never be seen of token: the token, the Basic
// credential base64(authID:token), and every 10-long piece of the token and
// of the part of the credential that encodes the token alone (a server
// text cut in the middle of an echoed token still leaks the rest).
func secForms(authID, token string) []string {
	basic := base64.StdEncoding.EncodeToString([]byte(authID + ":" + token))
	forms := []string{token, basic}
	for _, s := range []string{strings.TrimPrefix(token, "tok-"), basic[(len(authID)+1+2)/3*4:]} {
		for i := 0; i+10 <= len(s); i++ {
			forms = append(forms, s[i:i+10])
		}
	}
	return forms
}

// e2eFastRetries keeps retries quick in every run that may retry.
var e2eFastRetries = []string{"--backoff-base", "1ms", "--backoff-max", "5ms", "--progress", "never"}

// e2eRun returns argv for a run of input with the report at report.
func e2eRun(input, report string, extra ...string) []string {
	return slices.Concat([]string{"run", "--input", input, "--report", report}, e2eFastRetries, extra)
}

// e2eRead returns a file's content, "" when it does not exist.
func e2eRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// e2eOK fails the test now if err is not nil.
func e2eOK(t *testing.T, err error) {
	if t.Helper(); err != nil {
		t.Fatal(err)
	}
}

// e2eExit fails the test now unless res ended with code, and then unless
// its stderr holds each of stderrHas.
func e2eExit(t *testing.T, what string, res e2eResult, code int, stderrHas ...string) {
	t.Helper()
	if res.code != code {
		t.Fatalf("%s: exit code %d, want %d\n%v", what, res.code, code, res)
	}
	e2eHas(t, what+": stderr", res.stderr, stderrHas...)
}

// e2eJSONLogs returns the JSON log records on stderr.
func e2eJSONLogs(stderr string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(stderr, "\n") {
		var v map[string]any
		if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &v) == nil {
			out = append(out, v)
		}
	}
	return out
}

// e2eLog returns the first JSON log record with msg, nil if none.
func e2eLog(stderr, msg string) map[string]any {
	for _, l := range e2eJSONLogs(stderr) {
		if l["msg"] == msg {
			return l
		}
	}
	return nil
}

// e2eReportColumns is the report's header, as README.md documents it.
var e2eReportColumns = []string{
	"row", "number", "status", "http_status", "api_id", "attempts", "error",
	"app_id", "subaccount", "alias", "compliance_application_id", "account", "api",
}

// e2eReportRow is one data line of a report.
type e2eReportRow struct {
	Row                               int
	Number, Status, HTTPStatus, APIID string
	Attempts                          int
	Error                             string
	Targets                           [4]string // app_id, subaccount, alias, compliance_application_id
}

// e2eCSV parses a CSV file the tool wrote (report, plan, undo file,
// export), named what, into its header and rows, as maps from the header,
// or fails the test now. With torn, an incomplete last line (the process
// died writing it) is dropped; without, it is an error.
func e2eCSV(t *testing.T, what, data string, torn bool) (header []string, rows []map[string]string) {
	t.Helper()
	if i := strings.LastIndexByte(data, '\n'); i < len(data)-1 {
		if !torn {
			t.Fatalf("%s: the last line has no newline: %q", what, data[i+1:])
		}
		data = data[:i+1]
	}
	recs, err := csv.NewReader(strings.NewReader(data)).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("%s: not a CSV file (%v): %.200q", what, err, data)
	}
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = rec[i]
		}
		rows = append(rows, m)
	}
	return recs[0], rows
}

// readCSV reads a complete CSV file the tool wrote as maps from its header.
func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	_, rows := e2eCSV(t, path, e2eRead(t, path), false)
	return rows
}

// e2eParseReport parses a report (see e2eCSV for torn), what names it.
func e2eParseReport(t *testing.T, what, data string, torn bool) []e2eReportRow {
	t.Helper()
	header, recs := e2eCSV(t, what, data, torn)
	var err error
	if !slices.Equal(header, e2eReportColumns) {
		err = fmt.Errorf("not a report: header %q", header)
	}
	var rows []e2eReportRow
	for _, m := range recs {
		row, err1 := strconv.Atoi(m["row"])
		attempts, err2 := strconv.Atoi(m["attempts"])
		err = errors.Join(err, err1, err2)
		rows = append(rows, e2eReportRow{Row: row, Number: m["number"], Status: m["status"], HTTPStatus: m["http_status"], APIID: m["api_id"],
			Attempts: attempts, Error: m["error"], Targets: [4]string{m["app_id"], m["subaccount"], m["alias"], m["compliance_application_id"]}})
	}
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return rows
}

// e2eReadReport reads and parses a complete report.
func e2eReadReport(t *testing.T, path string) []e2eReportRow {
	t.Helper()
	return e2eParseReport(t, "report "+path, e2eRead(t, path), false)
}

// e2eEveryRowOnce fails the test unless the report holds every one of the
// input's n data rows (rows 2 to n+1) exactly once, with a status, and
// returns its lines by row (rows 2 to n+1 only).
func e2eEveryRowOnce(t *testing.T, lines []e2eReportRow, n int) map[int]e2eReportRow {
	t.Helper()
	byRow := map[int]e2eReportRow{}
	for _, g := range lines {
		if _, twice := byRow[g.Row]; twice || g.Status == "" || g.Row < 2 || g.Row > n+1 {
			t.Errorf("row %d: a second line, no status or no such row: %+v", g.Row, g)
			continue
		}
		byRow[g.Row] = g
	}
	if len(byRow) != n {
		t.Errorf("the report has %d of the %d rows", len(byRow), n)
	}
	return byRow
}

// e2eReportLines returns the number of complete data lines in the file at
// path (a report or an undo file), 0 if it does not exist yet.
func e2eReportLines(path string) int {
	data, _ := os.ReadFile(path)
	return max(0, bytes.Count(data, []byte("\n"))-1)
}

// e2eReadSummary reads the file that --summary wrote, as a summaryFile or
// as its keys and values (a map[string]any).
func e2eReadSummary[T any](t *testing.T, path string) (s T) {
	t.Helper()
	if err := json.Unmarshal([]byte(e2eRead(t, path)), &s); err != nil {
		t.Fatalf("summary %s: %v", path, err)
	}
	return s
}

// e2eWaitFor polls cond until it holds, or fails the test after d.
func e2eWaitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// e2eFieldsOf returns the JSON fields of a POST as plain values, and the
// keys whose value was JSON null.
func e2eFieldsOf(q e2eRequest) (map[string]string, []string) {
	m := make(map[string]string, len(q.Fields))
	var nulls []string
	for k, v := range q.Fields {
		if v == nil {
			nulls = append(nulls, k)
			continue
		}
		m[k] = *v
	}
	slices.Sort(nulls)
	return m, nulls
}

// e2eCSVLine returns cells as one CSV line, quoted where needed.
func e2eCSVLine(cells ...string) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write(cells)
	w.Flush()
	return b.String()
}

// e2eSummaryCount returns the count the summary on stderr gives for label
// ("ok", "failed", "already ok", ...), or -1 when it has none.
func e2eSummaryCount(stderr, label string) int {
	m := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(label) + ` +(\d+)\b`).FindStringSubmatch(stderr)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// e2eAnswer answers status with body.
func e2eAnswer(w http.ResponseWriter, status int, contentType, body string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// e2eAnswer429 answers 429 with Retry-After (none when "").
func e2eAnswer429(w http.ResponseWriter, retryAfter string) {
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	e2eAnswer(w, http.StatusTooManyRequests, "application/json", `{"api_id":"throttled-1","error":"too many requests"}`)
}

// e2eProxy serves fx behind handle, which answers a request itself by
// returning true; it returns the URL to give the runner.
func e2eProxy(t *testing.T, fx *e2eFixture, handle func(w http.ResponseWriter, r *http.Request) bool) string {
	return e2eServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !handle(w, r) {
			fx.ServeHTTP(w, r)
		}
	}))
}

// e2eCombinedOutput is cmd.CombinedOutput, its fork kept apart from the
// in-process runs (see e2eForks).
func e2eCombinedOutput(cmd *exec.Cmd) ([]byte, error) {
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	if err := e2eForkStart(cmd.Start); err != nil {
		return nil, err
	}
	err := cmd.Wait()
	return b.Bytes(), err
}

// e2eHas fails the test unless text (named what) holds each of wants.
func e2eHas(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

// stopAdvice checks that out says want and advises no --resume, where it
// cannot help.
func stopAdvice(t *testing.T, out, want string) {
	t.Helper()
	e2eHas(t, "output", out, want)
	if strings.Contains(out, "--resume") {
		t.Errorf("output advises --resume, which cannot help here:\n%s", out)
	}
}

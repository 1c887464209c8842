package main

// Helpers of the end-to-end tests in e2e_test.go: they build the real
// plivo-bulk binary once, run it with a controlled environment against the
// sandbox served from the test process, and read what it left behind.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
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

// e2eBin is the binary under test, built at most once per test process.
var e2eBin struct {
	once sync.Once
	dir  string // removed by TestMain
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if e2eBin.dir != "" {
		_ = os.RemoveAll(e2eBin.dir)
	}
	os.Exit(code)
}

// e2eBinary returns the path of a plivo-bulk binary built from this
// checkout with `go build`, building it on first use. It skips the test
// under -short. Set PLIVO_BULK_E2E_RACE=1 to build the binary with -race.
func e2eBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test (builds and runs the binary): skipped with -short")
	}
	e2eBin.once.Do(func() {
		// go test runs a package's tests in the package's directory, which
		// for package main is the module root.
		root, err := os.Getwd()
		if err != nil {
			e2eBin.err = err
			return
		}
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
			e2eBin.err = fmt.Errorf("module root: %w", err)
			return
		}
		goTool, err := exec.LookPath("go")
		if err != nil {
			e2eBin.err = fmt.Errorf("the end-to-end tests need the go command on PATH: %w", err)
			return
		}
		dir, err := os.MkdirTemp("", "plivo-bulk-e2e-")
		if err != nil {
			e2eBin.err = err
			return
		}
		e2eBin.dir = dir
		path := filepath.Join(dir, "plivo-bulk")
		buildArgs := []string{"build", "-o", path}
		if os.Getenv("PLIVO_BULK_E2E_RACE") != "" {
			buildArgs = append(buildArgs, "-race")
		}
		buildArgs = append(buildArgs, ".")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, goTool, buildArgs...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			e2eBin.err = fmt.Errorf("go %s: %v\n%s", strings.Join(buildArgs, " "), err, out)
			return
		}
		e2eBin.path = path
	})
	if e2eBin.err != nil {
		t.Fatal(e2eBin.err)
	}
	return e2eBin.path
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
	// e2eDefaultApp is the account's default_number_app: the sandbox
	// assigns it to a number updated without app_id, as Plivo documents.
	e2eDefaultApp = "20372631212782700"
)

// e2eFixture is a sandbox served on loopback from the test process behind
// a front (e2e_faults_test.go) that records every request as answered and
// injects faults. The fixture is the front's http.Handler too, for tests
// that put their own handler before it.
type e2eFixture struct {
	*e2eFront
	url    string
	authID string
	token  string
}

// e2eStartFixture starts a sandbox with cfg (credentials it leaves empty
// are made up here), the applications and subaccounts above, and numbers,
// behind a front that injects no fault. The server stops when the test
// ends.
func e2eStartFixture(t *testing.T, cfg sandbox.Config, numbers ...sandbox.Number) *e2eFixture {
	t.Helper()
	return e2eStartFaulty(t, e2eFaults{}, cfg, numbers...)
}

// e2eStartFaulty is e2eStartFixture with faults injected in front of the
// sandbox.
func e2eStartFaulty(t *testing.T, faults e2eFaults, cfg sandbox.Config, numbers ...sandbox.Number) *e2eFixture {
	t.Helper()
	if cfg.AuthID == "" {
		cfg.AuthID = "MA" + e2eRandString("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 18)
	}
	if cfg.AuthToken == "" {
		cfg.AuthToken = "e2eSecret" + e2eRandString("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 31)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("sandbox config: %v", err)
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
	front := newE2EFront(srv, faults, &e2eRecorder{})
	url, stop, err := sandbox.Start(front, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("start the sandbox: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stop(ctx); err != nil {
			t.Logf("stop the sandbox: %v", err)
		}
	})
	return &e2eFixture{e2eFront: front, url: url, authID: cfg.AuthID, token: cfg.AuthToken}
}

// quiesce waits until the sandbox has finished (and recorded) every request
// it received, so that what the recorder holds is final. Call it once the
// binary has exited: a killed client's last requests may still be ending.
func (fx *e2eFixture) quiesce(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	stable := 0
	for time.Now().Before(deadline) {
		if received, _ := fx.counts(); int64(fx.rec.len()) == received {
			stable++
			if stable == 3 {
				return
			}
		} else {
			stable = 0
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the sandbox is still serving: %d requests received, %d finished", fx.requests(), fx.rec.len())
}

// requests returns how many requests the fixture has received.
func (fx *e2eFixture) requests() int64 {
	received, _ := fx.counts()
	return received
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

func e2eRandString(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[mrand.IntN(len(alphabet))]
	}
	return string(b)
}

// e2eRecorder keeps every request the front or a sandbox reports; it is
// safe for concurrent use, as sandbox.Server.SetRecorder requires.
type e2eRecorder struct {
	mu   sync.Mutex
	reqs []sandbox.Request
}

func (r *e2eRecorder) add(q sandbox.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, q)
}

func (r *e2eRecorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// all returns the requests so far, in the order they were answered.
func (r *e2eRecorder) all() []sandbox.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

// postsByNumber returns the POSTs to each number that arrived at or after
// since (the zero time for all), each number's in order of arrival.
func (r *e2eRecorder) postsByNumber(since time.Time) map[string][]sandbox.Request {
	m := make(map[string][]sandbox.Request)
	for _, q := range r.all() {
		if q.Method == "POST" && !q.Time.Before(since) {
			m[q.Number] = append(m[q.Number], q)
		}
	}
	for _, qs := range m {
		slices.SortStableFunc(qs, func(a, b sandbox.Request) int { return a.Time.Compare(b.Time) })
	}
	return m
}

// e2eClean2xx returns the requests answered 2xx with a well-formed body: the
// only answers that can carry an api_id to the client.
func e2eClean2xx(qs []sandbox.Request) []sandbox.Request {
	var out []sandbox.Request
	for _, q := range qs {
		if q.Status >= 200 && q.Status < 300 && q.Fault == "" {
			out = append(out, q)
		}
	}
	return out
}

// e2eRunner runs the binary in a temporary directory with an environment
// built from scratch, and checks every run for leaked secrets, stack
// traces and malformed JSON logs.
type e2eRunner struct {
	t       *testing.T
	bin     string
	dir     string
	env     []string
	secrets []string
}

// e2eNewRunner returns an e2eRunner whose environment points at fx (PLIVO_API_URL,
// PLIVO_AUTH_ID, PLIVO_AUTH_TOKEN), or holds only PATH and HOME when fx is
// nil.
func e2eNewRunner(t *testing.T, fx *e2eFixture) *e2eRunner {
	t.Helper()
	r := &e2eRunner{t: t, bin: e2eBinary(t), dir: t.TempDir()}
	home := filepath.Join(r.dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	r.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
	if fx != nil {
		r.env = append(r.env, "PLIVO_API_URL="+fx.url, "PLIVO_AUTH_ID="+fx.authID)
		r = r.withToken(fx.authID, fx.token)
	}
	return r
}

// with returns a copy of r whose environment sets key to value.
func (r *e2eRunner) with(key, value string) *e2eRunner {
	c := r.without(key)
	c.env = append(c.env, key+"="+value)
	return c
}

// without returns a copy of r whose environment lacks key.
func (r *e2eRunner) without(key string) *e2eRunner {
	c := *r
	c.env = slices.DeleteFunc(slices.Clone(r.env), func(kv string) bool { return strings.HasPrefix(kv, key+"=") })
	c.secrets = slices.Clone(r.secrets)
	return &c
}

// withToken returns a copy of r whose PLIVO_AUTH_TOKEN is token, which then
// counts as a secret (with its Basic auth form for authID) for every run.
func (r *e2eRunner) withToken(authID, token string) *e2eRunner {
	c := r.with("PLIVO_AUTH_TOKEN", token)
	c.secrets = append(c.secrets, token, base64.StdEncoding.EncodeToString([]byte(authID+":"+token)))
	return c
}

// path returns name inside the runner's directory.
func (r *e2eRunner) path(name string) string { return filepath.Join(r.dir, name) }

// write creates name in the runner's directory and returns its path.
func (r *e2eRunner) write(name, content string) string {
	r.t.Helper()
	p := r.path(name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		r.t.Fatal(err)
	}
	return p
}

// e2eResult is how a run of the binary ended.
type e2eResult struct {
	code    int // exit code; -1 when a signal ended the process
	stdout  string
	stderr  string
	elapsed time.Duration
}

func (res e2eResult) String() string {
	return fmt.Sprintf("exit %d after %v\n--- stdout:\n%s\n--- stderr:\n%s", res.code, res.elapsed.Round(time.Millisecond), res.stdout, res.stderr)
}

// e2eSyncBuffer is a bytes.Buffer that can be read while the process writes it.
type e2eSyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *e2eSyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *e2eSyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// e2eProc is a running binary.
type e2eProc struct {
	r       *e2eRunner
	argv    []string
	cmd     *exec.Cmd
	ctx     context.Context
	cancel  context.CancelFunc
	stdout  *e2eSyncBuffer
	stderr  *e2eSyncBuffer
	started time.Time
	done    chan struct{} // closed when the process has exited
	waitErr error
	checked sync.Once
	res     e2eResult
}

// e2eRunTimeout bounds every run of the binary.
const e2eRunTimeout = 60 * time.Second

// start starts the binary with argv and stdin (nil for none).
func (r *e2eRunner) start(stdin io.Reader, argv ...string) *e2eProc {
	r.t.Helper()
	return r.startVia(stdin, nil, argv...)
}

// startVia is start, with the binary run by the command prefix: with
// prefix {"sh", "-c", "ulimit -f 8; exec \"$@\"", "sh"}, the shell runs
// the binary, its path then argv following the script as "$@".
func (r *e2eRunner) startVia(stdin io.Reader, prefix []string, argv ...string) *e2eProc {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eRunTimeout)
	p := &e2eProc{r: r, argv: argv, ctx: ctx, cancel: cancel, stdout: &e2eSyncBuffer{}, stderr: &e2eSyncBuffer{}, done: make(chan struct{})}
	if len(prefix) > 0 {
		p.cmd = exec.CommandContext(ctx, prefix[0], slices.Concat(prefix[1:], []string{r.bin}, argv)...)
	} else {
		p.cmd = exec.CommandContext(ctx, r.bin, argv...)
	}
	p.cmd.Dir = r.dir
	p.cmd.Env = r.env
	p.cmd.Stdin = stdin
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = p.stderr
	p.cmd.WaitDelay = 5 * time.Second
	// A session of its own has no controlling terminal, as under cron: run
	// asks nothing, even when the tests run on a terminal.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		cancel()
		r.t.Fatalf("start %v: %v", argv, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		p.res.elapsed = time.Since(p.started)
		close(p.done)
	}()
	r.t.Cleanup(func() {
		// A test that failed half-way must not leave the process behind.
		if !p.exited() {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		cancel()
	})
	return p
}

// run runs the binary with argv to the end and returns how it ended.
func (r *e2eRunner) run(argv ...string) e2eResult {
	r.t.Helper()
	return r.start(nil, argv...).wait()
}

// exited reports whether the process has ended.
func (p *e2eProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the process.
func (p *e2eProc) signal(sig os.Signal) {
	p.r.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.r.t.Fatalf("send %v: %v", sig, err)
	}
}

// waitTimeout waits up to d for the process to end and reports whether it
// did.
func (p *e2eProc) waitTimeout(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// wait waits for the process to end, checks its output (see check) and
// returns how it ended.
func (p *e2eProc) wait() e2eResult {
	t := p.r.t
	t.Helper()
	<-p.done
	p.checked.Do(func() {
		p.res.stdout, p.res.stderr = p.stdout.String(), p.stderr.String()
		p.res.code = 0
		var ee *exec.ExitError
		switch {
		case p.ctx.Err() != nil:
			t.Fatalf("plivo-bulk %v did not end within %v:\n%v", p.argv, e2eRunTimeout, p.res)
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

// check looks at a finished run's output and report for what must never be
// there: a secret, a Go stack trace, a data race report; and, with
// --log-format json, a log line that is not JSON.
func (p *e2eProc) check() {
	t := p.r.t
	t.Helper()
	outputs := map[string]string{"stdout": p.res.stdout, "stderr": p.res.stderr}
	if rep := e2eFlagValue(p.argv, "--report"); rep != "" && rep != "-" {
		if !filepath.IsAbs(rep) {
			rep = filepath.Join(p.r.dir, rep)
		}
		if b, err := os.ReadFile(rep); err == nil {
			outputs["report "+rep] = string(b)
		}
	}
	for name, s := range outputs {
		for _, secret := range p.r.secrets {
			if strings.Contains(s, secret) {
				t.Errorf("plivo-bulk %v: the token (or its Basic auth form) appears in %s", p.argv, name)
			}
		}
		for _, bad := range []string{"goroutine ", "panic:", "WARNING: DATA RACE"} {
			if strings.Contains(s, bad) {
				t.Errorf("plivo-bulk %v: %s holds %q:\n%s", p.argv, name, bad, s)
			}
		}
	}
	if e2eFlagValue(p.argv, "--log-format") == "json" {
		for _, line := range strings.Split(p.res.stderr, "\n") {
			if !strings.HasPrefix(line, "{") {
				continue
			}
			var v map[string]any
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Errorf("plivo-bulk %v: stderr line is not JSON (%v): %s", p.argv, err, line)
			}
		}
	}
}

// e2eFlagValue returns the value given to flag in argv ("--flag v" or
// "--flag=v"), or "".
func e2eFlagValue(argv []string, flag string) string {
	for i, a := range argv {
		if a == flag && i+1 < len(argv) {
			return argv[i+1]
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	return ""
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

// e2eReportColumns is the report's header, as README.md documents it.
var e2eReportColumns = []string{
	"row", "number", "status", "http_status", "api_id", "attempts", "error",
	"app_id", "subaccount", "alias", "compliance_application_id", "account", "api",
}

// e2eReportRow is one data line of a report.
type e2eReportRow struct {
	Row        int
	Number     string
	Status     string
	HTTPStatus string
	APIID      string
	Attempts   int
	Error      string
	Targets    [4]string // app_id, subaccount, alias, compliance_application_id cells
	Line       int       // line in the file
}

// e2eParseReport parses a report. With torn, an incomplete last line (no
// newline: the process died writing it) is dropped; without, it is an
// error.
func e2eParseReport(data []byte, torn bool) ([]e2eReportRow, error) {
	if len(data) > 0 && data[len(data)-1] != '\n' {
		if !torn {
			return nil, fmt.Errorf("the last line has no newline: %q", data[bytes.LastIndexByte(data, '\n')+1:])
		}
		data = data[:bytes.LastIndexByte(data, '\n')+1]
	}
	data = e2eSkipOrigin(data)
	if len(data) == 0 {
		return nil, errors.New("empty report")
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = len(e2eReportColumns)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if !slices.Equal(header, e2eReportColumns) {
		return nil, fmt.Errorf("header = %q, want %q", header, e2eReportColumns)
	}
	var rows []e2eReportRow
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		row, err1 := strconv.Atoi(rec[0])
		attempts, err2 := strconv.Atoi(rec[5])
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		rows = append(rows, e2eReportRow{
			Row: row, Number: rec[1], Status: rec[2], HTTPStatus: rec[3], APIID: rec[4],
			Attempts: attempts, Error: rec[6], Targets: [4]string(rec[7:11]), Line: line,
		})
	}
}

// e2eReadReport reads and parses a complete report.
func e2eReadReport(t *testing.T, path string) []e2eReportRow {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read report: %v", err)
	}
	rows, err := e2eParseReport(data, false)
	if err != nil {
		t.Fatalf("report %s: %v\n%s", path, err, data)
	}
	return rows
}

// e2eReportLines returns the number of complete data lines in the report at
// path, 0 if it does not exist yet.
func e2eReportLines(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return max(0, bytes.Count(e2eSkipOrigin(data), []byte("\n"))-1)
}

// e2eSkipOrigin drops the origin line that reports and undo files start
// with (account and API host), if it is there and complete.
func e2eSkipOrigin(data []byte) []byte {
	if bytes.HasPrefix(data, []byte("# plivo-bulk ")) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			return data[i+1:]
		}
	}
	return data
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

// e2eFieldsOf returns the decoded JSON fields of a POST as plain values, and
// the keys whose value was JSON null.
func e2eFieldsOf(q sandbox.Request) (map[string]string, []string) {
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

// e2eCSVLine returns cells as one CSV line, quoted where needed, with "\n".
func e2eCSVLine(cells ...string) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write(cells)
	w.Flush()
	return b.String()
}

// e2eSummaryCount returns the count the summary on stderr gives for label
// ("ok", "failed", "invalid", "already ok", "not attempted"), or -1 when it
// has none.
func e2eSummaryCount(stderr, label string) int {
	re := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(label) + ` +(\d+)\b`)
	m := re.FindStringSubmatch(stderr)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

//go:build linux

package main

// Tests of the questions run asks on a terminal: the binary runs
// with its standard streams on the slave side of a pseudo-terminal that the
// test opens, in a session of its own with that terminal as its controlling
// one, so that a Ctrl-C typed into the master goes through the terminal's
// line discipline and arrives as SIGINT, as it does for a person.

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
	"golang.org/x/sys/unix"
)

// openPTY opens a new pseudo-terminal and returns its master, which the
// test reads and writes, and its slave, the process's terminal.
func openPTY() (master, slave *os.File, err error) {
	// Non-blocking, so that os.NewFile puts the master in Go's poller and
	// Close interrupts its reads.
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	master, n := os.NewFile(uintptr(fd), "/dev/ptmx"), 0
	if err = unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err == nil { // unlock
		n, err = unix.IoctlGetInt(fd, unix.TIOCGPTN)
	}
	if err == nil {
		slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	}
	if err != nil {
		_ = master.Close()
	}
	return master, slave, err
}

// ptyProc is the binary on a pseudo-terminal: everything it writes, and
// the terminal's echo of what is typed, is in stdout.
type ptyProc struct {
	*e2eProc
	master   *os.File
	drained  chan struct{} // closed when the master has nothing more to read
	consumed int           // bytes of output that expect has gone past
}

// startPTY starts the binary with argv, its standard streams on a new
// pseudo-terminal, its controlling terminal; adjust, when not nil, changes
// the command first.
func (r *e2eRunner) startPTY(adjust func(*exec.Cmd), argv ...string) *ptyProc {
	t := r.t
	t.Helper()
	master, slave, err := openPTY()
	e2eOK(t, err)
	p := &ptyProc{master: master, drained: make(chan struct{})}
	p.e2eProc = r.startVia(nil, func(cmd *exec.Cmd) {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		// A session of its own with the pty as its controlling terminal: a
		// typed Ctrl-C signals its foreground process group.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		if adjust != nil {
			adjust(cmd)
		}
	}, argv...)
	_ = slave.Close()
	go func() { _, _ = io.Copy(p.stdout, master); close(p.drained) }() // EIO once the child exits
	t.Cleanup(func() { _ = master.Close() })
	return p
}

// expect waits until the output past what was already matched holds text,
// and moves past it.
func (p *ptyProc) expect(text string) {
	t := p.r.t
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := p.stdout.String()
		if i := strings.Index(out[p.consumed:], text); i >= 0 {
			p.consumed += i + len(text)
			return
		}
		if p.drainedNow() || time.Now().After(deadline) {
			_ = p.cmd.Process.Kill()
			t.Fatalf("plivo-bulk %v: no %q on the terminal (exited: %v); it shows:\n%s", p.argv, text, p.exited(), out)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// drainedNow reports whether the process has exited and all it wrote has
// been read.
func (p *ptyProc) drainedNow() bool {
	select {
	case <-p.drained:
		return p.exited()
	default:
		return false
	}
}

// typeIn types s on the terminal's keyboard.
func (p *ptyProc) typeIn(s string) {
	p.r.t.Helper()
	if _, err := p.master.Write([]byte(s)); err != nil {
		p.r.t.Fatalf("type %q: %v", s, err)
	}
}

// finish waits for the process to end and its output to be read, and
// returns how it ended (stdout holding the terminal's output).
func (p *ptyProc) finish() e2eResult {
	p.r.t.Helper()
	res := p.wait()
	select {
	case <-p.drained:
	case <-time.After(5 * time.Second):
		p.r.t.Fatalf("plivo-bulk %v: the terminal's output did not end", p.argv)
	}
	res.stdout = p.stdout.String()
	return res
}

// confirmChanged fails the test unless want of numbers are updated, once
// each, and no longer on e2eAppStart; it returns how many are not.
func confirmChanged(t *testing.T, fx *e2eFixture, numbers []string, want int) (changed int) {
	t.Helper()
	for _, num := range numbers {
		if n, _ := fx.srv.Number(num); n.AppID != e2eAppStart {
			changed++
		}
	}
	if posts := fx.postCount(t); want >= 0 && (changed != want || posts != want) {
		t.Errorf("%d updates, %d numbers changed; want %d and %d", posts, changed, want, want)
	}
	return changed
}

var confirmArgs = []string{"--rate", "0", "--progress", "never"}

// TestConfirm_prompt answers the question before a run on a terminal:
// yes sends everything; anything else and Ctrl-C send nothing.
func TestConfirm_prompt(t *testing.T) {
	t.Parallel()
	const n = 5
	tests := []struct {
		name     string
		answer   string // typed after the question
		wantCode int
		wantOut  string // on the terminal after the answer
	}{
		{"yes", "yes\r", 0, "ok             5"},
		{"yes with spaces", "  yes \n", 0, "ok             5"},
		{"no", "no\r", 1, "not confirmed: the answer was not \"yes\"; nothing more was sent"},
		{"empty line", "\r", 1, "not confirmed"},
		{"YES is not yes", "YES\r", 1, "not confirmed"},
		{"ctrl-c", "\x03", 130, "plivo-bulk: interrupted"},
		{"end of input", "\x04", 1, "not confirmed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx, r, input, numbers := e2eMoveAll(t, sandbox.Config{}, 0, n, e2eAppA)
			p := r.startPTY(nil, slices.Concat([]string{"run", "--input", input, "--report", "report.csv", "--summary", "summary.json"}, confirmArgs)...)
			p.expect("About to update numbers on account " + fx.authID + " at http://127.0.0.1:")
			p.expect("rows: 5, of which 5 to send")
			p.expect(`app_id → "` + e2eAppA + `": 5 numbers`)
			p.expect("cost: at most 7 requests") // 5 updates, the account check and the app's pre-flight read
			p.expect("Type yes to go on: ")
			// Nothing is sent while the question waits.
			if got := fx.postCount(t); got != 0 {
				t.Fatalf("%d updates sent before the answer", got)
			}
			p.typeIn(tt.answer)
			res := p.finish()
			e2eExit(t, "run", res, tt.wantCode)
			e2eHas(t, "stdout", res.stdout, tt.wantOut)
			if confirmChanged(t, fx, numbers, map[bool]int{true: n}[tt.wantCode == 0]); tt.wantCode == 0 {
				return
			}
			if tt.wantCode == 1 {
				stopAdvice(t, res.stdout, "5 rows were not attempted\r\n")
			}
			sum := e2eReadSummary[summaryFile](t, r.path("summary.json"))
			if want := map[int]string{1: "declined", 130: "interrupted"}[tt.wantCode]; sum.StoppedBy != want {
				t.Errorf("summary stopped_by %q, want %q", sum.StoppedBy, want)
			}
		})
	}
}

// TestConfirm_asksOnTheTerminalWhateverIsRedirected: the question is
// asked on the controlling terminal itself, so that stderr sent to a log
// (2>run.log) does not hide it, and the input read from standard input does
// not skip it; what was typed before the question (while the input is read)
// is thrown away, not taken as its answer. With --yes nothing is asked.
func TestConfirm_asksOnTheTerminalWhateverIsRedirected(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		redirect, answer string
		changed          int
	}{{"stderr to a log", "yes\r", 3}, {"input on stdin", "no\r", 0}, {"--yes", "", 3}} {
		t.Run(tt.redirect, func(t *testing.T) {
			t.Parallel()
			fx, r, input, numbers := e2eMoveAll(t, sandbox.Config{}, 0, 3, e2eAppA)
			log, err := os.Create(r.path("run.log"))
			e2eOK(t, err)
			defer log.Close()
			args := []string{"run", "--input", input, "--report", "report.csv"}
			adjust := func(cmd *exec.Cmd) { cmd.Stderr = log }
			pr, pw, err := os.Pipe()
			e2eOK(t, err)
			t.Cleanup(func() { _ = pr.Close(); _ = pw.Close() })
			switch tt.redirect {
			case "input on stdin":
				args[2] = "-"
				adjust = func(cmd *exec.Cmd) {
					cmd.Stdin = pr
					cmd.SysProcAttr.Ctty = 1 // the terminal is on stdout
				}
			case "--yes":
				args = append(args, "--yes")
			}
			p := r.startPTY(adjust, slices.Concat(args, confirmArgs)...)
			if tt.redirect == "input on stdin" {
				p.typeIn("yes\r") // no question before the input ends: typed ahead of it
				_, _ = pw.WriteString(e2eRead(t, input))
				_ = pw.Close()
			}
			if tt.answer != "" {
				p.expect("rows: 3, of which 3 to send")
				p.expect("Type yes to go on: ")
				if got := fx.postCount(t); got != 0 {
					t.Fatalf("%d updates sent before the answer", got)
				}
				p.typeIn(tt.answer)
			}
			res := p.finish()
			if res.code != map[bool]int{true: 0, false: 1}[tt.changed > 0] || tt.answer == "" && strings.Contains(res.stdout, "Type yes") {
				t.Fatalf("exit code %d, want 0 after a yes, 1 after a no, no question with --yes\n%s", res.code, res.stdout)
			}
			confirmChanged(t, fx, numbers, tt.changed)
			if logged, _ := os.ReadFile(r.path("run.log")); bytes.Contains(logged, []byte("Type yes")) {
				t.Errorf("the question went to stderr's log too:\n%s", logged)
			}
		})
	}
}

// TestConfirm_backgroundJobIsRefused: a run in the background of a shell
// on a terminal cannot be answered, and the kernel would stop it when it
// read the terminal. Started there (plivo-bulk run ... &), it is refused at
// once (exit 2); moved there before the question (Ctrl-Z, then bg, while it
// reads its input), the question is declined (exit 1). Nothing is sent.
func TestConfirm_backgroundJobIsRefused(t *testing.T) {
	t.Parallel()
	const reason = "the run is in the background, where the confirmation cannot be asked: run it in the foreground, or with --yes"
	sh, err := exec.LookPath("sh")
	e2eOK(t, err)
	for _, tt := range []struct {
		name, script string // the shell has job control (set -m), as on a terminal
		code         int
	}{
		{"started in the background", `set -m; "$0" "$@" & wait $!`, 2},
		{"moved to the background", `set -m; "$0" "$@"; bg %1 >/dev/null; echo in the background; wait %1`, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx, r, input, numbers := e2eMoveAll(t, sandbox.Config{}, 0, 3, e2eAppA)
			data, err := os.ReadFile(input)
			e2eOK(t, err)
			fifo := r.path("numbers.fifo")
			e2eOK(t, syscall.Mkfifo(fifo, 0o600))
			t.Cleanup(func() { // a run refused before it opened its input leaves the opener below waiting
				if f, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
					_ = f.Close()
				}
			})
			opened := make(chan *os.File, 1)
			go func() {
				f, _ := os.OpenFile(fifo, os.O_WRONLY, 0) // returns once the run opens the input
				opened <- f
			}()
			p := r.startPTY(func(cmd *exec.Cmd) {
				cmd.Path, cmd.Args = sh, append([]string{"sh", "-c", tt.script, cmd.Path}, cmd.Args[1:]...)
			}, slices.Concat([]string{"run", "--input", fifo, "--report", "report.csv"}, confirmArgs)...)
			var w *os.File
			select {
			case w = <-opened:
			case <-p.done:
			}
			if w != nil {
				if tt.code == 1 {
					p.typeIn("\x1a") // Ctrl-Z: the run, in the foreground, reads its input
					p.expect("in the background")
				}
				_, _ = w.Write(data)
				_ = w.Close()
			}
			res := p.finish()
			if res.code != tt.code || !strings.Contains(res.stdout, reason) {
				t.Fatalf("exit code %d, want %d with the reason\n%s", res.code, tt.code, res.stdout)
			}
			confirmChanged(t, fx, numbers, 0)
		})
	}
}

// TestConfirm_ttyThatIsNoTerminalAsksNothing: where /dev/tty opens
// but is no terminal (a sandbox that binds /dev/null there), there is no
// one to ask, as under cron: the run goes on, and is not refused as if it
// were in the background.
func TestConfirm_ttyThatIsNoTerminalAsksNothing(t *testing.T) {
	t.Parallel()
	const bind = `mount --bind /dev/null /dev/tty && exec "$@"`
	if out, err := e2eCombinedOutput(exec.Command("unshare", "-rm", "sh", "-c", bind, "sh", "true")); err != nil {
		t.Skipf("no mount namespace to bind /dev/null on /dev/tty in: %v %s", err, out)
	}
	fx, r, input, numbers := e2eMoveAll(t, sandbox.Config{}, 0, 3, e2eAppA)
	res := r.startVia([]string{"unshare", "-rm", "sh", "-c", bind, "sh"}, nil,
		slices.Concat([]string{"run", "--input", input, "--report", "report.csv"}, confirmArgs)...).wait()
	e2eExit(t, "run", res, 0)
	confirmChanged(t, fx, numbers, 3)
}

// TestConfirm_canaryAsksAgain runs a canary on a terminal: after the
// first yes, the canary's rows are sent and shown, and a second question,
// which a line typed ahead of it does not answer, decides the rest. While it
// waits nothing is written over it (the progress stops); after a yes the bar
// goes on from the canary's count; log lines take lines of their own; a dumb
// terminal gets no \r and no colour.
func TestConfirm_canaryAsksAgain(t *testing.T) {
	t.Parallel()
	const n, canary = 12, 3
	for _, tt := range []struct{ answer, term, progress string }{
		{"yes", "xterm", "auto"}, {"yes", "xterm", "never"}, {"yes", "dumb", "auto"}, {"no", "xterm", "never"}, {"ctrl-c", "xterm", "never"},
	} {
		t.Run(tt.answer+" "+tt.term+" "+tt.progress, func(t *testing.T) {
			t.Parallel()
			fx, r, input, numbers := e2eMoveAll(t, sandbox.Config{}, 0, n, e2eAppA)
			p := r.with("TERM", tt.term).startPTY(nil, "run", "--input", input, "--report", "report.csv", "--canary", strconv.Itoa(canary),
				"--rate", "0", "--progress", tt.progress, "--log-every", "10ms")
			p.expect(fmt.Sprintf("1 pre-flight read, 0 listing pages, %d canary reads)", canary))
			p.expect("Type yes to go on: ")
			p.typeIn("yes\ryes\r") // the second yes is typed ahead of the canary's question
			p.expect(fmt.Sprintf("Canary: %d rows sent, each read back, all in their target state:", canary))
			p.expect(fmt.Sprintf("row 2 %s: ok app_id=%q", numbers[0], e2eAppA))
			p.expect("Check them now, then type yes to send the rest: ")
			asked := len(p.stdout.String())
			confirmChanged(t, fx, numbers, canary) // while the question waits, exactly the canary is applied
			// The time a person takes to read: the old progress loop went on
			// writing in it, every --log-every.
			time.Sleep(100 * time.Millisecond)
			if after := p.stdout.String()[asked:]; after != "" {
				t.Errorf("written while the question waits: %q", after)
			}
			p.typeIn(map[string]string{"no": "no\r", "yes": "yes\r", "ctrl-c": "\x03"}[tt.answer])
			res := p.finish()
			wantCode, wantChanged := map[string]int{"no": 1, "yes": 0, "ctrl-c": 130}[tt.answer], canary
			if tt.answer == "yes" {
				wantChanged = n
			}
			e2eExit(t, "run", res, wantCode)
			confirmChanged(t, fx, numbers, wantChanged)
			if rows := e2eAttempted(e2eReadReport(t, r.path("report.csv"))); len(rows) != wantChanged {
				t.Errorf("report has %d rows, want %d", len(rows), wantChanged)
			}
			out := res.stdout
			for _, l := range screen(out) {
				if i := strings.Index(l, "level="); i > 0 && !strings.HasPrefix(l, "time=") {
					t.Errorf("a log line glued to something else: %q", l)
				}
			}
			answered := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(out[asked:], "")
			switch {
			case tt.progress == "auto" && tt.term == "xterm":
				if !strings.Contains(answered, fmt.Sprintf(" %d/%d ok %d failed 0", n, n, n)) || strings.Contains(answered, fmt.Sprintf("/%d ", n-canary)) {
					t.Errorf("after the canary the bar does not go on to %d/%d from the canary's %d:\n%q", n, n, canary, answered)
				}
			case strings.Contains(strings.ReplaceAll(out, "\r\n", "\n"), "\r") || strings.Contains(out, "\x1b["):
				t.Errorf("a \\r or a colour code without a bar:\n%q", out)
			}
			if tt.answer == "yes" {
				return
			}
			if want := fmt.Sprintf("%d rows were not attempted", n-canary); !strings.Contains(out, want) {
				t.Errorf("the terminal does not show %q:\n%s", want, out)
			}
			// The rest is resumable: off a terminal, nothing is asked.
			res = r.run(slices.Concat([]string{"run", "--input", input, "--report", "report.csv", "--resume"}, confirmArgs)...)
			e2eExit(t, "resume", res, 0)
			confirmChanged(t, fx, numbers, n) // over both runs
		})
	}
}

// TestConfirm_bigRunCanaryUndo: past 1,000 rows "yes" is not enough,
// the account id is; answering no after the canary of 20 leaves at most 20
// numbers changed, moved to an application that exists but is the wrong
// one, and the undo file restores them.
func TestConfirm_bigRunCanaryUndo(t *testing.T) {
	t.Parallel()
	const n, canary = 1001, 20
	fx, r, input, numbers := e2eMoveAll(t, sandbox.Config{}, 0, n, e2eAppB)
	before := fx.srv.Numbers()
	question := "Type the account id (" + fx.authID + ") to go on: "
	p := r.startPTY(nil, slices.Concat([]string{"run", "--input", input, "--report", "refused.csv"}, confirmArgs)...)
	p.expect("rows: 1001, of which 1001 to send")
	p.expect(question)
	p.typeIn("yes\r")
	if res := p.finish(); res.code != 1 || !strings.Contains(res.stdout, `the answer was not "`+fx.authID+`"`) {
		t.Fatalf("after yes: exit code %d, want 1 (declined)\n%s", res.code, res.stdout)
	}
	if posts := fx.postCount(t); posts != 0 {
		t.Fatalf("%d updates sent after a refused yes, want 0", posts)
	}

	p = r.startPTY(nil, slices.Concat([]string{"run", "--input", input, "--report", "report.csv", "--canary", strconv.Itoa(canary), "--undo", "undo.csv", "--summary", "summary.json"}, confirmArgs)...)
	p.expect(fmt.Sprintf(`app_id → "%s": 1001 numbers`, e2eAppB))
	p.expect("(counted against the settings the numbers hold now)")
	p.expect(question)
	p.typeIn(fx.authID + "\r")
	p.expect(fmt.Sprintf("Canary: %d rows sent", canary))
	p.expect("Check them now, then type yes to send the rest: ")
	p.typeIn("no\r")
	if res := p.finish(); res.code != 1 {
		t.Fatalf("exit code %d, want 1\n%s", res.code, res.stdout)
	}
	changed := confirmChanged(t, fx, numbers, -1)
	if changed == 0 || changed > canary {
		t.Fatalf("%d numbers changed, want the canary's, at most %d", changed, canary)
	}
	if sum := e2eReadSummary[summaryFile](t, r.path("summary.json")); sum.StoppedBy != "declined" || sum.OK != canary || sum.NotAttempted != n-canary {
		t.Errorf("summary: stopped_by %q, ok %d, not attempted %d; want declined, %d, %d", sum.StoppedBy, sum.OK, sum.NotAttempted, canary, n-canary)
	}
	if undoRows := e2eReportLines(r.path("undo.csv")); undoRows != changed {
		t.Errorf("the undo file has %d rows for %d changed numbers", undoRows, changed)
	}
	e2eExit(t, "undo run", r.run(slices.Concat([]string{"run", "--input", "undo.csv", "--report", "undo-report.csv"}, confirmArgs)...), 0)
	e2eUntouched(t, fx, "after the undo run", before...)
}

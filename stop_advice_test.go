package main

// End-to-end tests of what a stopped run advises: --resume only where it
// finishes the run. A declined confirmation, refused credentials and a
// report on standard output into a closed pipe each get advice that helps.

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// TestStopAdvice_resumeOnlyWhereItHelps runs the binary into each stop and
// checks what stderr (the terminal, for the confirmation) advises.
func TestStopAdvice_resumeOnlyWhereItHelps(t *testing.T) {
	t.Parallel()
	nums := e2eNumberRange(1700, 30)
	t.Run("credentials refused", func(t *testing.T) {
		t.Parallel()
		fx := e2eStartFixture(t, sandbox.Config{}, e2eNumbers(nums...)...)
		r := e2eNewRunner(t, fx).withToken(fx.authID, "not-the-token")
		input := r.write("numbers.csv", e2eInput("number,app_id", e2eAppA, nums...))
		res := r.run(e2eRun(input, "report.csv", "--rate", "0")...)
		e2eExit(t, "run", res, 3)
		stopAdvice(t, res.stderr, "30 rows were not attempted: fix PLIVO_AUTH_ID or PLIVO_AUTH_TOKEN, then run again")
	})
	t.Run("report into a closed pipe", func(t *testing.T) {
		t.Parallel()
		fx := e2eStartFixture(t, sandbox.Config{Latency: 20 * time.Millisecond}, e2eNumbers(nums...)...)
		r := e2eNewRunner(t, fx)
		input := r.write("numbers.csv", e2eInput("number,app_id", e2eAppA, nums...))
		script := `{ "$@"; echo $? > code.txt; } | head -2 > /dev/null`
		res := r.startVia(nil, []string{"sh", "-c", script, "sh"}, e2eRun(input, "-", "--rate", "30")...).wait()
		if code := strings.TrimSpace(e2eRead(t, r.path("code.txt"))); code != "3" {
			t.Fatalf("exit code %s, want 3\n%v", code, res)
		}
		stopAdvice(t, res.stderr, "could not be written to the report: they are on stderr as JSON lines; standard output cannot be resumed: run the file again with --skip-unchanged")
	})
	t.Run("confirmation declined", func(t *testing.T) {
		t.Parallel()
		fx, r, input, _ := e2eMoveAll(t, sandbox.Config{}, 0, 5, e2eAppA)
		p := r.startPTY(slices.Concat([]string{"run", "--input", input, "--report", "report.csv"}, confirmArgs)...)
		p.expect("Type yes to go on: ")
		p.typeIn("no\r")
		res := p.finish()
		if res.code != 1 || confirmPosts(t, fx) != 0 {
			t.Fatalf("exit code %d, %d updates; want 1 and none\n%s", res.code, confirmPosts(t, fx), res.stdout)
		}
		stopAdvice(t, res.stdout, "5 rows were not attempted\r\n")
	})
}

// stopAdvice checks that out says want and advises no --resume.
func stopAdvice(t *testing.T, out, want string) {
	t.Helper()
	if !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if strings.Contains(out, "--resume") {
		t.Errorf("output advises --resume, which cannot help here:\n%s", out)
	}
}

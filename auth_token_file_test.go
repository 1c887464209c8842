package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// TestAuthTokenFile_authenticates: the token read from PLIVO_AUTH_TOKEN_FILE
// is the one the requests' Basic credential carries (the sandbox answers 401
// to any other), less one trailing newline and nothing else.
func TestAuthTokenFile_authenticates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, content, envToken string
		want                    int
	}{
		{name: "no newline", content: "TOKEN", want: exitOK},
		{name: "one newline, as echo writes", content: "TOKEN\n", want: exitOK},
		{name: "the same token in PLIVO_AUTH_TOKEN too", content: "TOKEN\n", envToken: "TOKEN", want: exitOK},
		// Only one newline is the file's end; the rest is the token's, which the API refuses.
		{name: "two newlines", content: "TOKEN\n\n", want: exitAborted},
		{name: "a trailing space", content: "TOKEN \n", want: exitAborted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := e2eStartFixture(t, sandbox.Config{}, e2eNumbers("12025550601")...)
			r := e2eNewRunner(t, fx).with("PLIVO_AUTH_TOKEN", strings.ReplaceAll(tt.envToken, "TOKEN", fx.token))
			tokenFile := filepath.Join(t.TempDir(), "token") // outside the runner's directory, which check reads
			_ = os.WriteFile(tokenFile, []byte(strings.ReplaceAll(tt.content, "TOKEN", fx.token)), 0o400)
			r = r.with("PLIVO_AUTH_TOKEN_FILE", tokenFile)
			res := r.run(e2eRun(r.write("numbers.csv", e2eInput("number,app_id", e2eAppA, "12025550601")), "report.csv", "--rate", "0")...)
			e2eExit(t, "run", res, tt.want) // e2eProc.check looks for the token
		})
	}
}

// TestAuthTokenFile_unusable: a token file that is missing, unreadable,
// empty, or that disagrees with PLIVO_AUTH_TOKEN stops the run with exit 2
// before anything is sent, naming the variable and the path, never a token.
func TestAuthTokenFile_unusable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		content  *string // nil: no file at all
		dir      bool    // a directory at the path: opens, but cannot be read
		envToken string  // PLIVO_AUTH_TOKEN
		want     string
	}{
		{name: "missing file", want: "no such file"},
		{name: "a directory", dir: true, want: "is a directory"},
		{name: "empty file", content: e2ePtr(""), want: "empty"},
		{name: "a newline only", content: e2ePtr("\n"), want: "empty"},
		{name: "different from PLIVO_AUTH_TOKEN", content: e2ePtr("tokenInTheFile0123456789\n"), envToken: "tokenInTheEnvironment0123456789", want: "different"},
		{name: "missing though PLIVO_AUTH_TOKEN is set", envToken: "tokenInTheEnvironment0123456789", want: "no such file"},
		{name: "far too long", content: e2ePtr(strings.Repeat("x", 5000)), want: "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := e2eStartFixture(t, sandbox.Config{}, e2eNumbers("12025550601")...)
			tokenFile := filepath.Join(t.TempDir(), "token") // outside the runner's directory, which check reads
			if tt.dir {
				_ = os.Mkdir(tokenFile, 0o700)
			}
			r := e2eNewRunner(t, fx).with("PLIVO_AUTH_TOKEN", tt.envToken).with("PLIVO_AUTH_TOKEN_FILE", tokenFile)
			if tt.content != nil {
				_ = os.WriteFile(tokenFile, []byte(*tt.content), 0o400)
				if len(*tt.content) > 1 { // never shown either (e2eProc.check)
					r.secrets = append(r.secrets, strings.TrimSpace((*tt.content)[:20]))
				}
			}
			input := r.write("numbers.csv", e2eInput("number,app_id", e2eAppA, "12025550601"))
			for _, args := range [][]string{
				e2eRun(input, "report.csv", "--rate", "0"),
				// An address the sandbox refuses: were the token not checked
				// first, it would say so, not serve until the test times out.
				{"sandbox", "--listen", "192.0.2.1:0"},
			} {
				res := r.run(args...)
				e2eExit(t, args[0], res, exitUsage)
				e2eHas(t, "stderr", res.stderr, "PLIVO_AUTH_TOKEN_FILE", tokenFile, tt.want)
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

// TestAuthTokenFile_fifoWaitEndsAtTheStop: a token file that is a named pipe
// nobody writes to must not hold the run past the first signal, as no other
// wait does.
func TestAuthTokenFile_fifoWaitEndsAtTheStop(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "token")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	input := filepath.Join(dir, "numbers.csv")
	_ = os.WriteFile(input, []byte(e2eInput("number,app_id", e2eAppA, "12025550601")), 0o600)
	env := envOf(map[string]string{"PLIVO_API_URL": "http://127.0.0.1:1", "PLIVO_AUTH_ID": "MAXXXXXXXXXXXXXXXXXX", "PLIVO_AUTH_TOKEN_FILE": fifo})
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		var out bytes.Buffer
		e2eForks.runStarts()
		defer e2eForks.runEnds()
		done <- run(t.Context(), stop, []string{"run", "--input", input, "--report", filepath.Join(dir, "report.csv")}, env, nil, &out, &out)
	}()
	close(stop)
	select {
	case err := <-done:
		if got := codeOf(err); got != exitInterrupted {
			t.Errorf("exit code %d (%v), want %d", got, err, exitInterrupted)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the run still waits for the token file's writer after the stop")
	}
}

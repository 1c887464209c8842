package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
			fx, r, input, _ := e2eMoveAll(t, sandbox.Config{}, 601, 1, e2eAppA)
			tokenFile := filepath.Join(t.TempDir(), "token") // outside the runner's directory, which check reads
			_ = os.WriteFile(tokenFile, []byte(strings.ReplaceAll(tt.content, "TOKEN", fx.token)), 0o400)
			r = r.with("PLIVO_AUTH_TOKEN", strings.ReplaceAll(tt.envToken, "TOKEN", fx.token)).with("PLIVO_AUTH_TOKEN_FILE", tokenFile)
			res := r.run(e2eRun(input, "report.csv", "--rate", "0")...)
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
			fx, r, input, _ := e2eMoveAll(t, sandbox.Config{}, 601, 1, e2eAppA)
			tokenFile := filepath.Join(t.TempDir(), "token") // outside the runner's directory, which check reads
			if tt.dir {
				_ = os.Mkdir(tokenFile, 0o700)
			}
			r = r.with("PLIVO_AUTH_TOKEN", tt.envToken).with("PLIVO_AUTH_TOKEN_FILE", tokenFile)
			if tt.content != nil {
				_ = os.WriteFile(tokenFile, []byte(*tt.content), 0o400)
				if len(*tt.content) > 1 { // never shown either (e2eProc.check)
					r.secrets = append(r.secrets, strings.TrimSpace((*tt.content)[:20]))
				}
			}
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

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

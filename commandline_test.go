package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// runWith runs the command line in-process, as main does, with getenv as
// its environment and stdin as its standard input, and returns the exit
// code and what it printed.
func runWith(t *testing.T, getenv func(string) string, stdin io.Reader, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), nil, args, getenv, stdin, &stdout, &stderr)
	code := exitCodeSaid(err, notices(&stderr, logsJSON(args)))
	if tok := getenv("PLIVO_AUTH_TOKEN"); tok != "" && strings.Contains(stdout.String()+stderr.String(), tok) {
		t.Errorf("the token appears in the output of %v", args)
	}
	return code, stdout.String(), stderr.String()
}

// envOf is an environment that holds m only.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// parseInto parses args with the flags of c, as the command line would
// before c runs.
func parseInto(c *cobra.Command, args []string) error {
	if err := c.ParseFlags(args); err != nil {
		return flagError(c, err)
	}
	return nil
}

// checkGolden compares got with testdata/name, which -update rewrites.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -run %s -update rewrites it):\n%s", path, t.Name(), got)
	}
}

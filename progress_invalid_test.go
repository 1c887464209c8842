package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// TestRun_progressLeavesInvalidRowsOut: the bar's total is the rows to
// send, which an invalid row is not; counted, it read 100% before the first
// update and went past its total (6/3).
func TestRun_progressLeavesInvalidRowsOut(t *testing.T) {
	nums := e2eNumberRange(0, 3)
	input := "number,app_id,alias\n"
	for _, n := range nums {
		input += n + "," + e2eAppStart + ",new\n" + "12x,,bad\n"
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "numbers.csv")
	if err := os.WriteFile(in, []byte(input), 0o600); err != nil {
		t.Fatal(err)
	}
	fx := e2eStartFixture(t, sandbox.Config{}, e2eNumbers(nums...)...)
	env := envOf(map[string]string{"PLIVO_API_URL": fx.url, "PLIVO_AUTH_ID": fx.authID, "PLIVO_AUTH_TOKEN": fx.token})
	code, _, stderr := runWith(t, env, nil, "run", "--input", in, "--report", filepath.Join(dir, "r.csv"),
		"--rate", "0", "--progress", "always")
	if code != 1 || !strings.Contains(stderr, " 3/3 ok 3 failed 0 ") {
		t.Errorf("exit %d, want 1 (invalid rows) and the bar at 3/3 ok 3 failed 0:\n%q", code, stderr)
	}
	for _, m := range regexp.MustCompile(` (\d+)/(\d+) ok`).FindAllStringSubmatch(stderr, -1) {
		if done, _ := strconv.Atoi(m[1]); done > 3 || m[2] != "3" {
			t.Errorf("the bar showed %s/%s: past the 3 rows to send", m[1], m[2])
		}
	}
}

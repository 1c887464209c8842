package main

import (
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestOutputs_replaceAFile: every output goes through one helper. "-"
// (and /dev/stdout) is standard output, and two outputs there are refused;
// a symlink is written through; a new file follows the umask and a
// replaced one keeps its mode; what is not a regular file is written in
// place, never replaced.
func TestOutputs_replaceAFile(t *testing.T) {
	r := e2eNewRunner(t, nil)
	p := r.path
	r.write("in.csv", "number,alias\n12025550101,a\n")
	run := func(args ...string) e2eResult { return r.run(append(args, "--sandbox", "--rate", "0")...) }
	isSummary := func(s string) bool {
		var v struct{ Command string }
		return json.Unmarshal([]byte(s), &v) == nil && v.Command != ""
	}

	for _, stdout := range []string{"-", "/dev/stdout"} {
		res := run("run", "--input", p("in.csv"), "--report", p("r-"+filepath.Base(stdout)+".csv"), "--summary", stdout)
		if res.code != 0 || !isSummary(res.stdout) {
			t.Errorf("--summary %s: exit %d, stdout %q\n%s", stdout, res.code, res.stdout, res.stderr)
		}
	}
	if res := run("export", "--output", "-"); res.code != 0 || !strings.HasPrefix(res.stdout, "number,app_id,subaccount,alias\n") {
		t.Errorf("export --output -: exit %d, stdout %.60q", res.code, res.stdout)
	}
	for _, args := range [][]string{
		{"run", "--input", p("in.csv"), "--report", "-", "--summary", "-"},
		{"plan", "--input", p("in.csv"), "--output", "/dev/stdout", "--summary", "-"},
		{"run", "--input", p("in.csv"), "--report", p("r.csv"), "--undo", "-"},
	} {
		if res := run(args...); res.code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, res.code, res.stderr)
		}
	}

	// A symlink is written through, and stays a link; the file it names
	// keeps its mode; a new file has the mode the umask gives.
	_ = os.WriteFile(p("target.json"), []byte("old"), 0o600)
	_ = os.Symlink("target.json", p("link.json"))
	_ = os.Symlink("report-target.csv", p("report-link.csv"))
	if res := run("run", "--input", p("in.csv"), "--report", p("report-link.csv"), "--summary", p("link.json")); res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	probe, _ := os.OpenFile(p("probe"), os.O_CREATE|os.O_WRONLY, 0o666)
	_ = probe.Close()
	umasked := mode(t, p("probe"))
	data, _ := os.ReadFile(p("link.json"))
	switch {
	case !isSummary(string(data)):
		t.Errorf("the symlink's target holds %q, want the summary", data)
	case mode(t, p("target.json")) != 0o600:
		t.Errorf("the replaced summary has mode %v, want the 0600 it had", mode(t, p("target.json")))
	case mode(t, p("report-target.csv")) != umasked || mode(t, p("r--.csv")) != umasked:
		t.Errorf("new files have modes %v and %v, want %v as the umask says", mode(t, p("report-target.csv")), mode(t, p("r--.csv")), umasked)
	}
	for _, link := range []string{"link.json", "report-link.csv"} {
		if st, err := os.Lstat(p(link)); err != nil || st.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symlink", link)
		}
	}

	// A file open as a descriptor (/dev/fd/N, as the shell's 3>file gives)
	// is written in place: renamed over, the shell's file would be lost.
	held, err := os.Create(p("held.json"))
	e2eOK(t, err)
	defer held.Close()
	before, _ := held.Stat()
	fd := "/dev/fd/" + strconv.Itoa(int(held.Fd()))
	if res := run("export", "--output", p("e.csv"), "--summary", fd); res.code != 0 {
		t.Errorf("--summary %s: exit %d\n%s", fd, res.code, res.stderr)
	}
	after, _ := os.Stat(p("held.json"))
	if data, _ := os.ReadFile(p("held.json")); !os.SameFile(before, after) || !isSummary(string(data)) {
		t.Errorf("--summary %s: the file was replaced, or holds %q", fd, data)
	}
	if mode(t, p("e.csv")) != umasked {
		t.Errorf("a new export has mode %v, want %v as the umask says", mode(t, p("e.csv")), umasked)
	}
	// A device is written in place: one made here, not /dev/null, which
	// a regression run as root would replace for the whole machine.
	for _, name := range []string{"null", "null2"} {
		if err := unix.Mknod(p(name), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
			t.Skip("cannot make a device here:", err)
		}
	}
	res := run("export", "--output", p("null"), "--force", "--summary", p("null2"))
	for _, name := range []string{"null", "null2"} {
		if st, err := os.Lstat(p(name)); res.code != 0 || err != nil || st.Mode()&fs.ModeCharDevice == 0 {
			t.Errorf("export --output DEVICE --summary DEVICE: exit %d, %s replaced\n%s", res.code, name, res.stderr)
		}
	}
}

// TestOutputs_namedPipe: a FIFO is written in place, never replaced; with
// no reader the open fails at once instead of waiting past Ctrl-C.
func TestOutputs_namedPipe(t *testing.T) {
	r := e2eNewRunner(t, nil)
	fifo, input := r.path("fifo"), r.write("in.csv", "number,alias\n12025550101,a\n")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no named pipes here:", err)
	}
	if res := r.run("plan", "--sandbox", "--input", input, "--output", fifo); res.code != 2 || !strings.Contains(res.stderr, "no process reads") || res.elapsed > 5*time.Second {
		t.Errorf("a plan into a FIFO without a reader: %v", res)
	}
	// With a reader (opened without waiting for a writer), the plan goes
	// into the pipe's buffer; read once the run has ended.
	rd, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	e2eOK(t, err)
	defer rd.Close()
	res := r.run("plan", "--sandbox", "--input", input, "--output", fifo, "--rate", "0")
	if out, _ := io.ReadAll(rd); res.code != 0 || !strings.HasPrefix(string(out), "row,number,change,error,") {
		t.Errorf("a plan into a FIFO: the reader got %q\n%v", out, res)
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&fs.ModeNamedPipe == 0 {
		t.Error("the FIFO was replaced")
	}
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	e2eOK(t, err)
	return st.Mode().Perm()
}

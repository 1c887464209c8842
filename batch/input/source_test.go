package input

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

const twoRows = "number,alias\n12025550101,a\n12025550102,b\n"

// numbers returns the numbers Each yields, space-separated.
func numbers(t *testing.T, in *Input) string {
	t.Helper()
	var got []string
	for _, r := range readAll(t, in) {
		got = append(got, r.Number)
	}
	return strings.Join(got, " ")
}

func mkfifo(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	return path
}

// TestOpen_sendsWhatWasChecked changes the input after the check: rewritten in place, then
// replaced; a FIFO and standard input are read once. Each yields what was checked, pass after pass.
func TestOpen_sendsWhatWasChecked(t *testing.T) {
	t.Parallel()
	path, fifo := filepath.Join(t.TempDir(), "in.csv"), mkfifo(t)
	must(t, os.WriteFile(path, []byte(twoRows), 0o600))
	go func() { _ = os.WriteFile(fifo, []byte(twoRows), 0) }()
	for _, p := range []string{path, fifo, "-"} {
		in, err := Open(context.Background(), p, strings.NewReader(twoRows))
		must(t, err)
		defer in.Close()
		for _, change := range []string{twoRows + "12025550103,c\n12025550101,conflict\n", "number,alias\n12025559999,z\n"} {
			if p == path {
				err = errors.Join(os.WriteFile(path, []byte(change), 0o600), os.WriteFile(path+".new", []byte(change), 0o600), os.Rename(path+".new", path))
			}
			if got := numbers(t, in); err != nil || got != "12025550101 12025550102" || in.Rows() != 2 {
				t.Errorf("%s: Each yields %s, Rows %d (%v); want the two rows checked", in.Name(), got, in.Rows(), err)
			}
		}
	}
}

// TestOpen_cancelled: ctx ends every wait of Open: the open of a FIFO that no one writes to, a FIFO
// whose writer stalls, a standard input that never writes.
func TestOpen_cancelled(t *testing.T) {
	t.Parallel()
	stalling, stalled := mkfifo(t), make(chan struct{})
	defer close(stalled)
	pr, pw := io.Pipe()
	defer pw.Close()
	for _, p := range []string{"-", stalling, mkfifo(t)} {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			defer cancel()
			if p != stalling {
				return
			}
			if f, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
				defer f.Close()
				_, _ = f.WriteString("number,alias\n12025550101,a\n")
				cancel()
				<-stalled
			}
		}()
		if _, err := Open(ctx, p, pr); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: Open = %v, want an error that wraps context.Canceled", p, err)
		}
	}
}

// TestInput_privateCopy: the copy has no name and no one else may read
// it; should it give other rows than the check found, Each says so
// instead of sending them; Close removes it.
func TestInput_privateCopy(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	in, err := openString(t, twoRows)
	must(t, err)
	if st, err := in.copy.Stat(); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("private copy: %v, %v; want mode 0600", st.Mode(), err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("the copy has a name: %v", left)
	}
	stop := errors.New("enough")
	if err := in.Each(context.Background(), func(batch.Row) error { return stop }); err != stop {
		t.Errorf("Each = %v, want fn's error", err)
	}
	_, err = in.copy.WriteAt([]byte("            ,"), int64(strings.LastIndex(twoRows, "12025550102")))
	must(t, err)
	err = in.Each(context.Background(), func(batch.Row) error { return nil })
	if ie := (*Error)(nil); !errors.As(err, &ie) || !strings.Contains(err.Error(), "gave 1 rows, but the check found 2") {
		t.Errorf("Each = %v, want an *Error about the row count", err)
	}
	must(t, errors.Join(in.Close(), in.Close()))
	if err := in.Each(context.Background(), func(batch.Row) error { return nil }); err == nil {
		t.Error("Each after Close did not fail")
	}
}

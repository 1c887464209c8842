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

// TestOpen_sendsWhatWasChecked changes the input after the check in each
// way a run saw it change; a FIFO and standard input are read once. Each
// yields what was checked, pass after pass.
func TestOpen_sendsWhatWasChecked(t *testing.T) {
	t.Parallel()
	write := func(path, s string, flag int) error {
		f, err := os.OpenFile(path, flag|os.O_WRONLY, 0o600)
		if err == nil {
			_, err = f.WriteString(s)
			err = errors.Join(err, f.Close())
		}
		return err
	}
	for name, change := range map[string]func(path string) error{
		"appended to": func(path string) error { return write(path, "12025550103,c\n12025550101,conflict\n", os.O_APPEND) },
		"renamed over": func(path string) error {
			return errors.Join(os.WriteFile(path+".new", []byte("number,alias\n12025559999,z\n"), 0o600), os.Rename(path+".new", path))
		},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in.csv")
			if err := os.WriteFile(path, []byte(twoRows), 0o600); err != nil {
				t.Fatal(err)
			}
			in, err := Open(context.Background(), path, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			if err := change(path); err != nil {
				t.Fatal(err)
			}
			if got := numbers(t, in); got != "12025550101 12025550102" {
				t.Errorf("Each after the file was %s yields %s, want the two rows checked", name, got)
			}
		})
	}
	t.Run("FIFO and stdin", func(t *testing.T) {
		path := mkfifo(t)
		go func() { _ = write(path, twoRows, 0) }()
		for _, p := range []string{path, "-"} {
			in, err := Open(context.Background(), p, strings.NewReader(twoRows))
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			for range 2 {
				if got := numbers(t, in); got != "12025550101 12025550102" || in.Rows() != 2 {
					t.Errorf("%s: Each yields %s, Rows %d", in.Name(), got, in.Rows())
				}
			}
		}
	})
}

// TestOpen_cancelled: ctx ends every wait of Open: the open of a FIFO that
// no one writes to, a FIFO whose writer stalls, a standard input that
// never writes.
func TestOpen_cancelled(t *testing.T) {
	t.Parallel()
	for name, source := range map[string]func(t *testing.T, cancel func()) (string, io.Reader){
		"FIFO without a writer": func(t *testing.T, cancel func()) (string, io.Reader) {
			go cancel()
			return mkfifo(t), nil
		},
		"FIFO whose writer stalls": func(t *testing.T, cancel func()) (string, io.Reader) {
			path, stalled := mkfifo(t), make(chan struct{})
			t.Cleanup(func() { close(stalled) })
			go func() {
				if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
					_, _ = f.WriteString("number,alias\n12025550101,a\n")
					cancel()
					<-stalled
					_ = f.Close()
				}
			}()
			return path, nil
		},
		"stdin that never writes": func(t *testing.T, cancel func()) (string, io.Reader) {
			pr, pw := io.Pipe()
			t.Cleanup(func() { _ = pw.Close() })
			go cancel()
			return "-", pr
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			path, stdin := source(t, cancel)
			in, err := Open(ctx, path, stdin)
			if in != nil {
				_ = in.Close()
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Open = %v, want an error that wraps context.Canceled", err)
			}
		})
	}
}

// TestInput_privateCopy: the copy has no name and no one else may read
// it; should it give other rows than the check found, Each says so
// instead of sending them; Close removes it.
func TestInput_privateCopy(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	in, err := openString(t, twoRows)
	if err != nil {
		t.Fatal(err)
	}
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
	if _, err := in.copy.WriteAt([]byte("            ,"), int64(strings.LastIndex(twoRows, "12025550102"))); err != nil {
		t.Fatal(err)
	}
	err = in.Each(context.Background(), func(batch.Row) error { return nil })
	if ie := (*Error)(nil); !errors.As(err, &ie) || !strings.Contains(err.Error(), "gave 1 rows, but the check found 2") {
		t.Errorf("Each = %v, want an *Error about the row count", err)
	}
	if err := errors.Join(in.Close(), in.Close()); err != nil {
		t.Fatal(err)
	}
	if err := in.Each(context.Background(), func(batch.Row) error { return nil }); err == nil {
		t.Error("Each after Close did not fail")
	}
}

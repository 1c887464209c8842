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
	"time"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

const twoRows = "number,alias\n12025550101,a\n12025550102,b\n"

// numbers returns the numbers Each yields.
func numbers(t *testing.T, in *Input) []string {
	t.Helper()
	var got []string
	for _, r := range readAll(t, in) {
		got = append(got, r.Number)
	}
	return got
}

// TestOpen_sendsWhatWasChecked changes the input file after the check in
// each way a run saw it change: what Each yields is still what was checked.
func TestOpen_sendsWhatWasChecked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(t *testing.T, path string)
	}{
		{"appended to", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteString("12025550103,c\n12025550101,conflict\n"); err != nil {
				t.Fatal(err)
			}
		}},
		{"truncated", func(t *testing.T, path string) {
			if err := os.Truncate(path, 20); err != nil {
				t.Fatal(err)
			}
		}},
		{"renamed over", func(t *testing.T, path string) {
			other := path + ".new"
			if err := os.WriteFile(other, []byte("number,alias\n12025559999,z\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(other, path); err != nil {
				t.Fatal(err)
			}
		}},
		{"removed", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "in.csv")
			if err := os.WriteFile(path, []byte(twoRows), 0o600); err != nil {
				t.Fatal(err)
			}
			in, err := Open(context.Background(), path, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			tt.change(t, path)
			if got := strings.Join(numbers(t, in), " "); got != "12025550101 12025550102" {
				t.Errorf("Each after the file was %s yields %s, want the two rows checked", tt.name, got)
			}
		})
	}
}

func TestOpen_stdin(t *testing.T) {
	t.Parallel()
	in, err := Open(context.Background(), "-", strings.NewReader(twoRows))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if in.Name() != "standard input" || in.Rows() != 2 {
		t.Errorf("Name, Rows = %q, %d", in.Name(), in.Rows())
	}
	for range 2 { // standard input is read once; each pass reads the copy
		if got := strings.Join(numbers(t, in), " "); got != "12025550101 12025550102" {
			t.Errorf("Each yields %s", got)
		}
	}
}

// TestOpen_fifo reads a named pipe, which can be read once only, and then
// sends from the copy.
func TestOpen_fifo(t *testing.T) {
	t.Parallel()
	path := mkfifo(t)
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		_, _ = f.WriteString(twoRows)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	for range 2 {
		if got := strings.Join(numbers(t, in), " "); got != "12025550101 12025550102" {
			t.Errorf("Each yields %s", got)
		}
	}
}

// TestOpen_cancelled ends each wait of Open with ctx: the open of a FIFO
// that no one writes to, a FIFO whose writer stalls, a standard input that
// never writes.
func TestOpen_cancelled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		open func(t *testing.T, ctx context.Context) (*Input, error)
	}{
		{"FIFO without a writer", func(t *testing.T, ctx context.Context) (*Input, error) {
			return Open(ctx, mkfifo(t), nil)
		}},
		{"FIFO whose writer stalls", func(t *testing.T, ctx context.Context) (*Input, error) {
			path := mkfifo(t)
			stalled := make(chan struct{})
			t.Cleanup(func() { close(stalled) })
			go func() {
				f, err := os.OpenFile(path, os.O_WRONLY, 0)
				if err != nil {
					return
				}
				defer f.Close()
				_, _ = f.WriteString("number,alias\n12025550101,a\n")
				<-stalled
			}()
			return Open(ctx, path, nil)
		}},
		{"stdin that never writes", func(t *testing.T, ctx context.Context) (*Input, error) {
			pr, pw := io.Pipe()
			t.Cleanup(func() { _ = pw.Close() })
			return Open(ctx, "-", pr)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			start := time.Now()
			in, err := tt.open(t, ctx)
			if in != nil {
				_ = in.Close()
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Open = %v, want an error that wraps context.Canceled", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Open returned %v after it was cancelled", d)
			}
			t.Logf("error: %v", err)
		})
	}
}

func mkfifo(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	return path
}

// TestInput_Close removes the private copy, which no one else may read.
func TestInput_Close(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	in, err := openString(t, "t.csv", twoRows)
	if err != nil {
		t.Fatal(err)
	}
	st, err := in.copy.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("private copy mode %v, want 0600", st.Mode().Perm())
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left in the temporary directory after Close: %v", left)
	}
	if err := in.Each(context.Background(), func(batch.Row) error { return nil }); err == nil {
		t.Error("Each after Close did not fail")
	}
	if err := in.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestInput_Each_copyChanged: should the private copy give other rows than
// the check found, Each says so instead of sending them.
func TestInput_Each_copyChanged(t *testing.T) {
	in, err := openString(t, "t.csv", twoRows)
	if err != nil {
		t.Fatal(err)
	}
	// Make the second row blank: the copy then gives one row.
	if _, err := in.copy.WriteAt([]byte("            ,"), int64(strings.LastIndex(twoRows, "12025550102"))); err != nil {
		t.Fatal(err)
	}
	err = in.Each(context.Background(), func(batch.Row) error { return nil })
	var ie *Error
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "gave 1 rows, but the check found 2") {
		t.Errorf("Each = %v, want an *Error about the row count", err)
	}
}

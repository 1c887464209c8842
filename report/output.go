package report

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Every output is put in place one way. "-", /dev/stdout and descriptor 1 are the run's stdout. A
// symlink's target is written. What is not a regular file (a pipe, a device, /dev/fd/3) is written
// in place; a regular file is written beside, with the old file's mode, then renamed over it.

// isStdout reports whether path names standard output.
func isStdout(path string) bool {
	return slices.Contains([]string{"-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"}, filepath.Clean(path))
}

// resolve follows path's symlinks to the file, maybe not there yet; inPlace: not to be replaced.
func resolve(path string) (dst string, inPlace bool, err error) {
	for range 40 {
		dir, err := filepath.EvalSymlinks(filepath.Dir(path))
		if err != nil {
			return "", false, err
		}
		if dst = filepath.Join(dir, filepath.Base(path)); strings.HasPrefix(dst, "/proc/") {
			return path, true, nil // a descriptor's link names no file to replace
		}
		st, err := os.Lstat(dst)
		if errors.Is(err, fs.ErrNotExist) || err == nil && st.Mode()&fs.ModeSymlink == 0 {
			return dst, err == nil && !st.Mode().IsRegular(), nil
		}
		if path, err = os.Readlink(dst); err != nil {
			return "", false, err
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
	}
	return "", false, errors.New("too many levels of symbolic links")
}

// createTemp creates a file beside dst with the mode of old, or the umask's when old is nil.
func createTemp(dst string, old fs.FileInfo) (*os.File, error) {
	name := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+"."+strconv.FormatUint(rand.Uint64(), 36)+".tmp")
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
	if err == nil && old != nil {
		if err = f.Chmod(old.Mode().Perm()); err != nil {
			_ = f.Close()
			_ = os.Remove(name)
		}
	}
	return f, err
}

// rename puts tmp in dst's place, durably.
func rename(tmp, dst string) error {
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(dst)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// output is a file put in place whole by close: a stopped export leaves the earlier file.
type output struct {
	io.Writer
	f   *os.File // nil for standard output
	dst string   // what f replaces on close; "" when f is written in place
}

// createOutput opens flag's output path: an existing file only if replace, never an undo file.
func createOutput(path, flag string, replace bool, stdout io.Writer) (*output, error) {
	if isStdout(path) {
		return &output{Writer: stdout}, nil
	}
	dst, inPlace, err := resolve(path)
	var old fs.FileInfo
	var f *os.File
	switch {
	case err != nil:
	case inPlace: // a named pipe opened without waiting: no reader is an error, not a wait
		if f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|syscall.O_NONBLOCK, 0); errors.Is(err, syscall.ENXIO) {
			err = errors.New("a named pipe that no process reads yet: start its reader first")
		}
		dst = ""
	default:
		if old, _ = os.Stat(dst); old != nil && !replace {
			return nil, fmt.Errorf("%s: %w: use --force to replace it", path, ErrExists)
		}
		if err = CheckNotUndo(dst, flag); err == nil {
			f, err = createTemp(dst, old)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, path, err)
	}
	return &output{Writer: f, f: f, dst: dst}, nil
}

// close ends the output: kept, it is made durable and put in place; else what it replaces stays.
func (o *output) close(keep bool) (err error) {
	if o.f == nil {
		return nil
	}
	if keep && o.dst != "" {
		err = o.f.Sync()
	}
	if err = errors.Join(err, o.f.Close()); o.dst == "" {
		return err
	}
	if err == nil && keep {
		err = rename(o.f.Name(), o.dst)
	}
	if err != nil || !keep {
		_ = os.Remove(o.f.Name())
	}
	return err
}

// WriteFile writes data as flag's output path, replacing what is there unless it is an undo file.
func WriteFile(path, flag string, data []byte, stdout io.Writer) error {
	o, err := createOutput(path, flag, true, stdout)
	if err != nil {
		return err
	}
	_, err = o.Write(data)
	return errors.Join(err, o.close(err == nil))
}

// sameFile reports whether a and b name one file by identity (a symlink, a hard link,
// /dev/stdout redirected to it), or would create one; "-" names none.
func sameFile(a, b string) bool {
	if a == "" || b == "" || a == "-" || b == "-" {
		return false
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(sa, sb)
	}
	a, _ = filepath.Abs(a) // resolve leaves a relative name relative: r.csv and $PWD/r.csv must meet
	b, _ = filepath.Abs(b)
	da, _, errA := resolve(a)
	db, _, errB := resolve(b)
	return errA == nil && errB == nil && da == db
}

// ErrSameFile is matched by the error of CheckDistinct.
var ErrSameFile = errors.New("two flags name the same file")

// NamedPath is a file named on the command line, with the flag naming it.
type NamedPath struct{ Flag, Path string }

// CheckDistinct refuses two paths naming one file (a --report that --force would empty being the
// --input), and two outputs on standard output.
func CheckDistinct(paths ...NamedPath) error {
	for i, a := range paths {
		for _, b := range paths[i+1:] {
			switch {
			case a.Flag != "--input" && b.Flag != "--input" && isStdout(a.Path) && isStdout(b.Path):
				return fmt.Errorf("%w: %s %q and %s %q both write standard output: give one of them a file", ErrSameFile, a.Flag, a.Path, b.Flag, b.Path)
			case sameFile(a.Path, b.Path):
				return fmt.Errorf("%w: %s %q and %s %q are one file: every output needs a file of its own, and the input must not be one", ErrSameFile, a.Flag, a.Path, b.Flag, b.Path)
			}
		}
	}
	return nil
}

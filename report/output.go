package report

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Every output is put in place one way. "-", /dev/stdout and descriptor 1 are the run's stdout. A
// symlink's target is written. What is not a regular file (a pipe, a device, /dev/fd/3) is written
// in place; a regular file is written beside, with the old file's mode, then renamed over it.

// isStdout reports whether path names standard output.
func isStdout(path string) bool {
	switch filepath.Clean(path) {
	case "-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1":
		return true
	}
	return false
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

// openInPlace opens to append, a named pipe without waiting: no reader is an error, not a wait.
func openInPlace(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ENXIO) {
		return nil, fmt.Errorf("%s is a named pipe that no process reads yet: start its reader first", path)
	}
	return f, err
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
		_ = os.Remove(tmp)
		return err
	}
	if d, err := os.Open(filepath.Dir(dst)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// output is a file put in place whole by commit: a stopped export leaves the earlier file.
type output struct {
	io.Writer
	f   *os.File // nil for standard output
	dst string   // what f replaces on commit; "" when f is written in place
}

// createOutput opens flag's output path: an existing file only if replace, never an undo file.
func createOutput(path, flag string, replace bool, stdout io.Writer) (*output, error) {
	if isStdout(path) {
		return &output{Writer: stdout}, nil
	}
	dst, inPlace, err := resolve(path)
	if err == nil && inPlace {
		f, err := openInPlace(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		return &output{Writer: f, f: f}, nil
	}
	var old fs.FileInfo
	if err == nil {
		if old, _ = os.Stat(dst); old != nil && !replace {
			return nil, fmt.Errorf("%s: %w: use --force to replace it", path, ErrExists)
		}
		err = CheckNotUndo(dst, flag)
	}
	var f *os.File
	if err == nil {
		f, err = createTemp(dst, old)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, path, err)
	}
	return &output{Writer: f, f: f, dst: dst}, nil
}

// commit makes the output durable and puts it in place.
func (o *output) commit() error {
	switch {
	case o.f == nil:
		return nil
	case o.dst == "":
		return o.f.Close()
	}
	if err := errors.Join(o.f.Sync(), o.f.Close()); err != nil {
		_ = os.Remove(o.f.Name())
		return err
	}
	return rename(o.f.Name(), o.dst)
}

// Abort drops the output: the file it would replace is left as it was.
func (o *output) Abort() {
	if o.f != nil {
		_ = o.f.Close()
	}
	if o.dst != "" {
		_ = os.Remove(o.f.Name())
	}
}

// WriteFile writes data as flag's output path, replacing what is there unless it is an undo file.
func WriteFile(path, flag string, data []byte, stdout io.Writer) error {
	o, err := createOutput(path, flag, true, stdout)
	if err != nil {
		return err
	}
	if _, err := o.Write(data); err != nil {
		o.Abort()
		return err
	}
	return o.commit()
}

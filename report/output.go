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

// The one way every output is put in place. "-" is standard output (so are
// /dev/stdout and the descriptor 1 under /dev/fd and /proc/self/fd: the
// stream the run already has, never reopened). A symlink is followed: its
// target is written. What is not a regular file (a named pipe, a device,
// a path through /proc such as /dev/fd/3) is written in place, never
// replaced, and a named pipe is opened without waiting for its reader.
// A regular file is written as a new file beside the target, created as
// every other program creates files (0666 less the umask, or the mode of
// the file it replaces), then renamed over it: a reader sees the old file
// or the new one, never half of one.

// IsStdout reports whether path names standard output.
func IsStdout(path string) bool {
	switch filepath.Clean(path) {
	case "-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1":
		return true
	}
	return false
}

// resolve follows the symlinks of path to the name of the file it stands
// for, which may not exist yet; inPlace says it must be written in place.
func resolve(path string) (dst string, inPlace bool, err error) {
	p := path
	for range 40 {
		dir, err := filepath.EvalSymlinks(filepath.Dir(p))
		if err != nil {
			return "", false, err
		}
		if p = filepath.Join(dir, filepath.Base(p)); strings.HasPrefix(p, "/proc/") {
			return path, true, nil // a descriptor's link names no file to replace
		}
		st, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return p, false, nil
		case err != nil:
			return "", false, err
		case st.Mode()&fs.ModeSymlink == 0:
			return p, !st.Mode().IsRegular(), nil
		}
		link, err := os.Readlink(p)
		if err != nil {
			return "", false, err
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(dir, link)
		}
		p = link
	}
	return "", false, fmt.Errorf("%s: too many levels of symbolic links", path)
}

// openInPlace opens a file that is not replaced, to append to it. A named
// pipe is opened without waiting: no reader yet is an error, not a wait
// that Ctrl-C could not end.
func openInPlace(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ENXIO) {
		return nil, fmt.Errorf("%s is a named pipe that no process reads yet: start its reader first", path)
	}
	return f, err
}

// createTemp creates a new file beside dst, with the mode of old, the
// file it replaces, or 0666 less the umask when old is nil.
func createTemp(dst string, old fs.FileInfo) (*os.File, error) {
	for {
		name := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+"."+strconv.FormatUint(rand.Uint64(), 36)+".tmp")
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err == nil && old != nil {
			if err = f.Chmod(old.Mode().Perm()); err != nil {
				_ = f.Close()
				_ = os.Remove(name)
			}
		}
		return f, err
	}
}

// rename puts tmp in dst's place and makes that durable.
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

// Output is a file written whole, then put in place by Commit: the export
// and the summary.
type Output struct {
	io.Writer
	f   *os.File // the file written; nil for standard output
	dst string   // what f replaces on Commit; "" when f is written in place
}

// CreateOutput opens the output that flag names, path (see the top of
// this file). An existing regular file is refused unless replace is set;
// an undo file always is.
func CreateOutput(path, flag string, replace bool, stdout io.Writer) (*Output, error) {
	if IsStdout(path) {
		return &Output{Writer: stdout}, nil
	}
	dst, inPlace, err := resolve(path)
	if err == nil && inPlace {
		f, err := openInPlace(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		return &Output{Writer: f, f: f}, nil
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
	return &Output{Writer: f, f: f, dst: dst}, nil
}

// Commit makes the output durable and puts it in place.
func (o *Output) Commit() error {
	if o.f == nil {
		return nil
	}
	var err error
	if o.dst != "" {
		err = o.f.Sync()
	}
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	switch {
	case o.dst == "":
	case err != nil:
		_ = os.Remove(o.f.Name())
	default:
		err = rename(o.f.Name(), o.dst)
	}
	return err
}

// Abort drops the output: a file it would replace is left as it was.
func (o *Output) Abort() {
	if o.f != nil {
		_ = o.f.Close()
		if o.dst != "" {
			_ = os.Remove(o.f.Name())
		}
	}
}

// WriteFile writes data as the output path (see CreateOutput), replacing
// what is there unless it is an undo file.
func WriteFile(path, flag string, data []byte, stdout io.Writer) error {
	o, err := CreateOutput(path, flag, true, stdout)
	if err != nil {
		return err
	}
	if _, err := o.Write(data); err != nil {
		o.Abort()
		return err
	}
	return o.Commit()
}

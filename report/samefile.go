package report

import (
	"errors"
	"fmt"
	"os"
)

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
	stdout := -1
	for i, a := range paths {
		if a.Flag != "--input" && isStdout(a.Path) {
			if stdout >= 0 {
				return fmt.Errorf("%w: %s %q and %s %q both write standard output: give one of them a file", ErrSameFile, paths[stdout].Flag, paths[stdout].Path, a.Flag, a.Path)
			}
			stdout = i
		}
		for _, b := range paths[i+1:] {
			if sameFile(a.Path, b.Path) {
				return fmt.Errorf("%w: %s %q and %s %q are one file: every output needs a file of its own, and the input must not be one", ErrSameFile, a.Flag, a.Path, b.Flag, b.Path)
			}
		}
	}
	return nil
}

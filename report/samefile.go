package report

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// SameFile reports whether paths a and b name one file, by identity rather
// than by spelling: "./x.csv" and "x.csv", a symlink and its target, two hard
// links. "" and standard streams match nothing. When a file does not exist
// yet, it matches a path naming the same entry of the same directory, the
// one file both would create.
func SameFile(a, b string) (bool, error) {
	if a == "" || b == "" || IsStdout(a) || IsStdout(b) {
		return false, nil
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	switch {
	case errA == nil && errB == nil:
		return os.SameFile(sa, sb), nil
	case errA != nil && !errors.Is(errA, fs.ErrNotExist):
		return false, errA
	case errB != nil && !errors.Is(errB, fs.ErrNotExist):
		return false, errB
	case errA == nil || errB == nil || filepath.Base(a) != filepath.Base(b):
		return false, nil
	}
	da, errA := os.Stat(filepath.Dir(a))
	db, errB := os.Stat(filepath.Dir(b))
	return errA == nil && errB == nil && os.SameFile(da, db), nil
}

// ErrSameFile is matched by the error of CheckDistinct.
var ErrSameFile = errors.New("two flags name the same file")

// NamedPath is a file named on the command line, with the flag naming it.
type NamedPath struct {
	Flag string // such as "--input"
	Path string
}

// CheckDistinct returns an error matching ErrSameFile when two of paths name
// one file (see SameFile), such as a --report that is the --input under
// another name, which --force would empty, or when two outputs (any flag
// but --input, where "-" is standard input) both write standard output.
func CheckDistinct(paths ...NamedPath) error {
	var stdout *NamedPath
	for i, a := range paths {
		if a.Flag != "--input" && IsStdout(a.Path) {
			if stdout != nil {
				return fmt.Errorf("%w: %s %q and %s %q both write standard output: give one of them a file", ErrSameFile, stdout.Flag, stdout.Path, a.Flag, a.Path)
			}
			stdout = &paths[i]
		}
		for _, b := range paths[i+1:] {
			same, err := SameFile(a.Path, b.Path)
			if err != nil {
				return fmt.Errorf("compare %s and %s: %w", a.Flag, b.Flag, err)
			}
			if same {
				return fmt.Errorf("%w: %s %q and %s %q are one file: every output needs a file of its own, and the input must not be one", ErrSameFile, a.Flag, a.Path, b.Flag, b.Path)
			}
		}
	}
	return nil
}

//go:build !unix

package report

import "os"

// lockFile is a no-op where flock is not available.
var lockFile = func(*os.File) error { return nil }

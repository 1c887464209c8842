//go:build unix

package main

import "syscall"

// openFilesLimit is the soft limit of open files, raised by Go to the hard one (0 when unknown):
// every request in flight holds a connection.
func openFilesLimit() int {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) != nil {
		return 0
	}
	return int(min(l.Cur, 1<<20))
}

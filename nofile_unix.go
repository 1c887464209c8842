//go:build unix

package main

import "syscall"

// openFilesLimit returns the soft limit of open files, which Go raises to
// the hard one at start-up (0 when unknown): every request in flight holds
// a connection.
func openFilesLimit() int {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) != nil {
		return 0
	}
	return int(min(l.Cur, 1<<20))
}

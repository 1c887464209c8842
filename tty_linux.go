package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// inForeground reports whether the process's group is the terminal's
// foreground one, the only one that may read or write it.
func inForeground(tty *os.File) bool {
	pgrp, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}

// flushTyped throws away what was typed on the terminal and not yet read.
func flushTyped(tty *os.File) { _ = unix.IoctlSetInt(int(tty.Fd()), unix.TCFLSH, unix.TCIFLUSH) }

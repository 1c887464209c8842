package main

import (
	"errors"
	"fmt"
)

// Exit codes, as documented in README.md.
const (
	exitOK          = 0
	exitRowsFailed  = 1
	exitUsage       = 2
	exitAborted     = 3
	exitMaxFailures = 4
	exitChanged     = 5 // export: the file is written, but the account changed while it was listed
	exitDrift       = 6 // plan --detailed-exitcode: every row was read, and some would change the account
	exitInterrupted = 130
)

// errDrift is plan's outcome under --detailed-exitcode when every row was
// read and some would change their number: a finding for a monitor, not an
// error. The summary has told it already.
var errDrift = errors.New("the account differs from the input")

// usageError marks a problem with the command line, the credentials or the
// input file: nothing was sent, and the process exits with exitUsage.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef builds a usageError from a format, like fmt.Errorf.
func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// isUsage reports whether err is, or wraps, a usageError.
func isUsage(err error) bool {
	var u *usageError
	return errors.As(err, &u)
}

// toldError is an error the command has already told on stderr (as a JSON
// log line): main exits with its code without printing it again.
type toldError struct{ err error }

func (e *toldError) Error() string { return e.err.Error() }
func (e *toldError) Unwrap() error { return e.err }

package batch

import (
	"errors"
	"time"

	"github.com/plivo-bulk/plivo-bulk/batch/pace"
)

// Summary counts a run's outcomes: what main prints at the end, what
// --summary writes, and what the exit code is decided from.
type Summary struct {
	Rows                         int // data rows in the input
	OK, Failed, Invalid, Skipped int
	Unverified                   int // applied, not verified: the run stopped first
	AlreadyOK                    int // not sent: an earlier run's report has them ok
	// Unrecorded counts rows whose outcome could not be written to the
	// report (a full disk, a closed pipe); AppliedUnrecorded those of them
	// that were applied. They were kept on stderr instead.
	Unrecorded, AppliedUnrecorded int
	FailedByKind                  map[string]int
	// Changes counts the rows per Change value: what plan reports.
	Changes map[string]int
	Read    ReadPlan // how the numbers' settings were learned
	// Differ counts, per field, the rows of Changes[ChangeYes] that would
	// change it: plan's drift, field by field.
	Differ [NumFields]int
	// StoppedBy says why the job stopped before its end: "interrupted",
	// "aborted", "throttled", "max_failures", "canary", "declined"; ""
	// when it ran to its end.
	StoppedBy string
	Elapsed   time.Duration // of the job, from its first request to its last
	Stats     pace.Stats
}

// The values of Result.Change.
const (
	ChangeYes   = "yes"
	ChangeNo    = "no"
	ChangeError = "error"
)

// Change says, for a row whose number was read, whether the row would
// change it: yes, no (already in the target state), or error.
func (r Result) Change() string {
	switch {
	case r.Status != StatusOK && r.Status != StatusSkipped:
		return ChangeError
	case !r.Row.Targets.Holds(r.Current):
		return ChangeYes
	}
	return ChangeNo
}

func newSummary(rows int) Summary {
	return Summary{Rows: rows, FailedByKind: map[string]int{}, Changes: map[string]int{}}
}

func (s *Summary) add(r Result) {
	switch r.Status {
	case StatusOK:
		s.OK++
	case StatusFailed:
		s.Failed++
		s.FailedByKind[string(r.Kind)]++
	case StatusInvalid:
		s.Invalid++
	case StatusSkipped:
		s.Skipped++
	case StatusUnverified:
		s.Unverified++
	}
	c := r.Change()
	s.Changes[c]++
	if c == ChangeYes {
		for _, f := range r.Row.Targets.Differs(r.Current) {
			s.Differ[f]++
		}
	}
}

// NotAttempted counts the rows that have no outcome: a stopped run's rest.
func (s Summary) NotAttempted() int {
	return max(0, s.Rows-s.OK-s.Failed-s.Invalid-s.Skipped-s.Unverified-s.AlreadyOK-s.Unrecorded)
}

// Rate is the requests per second of the job.
func (s Summary) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Stats.Requests) / s.Elapsed.Seconds()
}

// StoppedBy names why a job (or export's listing) stopped early, for the
// summary: "" when err is nil.
func StoppedBy(err error) string { return stoppedBy(err) }

// stoppedBy names why a job stopped early, for the summary.
func stoppedBy(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrTooManyFailures):
		return "max_failures"
	case errors.Is(err, ErrCanary):
		return "canary"
	case errors.Is(err, ErrDeclined):
		return "declined"
	case errors.Is(err, ErrThrottled):
		return "throttled"
	case errors.Is(err, ErrInterrupted):
		return "interrupted"
	}
	return "aborted"
}

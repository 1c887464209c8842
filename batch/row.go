// Package batch is plivo-bulk's job: Run takes every row through a Step
// and hands each Result to a sink.
package batch

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/plivo-bulk/plivo-bulk/batch/pace"
	"github.com/plivo-bulk/plivo-bulk/client"
)

// Field is one setting of a number that a row can change.
type Field int

// The fields, in the order of the input and report columns.
const (
	AppID Field = iota
	Subaccount
	Alias
	ComplianceApplicationID
	NumFields
)

var fieldNames = [NumFields]string{"app_id", "subaccount", "alias", "compliance_application_id"}

// String returns the field's name as Plivo and the CSV files spell it.
func (f Field) String() string { return fieldNames[f] }

// FieldNames returns the fields' names in column order.
func FieldNames() []string { return fieldNames[:] }

// Columns lists the input columns in order (the undo file's too).
func Columns() []string { return append([]string{"number"}, fieldNames[:]...) }

// ClearMarker is the cell that empties a field; an empty cell leaves it.
const ClearMarker = "(clear)"

// Setting is the target of one field: Set sends Value ("" clears it).
type Setting struct {
	Value string
	Set   bool
}

// Cell returns the setting as a CSV cell.
func (s Setting) Cell() string {
	if s.Set && s.Value == "" {
		return ClearMarker
	}
	return s.Value
}

// ErrCellTooLong is matched by an UndoRecorder's error when a value's cell
// would pass an input's cap: the row is not sent.
var ErrCellTooLong = errors.New("longer than an input cell may be")

// Targets are the settings a row asks for, indexed by Field.
type Targets [NumFields]Setting

// Empty reports whether the row sets no field.
func (t Targets) Empty() bool { return len(t.Differs(Targets{})) == 0 }

// Params returns the set fields keyed by Plivo's argument names.
func (t Targets) Params() map[string]string {
	m := map[string]string{}
	for f, s := range t {
		if s.Set {
			m[fieldNames[f]] = s.Value
		}
	}
	return m
}

// Holds reports whether current has every setting t asks for.
func (t Targets) Holds(current Targets) bool { return len(t.Differs(current)) == 0 }

// Differs lists the fields t sets to other than current's; absent is not empty.
func (t Targets) Differs(current Targets) []Field {
	var d []Field
	for f, s := range t {
		if s.Set && (!current[f].Set || current[f].Value != s.Value) {
			d = append(d, Field(f))
		}
	}
	return d
}

// Row is one data line of the input.
type Row struct {
	Line    int    // as a spreadsheet shows it: the first data row is 2
	Number  string // normalised, or the raw cell of an invalid row
	Targets Targets
	Invalid string // why the row cannot be sent; "" for a valid row
}

// Status is a row's outcome.
type Status string

// The statuses a row can end with.
const (
	StatusOK           Status = "ok"
	StatusFailed       Status = "failed"
	StatusInvalid      Status = "invalid"
	StatusSkipped      Status = "skipped"
	StatusUnverified   Status = "unverified"    // applied, not read back yet
	StatusNotAttempted Status = "not_attempted" // a stopped run never reached the row
)

// Result is what happened to one row.
type Result struct {
	Row        Row
	Status     Status
	HTTPStatus int    // of the last answer; 0 when none came
	APIID      string // of the successful attempt, or of the last error answer
	Attempts   int
	Kind       client.Kind // the failure's class, such as "not_found" or "timeout"
	Error      string      // why the row failed, is invalid or was skipped
	Current    Targets     // the number's settings as read, if they were
	ReadBack   bool        // the second line of a row reported unverified before: not a new row
}

// NormalizeNumber turns a number as people write it into the API's digits,
// dropping spaces, dashes, dots, parentheses and one leading "+"; else why not.
func NormalizeNumber(s string) (string, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "number is empty"
	}
	var digits []byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			if len(digits) == 15 {
				return "", "number has more than 15 digits"
			}
			digits = append(digits, c)
		case strings.IndexByte(" -.()\t", c) >= 0:
		case c == '+' && len(digits) == 0 && !strings.Contains(s[:i], "+"):
		default:
			if why := SpreadsheetExponent("number", s); why != "" {
				return "", why
			}
			r, _ := utf8.DecodeRuneInString(s[i:]) // one rune: a cell can be a megabyte
			return "", "number has a character that is not a digit: " + strconv.Quote(string(r))
		}
	}
	switch {
	case len(digits) < 7:
		return "", "number has fewer than 7 digits"
	case digits[0] == '0':
		return "", "number starts with 0: write it with its country code, without a leading 0 or 00"
	}
	return string(digits), ""
}

// SpreadsheetExponent says why v, field's cell, is a number a spreadsheet
// wrote as 2.03726E+16, or "".
func SpreadsheetExponent(field, v string) string {
	if _, err := strconv.ParseFloat(v, 64); err != nil || !strings.ContainsAny(v, "Ee") {
		return ""
	}
	return fmt.Sprintf("%s %q looks like a spreadsheet's scientific notation, which lost its digits: format the column as Text before the values go in (or re-export the file), then save it again", field, v)
}

// NumberKey packs a normalised number into 8 bytes.
func NumberKey(n string) uint64 {
	var k uint64
	for i := 0; i < len(n); i++ {
		k = k*10 + uint64(n[i]-'0')
	}
	return k
}

// Summary counts a job's outcomes: what main prints, writes with --summary
// and decides the exit code from.
type Summary struct {
	Rows                                     int // data rows in the input
	OK, Failed, Invalid, Skipped, Unverified int
	AlreadyOK                                int // not sent: an earlier run's report has them ok
	Unrecorded, AppliedUnrecorded            int // results the sink refused, and those of them applied
	FailedByKind                             map[string]int
	Changes                                  map[string]int // rows per Result.Change: what plan reports
	Read                                     ReadPlan
	Verify                                   VerifyPlan
	Differ                                   [NumFields]int // per field, the rows of Changes[ChangeYes] that change it: plan's drift
	StoppedBy                                string         // StoppedBy of the job's error
	Elapsed                                  time.Duration
	Stats                                    pace.Stats
}

// The values of Result.Change.
const (
	ChangeYes     = "yes"
	ChangeNo      = "no"
	ChangeError   = "error"
	ChangeNotRead = "not_read" // a stopped plan never reached the row
)

// Change says whether the row changes its number as read.
func (r Result) Change() string {
	switch {
	case r.Status == StatusNotAttempted:
		return ChangeNotRead
	case r.Status != StatusOK && r.Status != StatusSkipped:
		return ChangeError
	case !r.Row.Targets.Holds(r.Current):
		return ChangeYes
	}
	return ChangeNo
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
	s.Changes[r.Change()]++
	if r.Change() == ChangeYes {
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

// StoppedBy names why a job stopped early, for the summary; "" for nil.
func StoppedBy(err error) string {
	if err == nil {
		return ""
	}
	for _, c := range []struct {
		err  error
		name string
	}{{ErrTooManyFailures, "max_failures"}, {ErrCanary, "canary"}, {ErrDeclined, "declined"}, {ErrThrottled, "throttled"}, {ErrInterrupted, "interrupted"}} {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	return "aborted"
}

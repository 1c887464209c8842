// Package batch is plivo-bulk's job: the rows read from the input, what one
// row means (the Steps: plan's read; run's read, pin, undo, update and
// verify), the checks before the first row, and Run, the one entry point
// that takes rows through a step and hands each Result to a sink.
//
// Where things happen, by folder: batch/input reads and checks the CSV;
// batch/pace paces, sends and retries every request; client speaks HTTP;
// report writes the report, plan and undo files.
package batch

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
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
func (f Field) String() string {
	if f < 0 || f >= NumFields {
		return "field(?)"
	}
	return fieldNames[f]
}

// FieldNames returns the fields' names in column order.
func FieldNames() []string { return fieldNames[:] }

// Columns lists the input columns in their canonical order: the number,
// then the fields. The undo file writes the same columns, so that it can be
// read back as an input.
func Columns() []string { return append([]string{"number"}, fieldNames[:]...) }

// ClearMarker is the cell value that asks for a field to be emptied
// (sent as ""), since an empty cell means "leave this field as it is".
const ClearMarker = "(clear)"

// Setting is the target of one field: Set is false when the row leaves the
// field alone; when Set, Value is what is sent ("" clears the field).
type Setting struct {
	Value string
	Set   bool
}

// Cell returns the setting as a CSV cell: empty when not set, ClearMarker
// when set to "".
func (s Setting) Cell() string {
	if s.Set && s.Value == "" {
		return ClearMarker
	}
	return s.Value
}

// ErrCellTooLong is matched by the error of an UndoRecorder that cannot
// record a value (its cell would pass an input's cap): the row is not sent.
var ErrCellTooLong = errors.New("longer than an input cell may be")

// Targets are the settings a row asks for, indexed by Field.
type Targets [NumFields]Setting

// Empty reports whether the row changes nothing.
func (t Targets) Empty() bool {
	for _, s := range t {
		if s.Set {
			return false
		}
	}
	return true
}

// Params returns the set fields keyed by Plivo's argument names.
func (t Targets) Params() map[string]string {
	m := make(map[string]string, NumFields)
	for f, s := range t {
		if s.Set {
			m[fieldNames[f]] = s.Value
		}
	}
	return m
}

// Holds reports whether current has every setting t asks for, without
// listing the ones it lacks (Differs does).
func (t Targets) Holds(current Targets) bool {
	for f, s := range t {
		if s.Set && (!current[f].Set || current[f].Value != s.Value) {
			return false
		}
	}
	return true
}

// Differs lists the fields that t sets to a value other than current's.
// A field current does not know (not Set) counts as different.
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
	// Line is the row's position as a spreadsheet shows it: the header is
	// row 1 and the first data row is row 2.
	Line int
	// Number is the normalised number (digits with country code, no "+"),
	// or the raw cell when the row is invalid.
	Number  string
	Targets Targets
	// Invalid says why the row cannot be sent; empty for a valid row.
	Invalid string
}

// Status is a row's outcome.
type Status string

// The statuses a row can end with.
const (
	StatusOK      Status = "ok"
	StatusFailed  Status = "failed"
	StatusInvalid Status = "invalid"
	StatusSkipped Status = "skipped"
	// StatusUnverified is a row whose update was answered 2xx with an
	// api_id, but that the run stopped before it could read it back: not
	// done, so a resumed run sends it again.
	StatusUnverified Status = "unverified"
)

// Result is what happened to one row.
type Result struct {
	Row        Row
	Status     Status
	HTTPStatus int    // of the last answer; 0 when none came
	APIID      string // Plivo's api_id for the successful attempt, or of the last error answer
	Attempts   int
	Kind       client.Kind // the failure's class, such as "not_found" or "timeout"
	Error      string      // why the row failed, is invalid or was skipped
	Current    Targets     // the number's settings as read from the server, if they were
}

// ErrAborted is returned by Run when the run was stopped because every
// further row would fail (bad credentials, a 405, nothing but 403s, a
// report that cannot be written).
var ErrAborted = pace.ErrAborted

// ErrAuth is wrapped in ErrAborted when the API refused the credentials.
var ErrAuth = pace.ErrAuth

// ErrInterrupted is returned by Run when it was told to stop before every
// row was attempted.
var ErrInterrupted = pace.ErrInterrupted

// ErrTooManyFailures is returned by Run when the failure budget
// (Job.MaxFailures) was spent; the rest can be resumed.
var ErrTooManyFailures = errors.New("run stopped: too many rows failed")

// ErrCanary is returned by Run when a canary row is not in its target
// state; nothing past the canary was sent.
var ErrCanary = errors.New("canary failed")

// ErrNoCanaryRow is returned by Run, in a *NoCanaryRowError that says why,
// when the canary found no row that changes its number but could not see
// every row.
var ErrNoCanaryRow = fmt.Errorf("%w: it found no row to test", ErrCanary)

// ErrDeclined is what a command returns from Job.Begin or Job.AfterCanary
// when the user answered no.
var ErrDeclined = errors.New("not confirmed")

// ErrThrottled is returned by Run when the API kept the run waiting longer
// than its limit; the rest can be resumed.
var ErrThrottled = pace.ErrThrottled

// NormalizeNumber turns a phone number as people write it into what the
// API's path takes: digits with country code and no "+". It strips spaces,
// dashes, dots, parentheses and one leading "+", and returns a reason when
// what is left is not 7 to 15 digits.
func NormalizeNumber(s string) (string, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "number is empty"
	}
	var b [16]byte
	n := 0
	first, contiguous := -1, true // where the digits start; whether nothing comes between them
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n == 15 {
				return "", "number has more than 15 digits"
			}
			if first < 0 {
				first = i
			} else if i != first+n {
				contiguous = false
			}
			b[n] = c
			n++
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '\t':
		case c == '+' && n == 0 && strings.IndexByte(s[:i], '+') < 0:
		default:
			if why := SpreadsheetExponent("number", s); why != "" {
				return "", why
			}
			return "", "number has a character that is not a digit: " + quoteChar(s, i)
		}
	}
	switch {
	case n < 7:
		return "", "number has fewer than 7 digits"
	case b[0] == '0':
		return "", "number starts with 0: write it with its country code, without a leading 0 or 00"
	}
	if contiguous {
		return s[first : first+n], "" // "14155550101" or "+14155550101": no copy needed
	}
	return string(b[:n]), ""
}

// SpreadsheetExponent returns why v, the cell of field, is a number that a
// spreadsheet wrote in scientific notation, such as 2.03726E+16, or "": the
// digits are gone from the file, so the fix is in the spreadsheet.
func SpreadsheetExponent(field, v string) string {
	if _, err := strconv.ParseFloat(v, 64); err != nil || !strings.ContainsAny(v, "Ee") {
		return ""
	}
	return fmt.Sprintf("%s %q looks like a spreadsheet's scientific notation, which lost its digits: format the column as Text before the values go in (or re-export the file), then save it again", field, v)
}

// quoteChar quotes the character at s[i] for a message. It decodes that
// one rune: converting the rest of s to runes cost 4 bytes per byte of a
// cell that can be a megabyte long. A control character is escaped.
func quoteChar(s string, i int) string {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return strconv.Quote(string(r))
}

// NumberKey packs a normalised number (7 to 15 digits, no leading zero)
// into a uint64, so that a set of numbers costs 8 bytes each.
func NumberKey(n string) uint64 {
	var k uint64
	for i := 0; i < len(n); i++ {
		k = k*10 + uint64(n[i]-'0')
	}
	return k
}

package input

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// Error is a problem with the input file as a whole: nothing can be
// sent for it. Line is 0 when the problem has no line (an unreadable file).
type Error struct {
	File string
	Line int
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s: line %d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Unwrap returns the underlying error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Opener opens the input afresh: the input is read twice, once to check the
// whole file before anything is sent and once to send it, so that a file of
// a million rows never has to be held in memory.
type Opener func() (io.ReadCloser, error)

// Input is an input file that passed the check: its header is good, every
// line parses, and its duplicates are known.
type Input struct {
	name  string
	open  Opener
	rows  int
	valid int
	dups  map[uint64]struct{} // numbers that occur more than once
	// targets holds, per field, the distinct non-empty values that valid
	// rows set, up to MaxDistinct of each: the pre-flight check reads
	// each application and subaccount once without a pass of its own.
	targets [batch.NumFields]map[string]struct{}
}

// MaxDistinct bounds the distinct values per field that Distinct keeps.
const MaxDistinct = 1000

// Distinct returns the distinct non-empty values that valid rows set for
// f, in no order, and whether there were more than MaxDistinct of them
// (then only the first MaxDistinct are returned).
func (in *Input) Distinct(f batch.Field) ([]string, bool) {
	m := in.targets[f]
	out := make([]string, 0, len(m))
	for v := range m {
		out = append(out, v)
	}
	return out, len(m) > MaxDistinct
}

// Rows returns the number of data rows in the file.
func (in *Input) Rows() int { return in.rows }

// Valid returns the number of rows that will be sent (the others are invalid).
func (in *Input) Valid() int { return in.valid }

// Name returns the file name used in messages.
func (in *Input) Name() string { return in.name }

// OpenInput checks the whole input before anything is sent: header, CSV
// syntax, UTF-8, and which numbers occur twice. name is used in messages.
//
// Duplicate detection keeps each valid row's number packed into a uint64
// while the check runs, then sorts them and keeps only the numbers that
// occur more than once. Nothing more is needed: a million rows cost 8 MB for
// the length of the check, and the send pass cannot outpace the API's rate.
func OpenInput(name string, open Opener) (*Input, error) {
	in := &Input{name: name, open: open}
	var keys []uint64
	err := in.scan(context.Background(), func(r batch.Row) error {
		in.rows++
		if r.Invalid == "" {
			keys = append(keys, numberKey(r.Number))
			in.noteTargets(r.Targets)
		}
		return nil
	}, false)
	if err != nil {
		return nil, err
	}
	if in.rows == 0 {
		return nil, &Error{File: name, Msg: "no data rows after the header: nothing to do"}
	}
	in.valid, in.dups = countDuplicates(keys)
	return in, nil
}

// countDuplicates sorts keys and returns how many distinct values they hold
// and the values that occur more than once (nil if none do): every
// occurrence after a number's first is an invalid row.
func countDuplicates(keys []uint64) (int, map[uint64]struct{}) {
	slices.Sort(keys)
	var dups map[uint64]struct{}
	distinct := 0
	for i, k := range keys {
		if i > 0 && k == keys[i-1] {
			if dups == nil {
				dups = make(map[uint64]struct{})
			}
			dups[k] = struct{}{}
			continue
		}
		distinct++
	}
	return distinct, dups
}

// noteTargets records the distinct values of the fields that the
// pre-flight check looks up; one past MaxDistinct marks the overflow.
func (in *Input) noteTargets(t batch.Targets) {
	for _, f := range [...]batch.Field{batch.AppID, batch.Subaccount} {
		if s := t[f]; s.Set && s.Value != "" {
			m := in.targets[f]
			if m == nil {
				m = map[string]struct{}{}
				in.targets[f] = m
			}
			if _, ok := m[s.Value]; !ok && len(m) <= MaxDistinct {
				m[s.Value] = struct{}{}
			}
		}
	}
}

// Each reads the input again and calls fn for every row, in file order,
// with duplicates marked invalid. It stops early when ctx is done or fn
// returns an error, and returns that error.
func (in *Input) Each(ctx context.Context, fn func(batch.Row) error) error {
	first := make(map[uint64]int, len(in.dups)) // duplicated number -> its first row
	return in.scan(ctx, func(r batch.Row) error {
		if r.Invalid == "" && in.dups != nil {
			k := numberKey(r.Number)
			if _, dup := in.dups[k]; dup {
				if line, seen := first[k]; seen {
					r.Invalid = "duplicate of row " + strconv.Itoa(line)
				} else {
					first[k] = r.Line
				}
			}
		}
		return fn(r)
	}, true)
}

// scan reads the input once, calling fn for every row in file order.
func (in *Input) scan(ctx context.Context, fn func(batch.Row) error, reopened bool) error {
	rc, err := in.open()
	if err != nil {
		return &Error{File: in.name, Msg: "cannot open: " + describeOpenErr(err), Err: err}
	}
	defer func() { _ = rc.Close() }()
	rd := newReader(in.name, rc)
	if err := rd.readHeader(); err != nil {
		return err
	}
	for {
		r, err := rd.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if reopened {
				return &Error{File: in.name, Msg: "changed while it was being read: " + err.Error(), Err: err}
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
}

func describeOpenErr(err error) string {
	var pe interface{ Unwrap() error }
	if errors.As(err, &pe) {
		if inner := pe.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	return err.Error()
}

// numberKey packs a normalised number (7 to 15 digits, no leading zero) into
// a uint64, so that duplicate detection costs 8 bytes a row.
func numberKey(n string) uint64 {
	var k uint64
	for i := 0; i < len(n); i++ {
		k = k*10 + uint64(n[i]-'0')
	}
	return k
}

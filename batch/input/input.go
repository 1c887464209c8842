// Package input reads plivo-bulk's input CSV. Open reads the input once,
// checking all of it while it writes every byte it reads to a private
// copy; Each parses the rows again from that copy. So what is sent is what
// was checked, whatever happens to the file meanwhile, and a FIFO or
// standard input is read once. The copy is a file, not rows in memory: a
// million rows held in memory would take most of the run's memory target.
package input

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/report"
)

// Error is a problem with the input file: nothing can be sent for it.
// Line is 0 when the problem has no line (an unreadable file).
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s: line %d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// MaxDistinct bounds the distinct values per field that Distinct keeps.
const MaxDistinct = 1000

// Input is an input file that passed the check.
type Input struct {
	name        string
	copy        *os.File // nil once closed
	removed     bool     // whether the copy's name is already gone
	start, size int64    // the csv.Reader's input in the copy: after a byte order mark and an origin line's text
	origin      int      // 1 when the file starts with an origin line (row 1), else 0
	rows, valid int
	origins     map[report.Origin]bool               // what an undo file records (undo.go); nil for another input
	tee         *tee                                 // the check's input; nil after it
	dups        map[uint64]repeat                    // the numbers on more than one valid row
	targets     [batch.NumFields]map[string]struct{} // the first MaxDistinct values valid rows set, for the pre-flight
	more        [batch.NumFields]bool                // which field had more
}

// Rows returns the number of data rows; Valid, of those that will be sent;
// Name, the file's name in messages.
func (in *Input) Rows() int    { return in.rows }
func (in *Input) Valid() int   { return in.valid }
func (in *Input) Name() string { return in.name }

// Origins returns the origins an undo file records (undo.go), or nil for another input.
func (in *Input) Origins() []report.Origin {
	return slices.SortedFunc(maps.Keys(in.origins), func(a, b report.Origin) int { return strings.Compare(a.String(), b.String()) })
}

// Distinct returns the distinct non-empty values valid rows set for f, sorted, and whether there
// were more than MaxDistinct: then the first MaxDistinct in file order.
func (in *Input) Distinct(f batch.Field) ([]string, bool) {
	return slices.Sorted(maps.Keys(in.targets[f])), in.more[f]
}

// Open reads, checks and copies the input; path "-" means stdin. ctx ends every wait (a FIFO no one
// writes to, a stalled producer). A problem with the file is an *Error.
func Open(ctx context.Context, path string, stdin io.Reader) (*Input, error) {
	name := path
	if path == "-" {
		name = "standard input"
	}
	src, stop := pump(ctx, path, stdin)
	defer stop()
	tmp, err := os.CreateTemp("", "plivo-bulk-input-*.csv")
	if err != nil {
		return nil, fmt.Errorf("create a private copy of %s: %w", name, err)
	}
	// Without a name, the copy cannot outlive the process; where it keeps one (Windows), Close removes it.
	in := &Input{name: name, copy: tmp, removed: os.Remove(tmp.Name()) == nil}
	in.targets[batch.AppID], in.targets[batch.Subaccount] = map[string]struct{}{}, map[string]struct{}{}
	t := &tee{name: name, r: src, w: tmp, limit: maxRow}
	switch err = in.check(ctx, t); {
	case err != nil && ctx.Err() != nil:
		err = fmt.Errorf("read %s: stopped before its end: %w", name, ctx.Err())
	case t.werr != nil:
		err = fmt.Errorf("write the private copy of %s: %w", name, t.werr)
	case err == nil && in.rows == 0:
		err = &Error{File: name, Msg: "no data rows after the header: nothing to do"}
	}
	if err != nil {
		_ = in.Close()
		return nil, err
	}
	return in, nil
}

// check reads the input through t, counts its rows, notes the pre-flight's values and the repeats.
func (in *Input) check(ctx context.Context, t *tee) error {
	br := bufio.NewReaderSize(t, readSize) // the csv.Reader's buffer
	if b, _ := br.Peek(len(bom)); string(b) == bom {
		_, _ = br.Discard(len(bom))
		in.start = int64(len(bom))
	}
	if err := in.skipOrigin(br); err != nil {
		return in.explain(nil, err)
	}
	t.limit, in.tee = in.start+maxRow, t
	rd := in.newReader(br)
	var keys []uint64 // the valid rows' numbers, 8 bytes a row: a map of them would take several times that
	err := scan(ctx, rd, func(r batch.Row) error {
		in.rows++
		if r.Invalid != "" {
			return nil
		}
		keys = append(keys, batch.NumberKey(r.Number))
		for _, f := range [...]batch.Field{batch.AppID, batch.Subaccount} {
			v := r.Targets[f].Value
			switch _, ok := in.targets[f][v]; {
			case v == "" || ok:
			case len(in.targets[f]) == MaxDistinct:
				in.more[f] = true
			default:
				in.targets[f][v] = struct{}{}
			}
		}
		return nil
	})
	if err != nil {
		return in.explain(rd, err)
	}
	in.tee = nil // the copy's passes check no row's length
	slices.Sort(keys)
	in.dups = map[uint64]repeat{}
	for i := 1; i < len(keys); i++ {
		if keys[i] == keys[i-1] {
			in.dups[keys[i]] = repeat{}
		}
	}
	in.valid, in.size = len(slices.Compact(keys)), t.n
	if in.origins != nil {
		in.rows -= len(keys) - in.valid // merged into an earlier row
	}
	return in.findRepeats(ctx)
}

// Each calls fn for every row of the private copy, in file order, a repeated number's later rows
// invalid (or merged: undo.go); it stops at ctx's end or fn's error, and returns that error.
func (in *Input) Each(ctx context.Context, fn func(batch.Row) error) error {
	n := 0
	var fnErr error
	err := in.scan(ctx, func(r batch.Row) error {
		if in.repeated(&r) {
			return nil
		}
		n++
		fnErr = fn(r)
		return fnErr
	})
	// A difference from the check is a bug or a tampered copy: nothing unchecked may be sent.
	switch {
	case fnErr != nil || ctx.Err() != nil:
		return err
	case err != nil:
		return &Error{File: in.name, Msg: "its private copy changed after the check: " + err.Error()}
	case n != in.rows:
		return &Error{File: in.name, Msg: fmt.Sprintf("its private copy gave %d rows, but the check found %d", n, in.rows)}
	}
	return nil
}

// scan reads the private copy's rows.
func (in *Input) scan(ctx context.Context, fn func(batch.Row) error) error {
	sr := io.NewSectionReader(in.copy, in.start, in.size-in.start)
	return scan(ctx, in.newReader(bufio.NewReaderSize(sr, readSize)), fn)
}

// Close removes the private copy. Each cannot be called after it.
func (in *Input) Close() error {
	if in.copy == nil {
		return nil
	}
	err := in.copy.Close()
	if !in.removed {
		err = errors.Join(err, os.Remove(in.copy.Name()))
	}
	in.copy = nil
	return err
}

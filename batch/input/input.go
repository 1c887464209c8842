// Package input reads plivo-bulk's input CSV. Open reads the input once,
// checking all of it (header, CSV syntax, UTF-8, cell sizes, id formats,
// duplicates), while it writes the bytes it checked to a private copy;
// Each parses the rows from that copy, so that what is sent is what was
// checked.
//
// # Undo files and cells
//
// An undo file (package report writes it) is read back as an input, and
// must restore exactly what it records, so the reader reads it as report
// says (report's tests write undo files and read them back with Open):
//
//   - An undo file's rows end with report.OriginColumns, the account and
//     API host it was written against; Origins returns them, for run to
//     check. Older undo files and reports start with a line (after a byte
//     order mark, if any) that starts with report.LegacyPrefix instead: it
//     is skipped, and still counts (the header is then line 2 and row 2, as
//     a text editor and a spreadsheet show), and an undo file's records
//     its origin.
//   - Every cell, the number's included, is trimmed and then decoded with
//     report.UnescapeCell: a cell that starts with an apostrophe is an
//     escaped value (so a value that starts with one is written with two).
//     A target cell that is (clear) as written empties its field; an
//     escaped '(clear) is the text itself. A cell that does not decode, or
//     a lone ' (an escaped empty value), makes its row invalid with a
//     reason naming the column. An app_id or subaccount is checked once
//     decoded. The writer never needs to escape a number, which is digits,
//     but it writes every cell escaped, and so the number is decoded too:
//     every cell of a file reads the same way ('+1 202 555 0101, as a
//     spreadsheet user types a number to keep its +, is +1 202 555 0101).
//   - A number that occurs on more than one valid row is, in an ordinary
//     input, sent once: its later rows are invalid ("duplicate of row N"),
//     since two concurrent updates of one number have no defined winner.
//     In an undo file, its rows are
//     merged instead into its first row, field by field, the first value
//     of each field winning, as report.UndoWriter merges them when it
//     closes the file: the first value recorded is from before any change.
//     The writer's rows for a number hold disjoint fields, and a run killed
//     before it closed the file leaves them unmerged; the merged row
//     restores them all, and the later rows are not rows of the input at
//     all (Rows does not count them, Each does not yield them).
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
	"strconv"
	"strings"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/report"
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

// Input is an input file that passed the check: its header is good, every
// line parses, and its duplicates are known. It holds a private copy of the
// bytes that were checked, which every later pass reads: what is sent is
// what was checked, even if the file changes, and a FIFO, a process
// substitution or standard input is read once only. The copy is a file,
// not memory, so that a large input does not weigh on the whole run.
type Input struct {
	name    string
	copy    *os.File // the private copy; nil once closed
	size    int64    // of the private copy
	removed bool     // whether the copy's name is already gone
	start   int64    // where the csv.Reader starts in the copy: after a BOM and an origin line's text
	origin  origin
	origins []report.Origin // what an undo file records; nil for another input
	rows    int
	valid   int
	dups    map[uint64]struct{} // numbers that occur more than once
	// merged holds, for an undo file, the targets of each number in dups:
	// its rows' fields, the first value of each field winning.
	merged map[uint64]batch.Targets
	// targets holds, per field, the first MaxDistinct distinct non-empty
	// values that valid rows set, in file order: the pre-flight check reads
	// each application and subaccount once without a pass of its own.
	// more says which fields had more.
	targets [batch.NumFields]map[string]struct{}
	more    [batch.NumFields]bool
}

// MaxDistinct bounds the distinct values per field that Distinct keeps.
const MaxDistinct = 1000

// Distinct returns the distinct non-empty values that valid rows set for
// f, sorted, and whether there were more than MaxDistinct of them: then
// the first MaxDistinct in file order are returned.
func (in *Input) Distinct(f batch.Field) ([]string, bool) {
	return slices.Sorted(maps.Keys(in.targets[f])), in.more[f]
}

// Rows returns the number of data rows in the file.
func (in *Input) Rows() int { return in.rows }

// Valid returns the number of rows that will be sent (the others are invalid).
func (in *Input) Valid() int { return in.valid }

// Origins returns the accounts and API hosts that an undo file's rows (or
// an older one's first line) record, or nil for another input.
func (in *Input) Origins() []report.Origin { return in.origins }

// Name returns the file name used in messages.
func (in *Input) Name() string { return in.name }

// Open reads the input once, completely, checking it (header, CSV syntax,
// UTF-8, the size of each cell, the format of each id, and which numbers
// occur twice) while it writes a private copy, which later passes read.
// path "-" means stdin. ctx ends every wait: the open of a FIFO that no one
// writes to, a producer that stalls.
//
// A problem with the input's content is an *Error; nothing can be sent for
// such an input. Call Close to remove the private copy.
func Open(ctx context.Context, path string, stdin io.Reader) (*Input, error) {
	if path == "-" {
		return open(ctx, "standard input", stdin)
	}
	f, err := openSource(ctx, path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // also ends a read of a FIFO that ctx abandoned
	return open(ctx, path, f)
}

// open checks src and copies it; name is used in messages.
func open(ctx context.Context, name string, src io.Reader) (_ *Input, err error) {
	tmp, err := os.CreateTemp("", "plivo-bulk-input-*.csv")
	if err != nil {
		return nil, fmt.Errorf("create a private copy of %s: %w", name, err)
	}
	in := &Input{name: name, copy: tmp}
	// Without its name, the copy cannot outlive the process, however the
	// process ends. Where an open file cannot be removed, Close removes it.
	in.removed = os.Remove(tmp.Name()) == nil
	defer func() {
		if err != nil {
			_ = in.Close()
		}
	}()

	w := bufio.NewWriterSize(tmp, readSize)
	s := &source{ctx: ctx, r: src, w: w}
	rd, err := newChecker(name, s)
	if err == nil {
		in.start, in.origin = int64(rd.start), rd.origin
		err = scan(ctx, rd, func(r batch.Row) error {
			in.rows++
			if r.Invalid == "" {
				in.valid++
				in.noteTargets(r.Targets)
			}
			return nil
		})
	}
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, fmt.Errorf("read %s: stopped before its end: %w", name, ctx.Err())
	case s.werr != nil:
		return nil, fmt.Errorf("write the private copy of %s: %w", name, s.werr)
	case err != nil:
		return nil, err
	case in.rows == 0:
		return nil, &Error{File: name, Msg: "no data rows after the header: nothing to do"}
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("write the private copy of %s: %w", name, err)
	}
	in.size = int64(s.base + len(s.data))
	for o := range rd.origins {
		in.origins = append(in.origins, o)
	}
	slices.SortFunc(in.origins, func(a, b report.Origin) int { return strings.Compare(a.String(), b.String()) })
	// The duplicates: each valid row's number packed into a uint64, 8
	// bytes a row, sorted. Read from the copy, the keys' slice is sized
	// once: grown while the check reads, it would hold two arrays at each
	// growth, and the check's peak would grow with the file.
	keys := make([]uint64, 0, in.valid)
	err = in.scan(ctx, func(r batch.Row) error {
		if r.Invalid == "" && len(keys) < cap(keys) {
			keys = append(keys, batch.NumberKey(r.Number))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the private copy of %s: %w", name, err)
	}
	validRows := len(keys)
	in.valid, in.dups = countDuplicates(keys)
	if in.origins != nil && in.dups != nil {
		if err := in.merge(ctx); err != nil {
			return nil, err
		}
		in.rows -= validRows - in.valid // the rows merged into an earlier one
	}
	return in, nil
}

// merge reads the private copy of an undo file that lists numbers more
// than once and gathers, for each such number, its rows' targets into one,
// the first value of each field winning, as report.UndoWriter does when it
// closes the file: the first value recorded is from before any change.
// Only the repeated numbers are held. Each then sends one row per number.
func (in *Input) merge(ctx context.Context) error {
	in.merged = make(map[uint64]batch.Targets, len(in.dups))
	err := in.scan(ctx, func(r batch.Row) error {
		k := batch.NumberKey(r.Number)
		if _, dup := in.dups[k]; r.Invalid != "" || !dup {
			return nil
		}
		m, seen := in.merged[k]
		if !seen {
			in.merged[k] = r.Targets
			return nil
		}
		for f, s := range r.Targets {
			if s.Set && !m[f].Set {
				m[f] = s
			}
		}
		in.merged[k] = m
		return nil
	})
	if err != nil {
		return fmt.Errorf("read the private copy of %s: %w", in.name, err)
	}
	return nil
}

// Close removes the private copy. Each cannot be called after it.
func (in *Input) Close() error {
	if in.copy == nil {
		return nil
	}
	err := in.copy.Close()
	if !in.removed {
		if rerr := os.Remove(in.copy.Name()); err == nil {
			err = rerr
		}
	}
	in.copy = nil
	return err
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
// pre-flight check looks up.
func (in *Input) noteTargets(t batch.Targets) {
	for _, f := range [...]batch.Field{batch.AppID, batch.Subaccount} {
		if s := t[f]; s.Set && s.Value != "" {
			m := in.targets[f]
			if m == nil {
				m = map[string]struct{}{}
				in.targets[f] = m
			}
			if _, ok := m[s.Value]; !ok && len(m) < MaxDistinct {
				m[s.Value] = struct{}{}
			} else if !ok {
				in.more[f] = true
			}
		}
	}
}

// Each reads the private copy and calls fn for every row, in file order,
// with duplicates marked invalid, or, in an undo file, merged into the
// number's first row (see the package comment). It stops early when ctx is
// done or fn returns an error, and returns that error.
func (in *Input) Each(ctx context.Context, fn func(batch.Row) error) error {
	if in.copy == nil {
		return fmt.Errorf("read %s: the input is closed", in.name)
	}
	first := make(map[uint64]int, len(in.dups)) // duplicated number -> its first row
	n := 0
	var fnErr error
	err := in.scan(ctx, func(r batch.Row) error {
		if r.Invalid == "" && in.dups != nil {
			k := batch.NumberKey(r.Number)
			if _, dup := in.dups[k]; dup {
				_, seen := first[k]
				switch {
				case seen && in.merged != nil:
					return nil // merged into the number's first row
				case seen:
					r.Invalid = "duplicate of row " + strconv.Itoa(first[k])
				case in.merged != nil:
					first[k] = r.Line
					r.Targets = in.merged[k]
				default:
					first[k] = r.Line
				}
			}
		}
		n++
		fnErr = fn(r)
		return fnErr
	})
	// The copy is private and was checked: a difference means a bug or a
	// tampered temporary file, and nothing unchecked may be sent.
	switch {
	case fnErr != nil || ctx.Err() != nil:
		return err
	case err != nil:
		return &Error{File: in.name, Msg: "its private copy changed after the check: " + err.Error(), Err: err}
	case n != in.rows:
		return &Error{File: in.name, Msg: fmt.Sprintf("its private copy gave %d rows, but the check found %d", n, in.rows)}
	}
	return nil
}

// scan reads the private copy, from where the csv.Reader starts.
func (in *Input) scan(ctx context.Context, fn func(batch.Row) error) error {
	return scan(ctx, newReader(in.name, io.NewSectionReader(in.copy, in.start, in.size-in.start), in.origin), fn)
}

// scan reads rd's header and calls fn for every row in file order.
func scan(ctx context.Context, rd *reader, fn func(batch.Row) error) error {
	if err := rd.readHeader(); err != nil {
		return err
	}
	for {
		r, err := rd.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
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

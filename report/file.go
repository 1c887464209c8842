package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// kind is one of the files a run writes.
type kind struct {
	what   string // names it in messages: "report", "undo file", "plan"
	tag    string // names it on its origin line; "" for a file without one
	flag   string // the flag that names it
	header []string
	// appendOnForce makes Force append to the file, as Resume does, instead
	// of emptying it: an undo file may hold the only record of the values
	// from before an earlier run.
	appendOnForce bool
}

var (
	reportKind = kind{what: "report", tag: "report", flag: "--report", header: Columns}
	undoKind   = kind{what: "undo file", tag: "undo", flag: "--undo", header: batch.Columns(), appendOnForce: true}
	planKind   = kind{what: "plan", flag: "--output", header: PlanColumns}
)

func (k kind) headerLine() string { return strings.Join(k.header, ",") + "\n" }

// preamble is what a file starts with: the origin line (for kinds with a
// tag) and the header.
func (k kind) preamble(o Origin) string {
	if k.tag == "" {
		return k.headerLine()
	}
	return o.line(k.tag) + k.headerLine()
}

// existing is what an existing file turned out to hold.
type existing struct {
	ours      bool   // it starts as a file of this kind
	origin    Origin // the origin its origin line records; zero if none
	start     int64  // where its data rows start
	keep      int64  // the length of its complete lines
	size      int64
	firstLine string // for messages about a file that is not ours
	exact     bool   // its origin line says its target cells are escaped
	input     string // what it holds, if it reads as an input (see inputKind)
}

// rows reports whether the file holds at least one complete data line.
func (e existing) rows() bool { return e.keep > e.start }

// openCSV opens a CSV file that a run writes (the report, the undo file,
// the plan), locked with an exclusive flock for as long as it is open.
//
// An existing file of this kind with no complete data row (a run that
// stopped before recording anything, or was killed while writing the
// header) is taken over in any mode: it records nothing. Otherwise it is
// refused in mode New; emptied in mode Force (unless the kind appends on
// Force); and for Resume (or Force on a kind that appends) its origin must
// be the run's, resume reads its rows from start to keep and returns the
// length to keep (a torn last record is cut off), and writing appends.
// The origin line and header are written to an empty file.
func openCSV(path string, k kind, mode Mode, origin Origin, resume func(f *os.File, start, keep int64, exact bool) (int64, error)) (f *os.File, start int64, torn bool, err error) {
	if k.tag != "" {
		if err := origin.validate(); err != nil {
			return nil, 0, false, fmt.Errorf("open %s: %w", k.what, err)
		}
	}
	f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, 0, false, fmt.Errorf("open %s: %w", k.what, err)
	}
	fail := func(err error) (*os.File, int64, bool, error) {
		_ = f.Close()
		return nil, 0, false, err
	}
	if err := lockFile(f); err != nil {
		if errors.Is(err, ErrLocked) {
			return fail(fmt.Errorf("%s: %w (two runs must not write one %s; wait for the other to finish)", path, ErrLocked, k.what))
		}
		return fail(fmt.Errorf("lock %s %s: %w", k.what, path, err))
	}
	st, err := f.Stat()
	if err != nil {
		return fail(fmt.Errorf("stat %s: %w", k.what, err))
	}
	if st.Size() > 0 {
		ex, err := inspect(f, k)
		if err != nil {
			return fail(fmt.Errorf("read %s: %w", k.what, err))
		}
		appending := mode == Resume || mode == Force && k.appendOnForce
		switch {
		case ex.input != "" && k.tag != undoKind.tag:
			// It may be the only record of the values before a run.
			return fail(fmt.Errorf("%s holds %s: refusing to write a %s over it, whatever the flags (an undo file is never emptied, not even with --force): name another %s", path, ex.input, k.what, k.flag))
		case ex.ours && !ex.rows():
			// Nothing recorded: take it over, whoever wrote it.
			if err := f.Truncate(0); err != nil {
				return fail(fmt.Errorf("truncate %s: %w", k.what, err))
			}
		case mode == New:
			return fail(fmt.Errorf("%s: %w (a %s with rows): use --resume to continue the run it records, or --force to %s", path, ErrExists, k.what, forceDoes(k)))
		case !appending:
			if err := f.Truncate(0); err != nil {
				return fail(fmt.Errorf("truncate %s: %w", k.what, err))
			}
		case !ex.ours:
			return fail(notOurs(path, k, mode, ex))
		case ex.origin != origin:
			return fail(&OriginError{Path: path, What: k.what, Flag: k.flag, Have: ex.origin, Want: origin})
		default:
			keep, err := resume(f, ex.start, ex.keep, ex.exact)
			if err != nil {
				return fail(err)
			}
			if keep < ex.size {
				torn = true
				if err := f.Truncate(keep); err != nil {
					return fail(fmt.Errorf("drop the torn last line of the %s: %w", k.what, err))
				}
			}
			start = ex.start
		}
	}
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fail(fmt.Errorf("seek %s: %w", k.what, err))
	}
	if end == 0 {
		p := k.preamble(origin)
		if _, err := f.WriteString(p); err != nil {
			return fail(fmt.Errorf("%w: %w", ErrWrite, err))
		}
		start = int64(len(p))
	}
	return f, start, torn, nil
}

func notOurs(path string, k kind, mode Mode, ex existing) error {
	what := "it does not start with the origin line and header plivo-bulk writes"
	if strings.HasPrefix(ex.firstLine, "# plivo-bulk ") {
		what = fmt.Sprintf("it starts %q", ex.firstLine)
	}
	if k.appendOnForce && mode == Force {
		return fmt.Errorf("%s: not a plivo-bulk %s (%s): refusing to append to it; an %s is never emptied, not even with --force: use another %s", path, k.what, what, k.what, k.flag)
	}
	return fmt.Errorf("%s: not a plivo-bulk %s (%s): refusing to resume into it", path, k.what, what)
}

// maxPreamble bounds what inspect reads of a file's start: an origin line
// and a header are far shorter.
const maxPreamble = 16 << 10

// inspect reads what an existing file starts with and where its complete
// lines end. A file of this kind that ends inside its origin line or its
// header (a run killed while writing them) is ours, with no rows. A file
// saved again by another program is ours too: with a byte order mark, or
// with CRLF line ends (Python's csv module, a spreadsheet on Windows).
func inspect(f *os.File, k kind) (existing, error) {
	var ex existing
	keep, size, err := completeLength(f)
	if err != nil {
		return ex, err
	}
	ex.keep, ex.size = keep, size
	head := make([]byte, min(size, maxPreamble))
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return ex, err
	}
	head = head[:n]
	whole := int64(n) == size // head is the whole file
	pos := 0
	if bytes.HasPrefix(head, []byte(bom)) {
		pos = len(bom)
	}
	first, _, _ := bytes.Cut(head[pos:], []byte{'\n'})
	ex.firstLine = clip(strings.TrimSuffix(string(first), "\r"))
	ex.input = inputKind(head[pos:])
	if k.tag != "" && len(head) > pos && head[pos] == '#' {
		prefix := []byte(originPrefix(k.tag))
		i := bytes.IndexByte(head[pos:], '\n')
		if i < 0 {
			ex.ours = whole && (bytes.HasPrefix(head[pos:], prefix) || bytes.HasPrefix(prefix, head[pos:]))
			ex.start = size
			return ex, nil
		}
		line := strings.TrimSuffix(string(head[pos:pos+i]), "\r")
		o, err := parseOriginLine(line, k.tag)
		if err != nil {
			return ex, nil // not ours
		}
		ex.origin, ex.exact, pos = o, slices.Contains(strings.Fields(line), escapedCells), pos+i+1
	}
	hdr, rest := strings.TrimSuffix(k.headerLine(), "\n"), string(head[pos:])
	switch {
	case strings.HasPrefix(rest, hdr+"\n"):
		ex.ours, ex.start = true, int64(pos+len(hdr)+1)
	case strings.HasPrefix(rest, hdr+"\r\n"):
		ex.ours, ex.start = true, int64(pos+len(hdr)+2)
	case whole && strings.HasPrefix(hdr+"\r", rest):
		ex.ours, ex.start = true, size
	}
	return ex, nil
}

func originPrefix(tag string) string { return "# plivo-bulk " + tag + ":" }

const bom = "\xef\xbb\xbf"

// inputKind says what a file that starts with b holds, if plivo-bulk reads
// it back as an input: an undo file, or a file whose header starts with
// the number column, as an undo file's and an export's do. It is "" for
// any other file.
func inputKind(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte(originPrefix(undoKind.tag))):
		return "a plivo-bulk undo file (the values that restore what a run changed)"
	case len(b) >= 7 && bytes.EqualFold(b[:7], []byte("number,")):
		return "an input file (a header starting with number: an export, an undo file of an older version, or an input)"
	}
	return ""
}

// clip shortens a line for a message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// scanRecords reads the CSV records of f from start to keep, each of n
// fields, and calls fn with each (the slice is reused). It returns where the
// records end: keep, or the start of a torn last record, one that a killed
// run cut inside a quoted, multi-line cell. Any other damage is an error.
func scanRecords(f *os.File, path string, start, keep int64, n int, fn func(rec []string) error) (int64, error) {
	sec := io.NewSectionReader(f, start, keep-start)
	r := csv.NewReader(bufio.NewReaderSize(sec, 64<<10))
	r.ReuseRecord = true
	r.FieldsPerRecord = n
	for {
		at := r.InputOffset()
		rec, err := r.Read()
		if err == io.EOF {
			return keep, nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrQuote) && r.InputOffset() == keep-start {
			return start + at, nil // the file ends inside a quoted cell: torn
		}
		if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
			return 0, fmt.Errorf("%s: line %d: damaged (%d fields, want %d), cannot resume", path, pe.StartLine, len(rec), n)
		}
		if err != nil {
			return 0, fmt.Errorf("%s: damaged, cannot resume: %w", path, err)
		}
		if err := fn(rec); err != nil {
			return 0, err
		}
	}
}

// writeFlushed writes one record and flushes it to the file, so that a
// killed process leaves every complete line behind.
func writeFlushed(cw *csv.Writer, rec []string) error {
	if err := cw.Write(rec); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// closeCSV flushes cw, syncs and closes f (when not nil).
func closeCSV(f *os.File, cw *csv.Writer) error {
	cw.Flush()
	err := cw.Error()
	if f != nil {
		if serr := f.Sync(); err == nil {
			err = serr
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// completeLength finds the end of the last complete line by reading the
// file backwards from its end, a block at a time.
func completeLength(f *os.File) (keep, size int64, err error) {
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	size = st.Size()
	buf := make([]byte, 32<<10)
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && err != io.EOF {
			return 0, 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, size, nil
		}
		end = start
	}
	return 0, size, nil
}

// forceDoes says what --force does to an existing file of this kind.
func forceDoes(k kind) string {
	if k.appendOnForce {
		return "append to it"
	}
	return "replace it"
}

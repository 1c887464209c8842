package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// Mode says what to do with a report, undo file or plan that already
// exists. In every mode, a file that records nothing (only its header,
// perhaps torn: a run that stopped before its first row) is taken over.
type Mode int

// The modes.
const (
	New    Mode = iota // refuse an existing file
	Force              // replace it; an undo file is appended to instead, never emptied
	Resume             // read what it says is done, then append
)

var (
	// ErrExists is returned when the file exists and the mode is New.
	ErrExists = errors.New("file already exists")
	// ErrLocked is returned when another run holds the file.
	ErrLocked = errors.New("report is in use by another run")
	// ErrWrite is matched by the error of a write to a report, an undo file
	// or a plan that failed (a full disk, a closed pipe): the row was not
	// recorded, and every later write fails the same way, so that nothing
	// follows a partly written line.
	ErrWrite = errors.New("cannot write")
)

// kind is one of the CSV files a run writes as it goes.
type kind struct {
	what, flag string
	tag        string   // of an older version's origin line; "" for a plan
	header     []string // without OriginColumns, which end the rows of a kind with a tag
	// appendOnForce makes Force append, as Resume does: an undo file may
	// hold the only record of the values from before an earlier run.
	appendOnForce bool
}

var (
	reportKind = kind{what: "report", flag: "--report", tag: "report", header: Columns[:len(Columns)-2]}
	undoKind   = kind{what: "undo file", flag: "--undo", tag: "undo", header: batch.Columns(), appendOnForce: true}
	planKind   = kind{what: "plan", flag: "--output", header: PlanColumns}
)

// csvFile is a report, undo file or plan, written a record at a time. In a
// file of an older version (legacy), the origin is on the first line and
// the rows have no origin cells; appending keeps that form.
type csvFile struct {
	f      *os.File // nil for standard output
	stream bool     // f is not a regular file
	w      *csv.Writer
	rec    []string // the record being written, its origin cells set once
	start  int64    // where the data rows start
	torn   bool     // resuming dropped a torn last line
	err    error    // the first failed write: every later one returns it
}

// openCSV opens a report, undo file or plan for a run against o (see Mode),
// locked with an exclusive flock while it is open. To append (Resume, or
// Force on a kind that appends), resume is called with each row of the
// file, and exact says its targets are escaped (all but the reports of an
// old version). What is not a regular file is written as a stream.
func openCSV(path string, k kind, mode Mode, o Origin, stdout io.Writer, resume func(rec []string, exact bool) error) (*csvFile, error) {
	hdr := k.header
	c := &csvFile{rec: make([]string, len(hdr))}
	if k.tag != "" {
		hdr = append(append([]string(nil), hdr...), OriginColumns...)
		oc := o.cells()
		c.rec = append(c.rec, oc[:]...)
	}
	dst, inPlace, err := resolve(path)
	if IsStdout(path) || err == nil && inPlace {
		if mode == Resume || k.appendOnForce {
			return nil, fmt.Errorf("%s %s: not a regular file: the %s must be one, to be read back by a later run", k.flag, path, k.what)
		}
		c.stream = true
		if IsStdout(path) {
			return c, c.begin(nil, stdout, hdr)
		}
		f, err := openInPlace(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k.flag, err)
		}
		return c, c.begin(f, f, hdr)
	}
	var f *os.File
	if err == nil {
		if f, err = os.OpenFile(dst, os.O_RDWR, 0); errors.Is(err, fs.ErrNotExist) {
			f, err = os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", k.what, err)
	}
	if err := lockFile(f); err != nil {
		_ = f.Close()
		if errors.Is(err, ErrLocked) {
			return nil, fmt.Errorf("%s: %w (two runs must not write one %s; wait for the other to finish)", path, ErrLocked, k.what)
		}
		return nil, fmt.Errorf("lock %s %s: %w", k.what, path, err)
	}
	ex, err := inspect(f, k)
	appending := mode == Resume || mode == Force && k.appendOnForce
	switch {
	case err != nil:
		err = fmt.Errorf("read %s: %w", k.what, err)
	case ex.size == 0:
		return c, c.begin(f, f, hdr)
	case ex.input != "" && !k.appendOnForce:
		err = fmt.Errorf("%s holds %s: refusing to write a %s over it, whatever the flags (an undo file is never emptied, not even with --force): name another %s", path, ex.input, k.what, k.flag)
	case ex.ours && ex.keep <= ex.start, mode == Force && !appending:
		err = c.replace(f, dst, hdr) // it records nothing, whoever wrote it; or --force
	case mode == New:
		what := "replace it"
		if k.appendOnForce {
			what = "append to it"
		}
		err = fmt.Errorf("%s: %w (a %s with rows): use --resume to continue the run it records, or --force to %s", path, ErrExists, k.what, what)
	case !ex.ours:
		err = notOurs(path, k, mode, ex)
	case ex.legacy && ex.origin != o:
		err = &OriginError{Path: path, What: k.what, Flag: k.flag, Have: ex.origin, Want: o}
	default:
		if ex.legacy {
			c.rec = c.rec[:len(k.header)]
		}
		err = c.append(f, path, k, ex, o, resume)
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return c, nil
}

// begin starts writing a new file, f or a stream, with its header.
func (c *csvFile) begin(f *os.File, w io.Writer, header []string) error {
	c.f, c.w = f, csv.NewWriter(w)
	return c.write(header)
}

// replace writes a new file with the header and renames it over dst, the
// file old, which stays locked until the new one, locked too, has its name.
func (c *csvFile) replace(old *os.File, dst string, header []string) error {
	st, err := old.Stat()
	if err != nil {
		return err
	}
	f, err := createTemp(dst, st)
	if err == nil {
		if err = lockFile(f); err == nil {
			err = c.begin(f, f, header)
		}
		if err == nil {
			err = rename(f.Name(), dst)
		}
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}
	if err != nil {
		return fmt.Errorf("replace %s: %w", dst, err)
	}
	_ = old.Close()
	return nil
}

// append reads the rows of f, the existing file ex, to resume, cuts off a
// torn last line and leaves f ready to append to.
func (c *csvFile) append(f *os.File, path string, k kind, ex existing, o Origin, resume func([]string, bool) error) error {
	origin := c.rec[len(k.header):]
	keep, err := scanRecords(f, path, ex.start, ex.keep, len(c.rec), func(rec []string) error {
		if have := rec[len(k.header):]; !slices.Equal(have, origin) {
			a, _ := UnescapeCell(have[0])
			api, _ := UnescapeCell(have[1])
			return &OriginError{Path: path, What: k.what, Flag: k.flag, Have: Origin{a, api}, Want: o}
		}
		return resume(rec, !ex.legacy || ex.exact)
	})
	if err != nil {
		return err
	}
	if keep < ex.size {
		c.torn = true
		if err := f.Truncate(keep); err != nil {
			return fmt.Errorf("drop the torn last line of the %s: %w", k.what, err)
		}
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return err
	}
	c.f, c.w, c.start = f, csv.NewWriter(f), ex.start
	return nil
}

// write writes one record and flushes it, so that a killed process leaves
// every complete line behind.
func (c *csvFile) write(rec []string) error {
	if c.err == nil {
		_ = c.w.Write(rec)
		c.w.Flush()
		if err := c.w.Error(); err != nil {
			c.err = fmt.Errorf("%w: %w", ErrWrite, err)
		}
	}
	return c.err
}

// close flushes, syncs and closes the file.
func (c *csvFile) close() error {
	c.w.Flush()
	err := c.w.Error()
	if c.f != nil {
		if !c.stream {
			err = errors.Join(err, c.f.Sync())
		}
		err = errors.Join(err, c.f.Close())
	}
	if c.err != nil {
		return c.err
	}
	return err
}

func notOurs(path string, k kind, mode Mode, ex existing) error {
	what := "it does not start with the header plivo-bulk writes"
	if strings.HasPrefix(ex.firstLine, LegacyPrefix) {
		what = fmt.Sprintf("it starts %q", ex.firstLine)
	}
	if k.appendOnForce && mode == Force {
		return fmt.Errorf("%s: not a plivo-bulk %s (%s): refusing to append to it; an %s is never emptied, not even with --force: use another %s", path, k.what, what, k.what, k.flag)
	}
	return fmt.Errorf("%s: not a plivo-bulk %s (%s): refusing to resume into it", path, k.what, what)
}

// existing is what an existing file turned out to hold.
type existing struct {
	ours      bool   // it starts as a file of this kind
	legacy    bool   // with an older version's origin line
	exact     bool   // that line says its target cells are escaped
	origin    Origin // the origin that line records
	start     int64  // where its data rows start
	keep      int64  // the length of its complete lines
	size      int64
	firstLine string // for messages about a file that is not ours
	input     string // what it holds, if it reads as an input (see inputKind)
}

const bom = "\xef\xbb\xbf"

// inspect reads what an existing file starts with and where its complete
// lines end. A file of this kind cut inside its first lines (a run killed
// while writing them) is ours, with no rows; so is one saved again with a
// byte order mark or CRLF line ends (Python's csv module, a spreadsheet).
func inspect(f *os.File, k kind) (ex existing, err error) {
	if ex.keep, ex.size, err = completeLength(f); err != nil {
		return ex, err
	}
	head := make([]byte, min(ex.size, 16<<10)) // the header is far shorter
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return ex, err
	}
	whole := int64(n) == ex.size
	pos := 0
	if bytes.HasPrefix(head, []byte(bom)) {
		pos = len(bom)
	}
	first, _, _ := bytes.Cut(head[pos:n], []byte{'\n'})
	ex.firstLine = clip(strings.TrimSuffix(string(first), "\r"))
	ex.input = inputKind(head[pos:n])
	hdr := strings.Join(k.header, ",")
	if k.tag != "" {
		prefix := LegacyPrefix + k.tag + ":"
		if i := bytes.IndexByte(head[pos:n], '\n'); i >= 0 && strings.HasPrefix(ex.firstLine, prefix) {
			ex.origin, ex.exact, ex.legacy = parseLegacyLine(strings.TrimSuffix(string(head[pos:pos+i]), "\r"), k.tag)
			pos += i + 1
		} else if whole && (strings.HasPrefix(ex.firstLine, prefix) || strings.HasPrefix(prefix, ex.firstLine)) {
			ex.ours, ex.start = true, ex.size // cut inside an origin line
			return ex, nil
		} else {
			hdr += "," + strings.Join(OriginColumns, ",")
		}
	}
	rest := string(head[pos:n])
	switch {
	case strings.HasPrefix(rest, hdr+"\n"):
		ex.ours, ex.start = true, int64(pos+len(hdr)+1)
	case strings.HasPrefix(rest, hdr+"\r\n"):
		ex.ours, ex.start = true, int64(pos+len(hdr)+2)
	case whole && strings.HasPrefix(hdr+"\r", rest):
		ex.ours, ex.start = true, ex.size
	}
	return ex, nil
}

// undoHeader is the first line of an undo file.
var undoHeader = strings.Join(append(batch.Columns(), OriginColumns...), ",")

// inputKind says what a file that starts with b holds, if plivo-bulk reads
// it back as an input: an undo file, or a file whose header starts with
// the number column, as an export's and an input's do. "" for another.
func inputKind(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte(LegacyPrefix+undoKind.tag+":")), bytes.HasPrefix(b, []byte(undoHeader+"\n")), bytes.HasPrefix(b, []byte(undoHeader+"\r\n")):
		return "a plivo-bulk undo file (the values that restore what a run changed)"
	case len(b) >= 7 && bytes.EqualFold(b[:7], []byte("number,")):
		return "an input file (a header starting with number: an export, an undo file of an older version, or an input)"
	}
	return ""
}

// CheckNotUndo refuses, whatever the flags, to have flag replace the file
// at path when it is an undo file: it may hold the only record of the
// values from before a run.
func CheckNotUndo(path, flag string) error {
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
		return nil // nothing there to lose; and opening a pipe to read it waits for ever
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer func() { _ = f.Close() }()
	head := make([]byte, len(bom)+len(undoHeader)+2)
	n, _ := io.ReadFull(f, head)
	if strings.HasPrefix(inputKind(bytes.TrimPrefix(head[:n], []byte(bom))), "a plivo-bulk undo") {
		return fmt.Errorf("%s holds a plivo-bulk undo file: refusing to replace it, whatever the flags (an undo file is never emptied, not even with --force): name another %s", path, flag)
	}
	return nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// scanRecords reads the CSV records of f from start to keep, each of n
// fields, and calls fn with each (the slice is reused). It returns where the
// records end: keep, or the start of a torn last record, one that a killed
// run cut inside a quoted cell. Any other damage is an error.
func scanRecords(f *os.File, path string, start, keep int64, n int, fn func(rec []string) error) (int64, error) {
	r := csv.NewReader(bufio.NewReaderSize(io.NewSectionReader(f, start, keep-start), 64<<10))
	r.ReuseRecord = true
	r.FieldsPerRecord = n
	for {
		at := r.InputOffset()
		rec, err := r.Read()
		var pe *csv.ParseError
		switch {
		case err == io.EOF:
			return keep, nil
		case errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrQuote) && r.InputOffset() == keep-start:
			return start + at, nil // the file ends inside a quoted cell: torn
		case errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount):
			return 0, fmt.Errorf("%s: line %d: damaged (%d fields, want %d), cannot resume", path, pe.StartLine, len(rec), n)
		case err != nil:
			return 0, fmt.Errorf("%s: damaged, cannot resume: %w", path, err)
		}
		if err := fn(rec); err != nil {
			return 0, err
		}
	}
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

package report

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// Mode says what to do with an existing report, undo file or plan; one with no row is taken over.
type Mode int

// The modes.
const (
	New    Mode = iota // refuse an existing file
	Force              // replace it; an undo file is appended to instead, never emptied
	Resume             // read what it says is done, then append
)

var (
	ErrExists = errors.New("file already exists")
	ErrLocked = errors.New("report is in use by another run")
	// ErrWrite: the row was not recorded, and every later write fails the same way.
	ErrWrite = errors.New("cannot write")
)

// kind is one of the CSV files a run writes as it goes.
type kind struct {
	what, flag, tag string   // tag: of an older version's first line; "" for a plan
	header          []string // OriginColumns follow it in a kind with a tag
	appendOnForce   bool     // an undo file may hold the only record of the values before a run
	exists, foreign string   // an existing one with rows, and what to do; what to do about one of another origin
}

var (
	reportKind = kind{"report", "--report", "report", Columns[:len(Columns)-2], false,
		"(a report with rows): use --resume to continue the run it records, or --force to replace it", "use another --report, or --force to start over"}
	undoKind = kind{"undo file", "--undo", "undo", batch.Columns(), true,
		"(an undo file with rows): use --resume or --force to append to it", "use another --undo (an undo file is never emptied, not even with --force)"}
	planKind   = kind{"plan", "--output", "", PlanColumns, false, "(a plan with rows): use --force to replace it, or name another --output", ""}
	undoHeader = strings.Join(append(batch.Columns(), OriginColumns...), ",")
)

// csvFile is a report, undo file or plan, flushed a record at a time: a killed run leaves every
// complete line.
type csvFile struct {
	f     *os.File // nil for standard output
	path  string   // as named, for messages
	dst   string   // where the file is, a rewrite put; "" for a stream (not a regular file)
	w     *csv.Writer
	rec   []string // the record being written, its origin cells set once
	start int64    // where the rows start
	Torn  bool     // resuming dropped a torn last line
	err   error    // the first failed write: every later one returns it
}

// openCSV opens a file of kind k for a run against o, locked while open. Appending, it calls
// resume with each row, exact false for an old version's report that did not escape its targets.
func openCSV(path string, k kind, mode Mode, o Origin, stdout io.Writer, resume func(rec []string, exact bool) error) (*csvFile, error) {
	hdr, c := k.header, &csvFile{path: path, rec: make([]string, len(k.header))}
	if k.tag != "" {
		hdr, c.rec = append(slices.Clone(hdr), OriginColumns...), append(c.rec, EscapeCell(o.Account), EscapeCell(o.API))
	}
	dst, inPlace, err := resolve(path)
	if isStdout(path) || err == nil && inPlace {
		if mode == Resume || k.appendOnForce {
			return nil, fmt.Errorf("%s %s: not a regular file: the %s must be one, to be read back by a later run", k.flag, path, k.what)
		}
		out, err := createOutput(path, k.flag, true, stdout)
		if err != nil {
			return nil, err
		}
		return c, c.begin(out.f, out.Writer, hdr)
	}
	c.dst = dst
	var f *os.File
	if err == nil {
		f, err = os.OpenFile(dst, os.O_RDWR|os.O_CREATE, 0o666)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", k.what, err)
	}
	c.f = f
	if err = lockFile(f); err == nil && !named(f, dst) {
		err = ErrLocked // replaced since f was opened, by the run that held it
	}
	var ex existing
	if err == nil {
		ex, err = inspect(f, k, strings.Join(hdr, ","))
	}
	switch {
	case errors.Is(err, ErrLocked):
		err = fmt.Errorf("%s: %w (two runs must not write one %s; wait for the other to finish)", path, ErrLocked, k.what)
	case err != nil:
	case ex.size == 0:
		return c, c.begin(f, f, hdr)
	case ex.input != "" && !k.appendOnForce:
		err = fmt.Errorf("%s holds %s: refusing to write a %s over it, whatever the flags (an undo file is never emptied, not even with --force): name another %s", path, ex.input, k.what, k.flag)
	case ex.ours && !ex.rows, mode == Force && !k.appendOnForce: // a new file with the header renamed over it
		if err = c.replace(func(f *os.File) error { return c.begin(f, f, hdr) }); err != nil {
			err = fmt.Errorf("replace %s: %w", dst, err)
		}
	case !ex.ours && (k.appendOnForce || mode != New): // --resume or --force would not append to it either
		err = fmt.Errorf("%s: not a plivo-bulk %s (it starts %.80q): refusing to append to it: use another %s", path, k.what, ex.first, k.flag)
	case mode == New:
		err = fmt.Errorf("%s: %w %s", path, ErrExists, k.exists)
	case ex.legacy && ex.origin != o: // checked on the first line, which a file of no record still has
		err = originError(path, k.what, k.foreign, ex.origin, o)
	default:
		if ex.legacy {
			c.rec = c.rec[:len(k.header)]
		}
		err = c.append(k, ex, o, resume)
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return c, nil
}

// named reports whether path still names f.
func named(f *os.File, path string) bool {
	a, errA := f.Stat()
	b, errB := os.Stat(path)
	return errA == nil && errB == nil && os.SameFile(a, b)
}

// begin starts a new file, f or a stream, with its header (no name in it needs quotes).
func (c *csvFile) begin(f *os.File, w io.Writer, header []string) error {
	c.f, c.w, c.start = f, csv.NewWriter(w), int64(len(strings.Join(header, ","))+1)
	return c.write(header)
}

// replace renames over c.dst a new file that write fills; the old file stays locked until the new
// one, locked too, has its name, and is then closed.
func (c *csvFile) replace(write func(*os.File) error) error {
	old := c.f
	st, err := old.Stat()
	var f *os.File
	if err == nil {
		f, err = createTemp(c.dst, st)
	}
	if err != nil {
		return err
	}
	if err = lockFile(f); err == nil {
		err = write(f)
	}
	if err == nil && runtime.GOOS == "windows" {
		err = old.Close() // Windows renames nothing over an open file, and locks nothing here
	}
	if err == nil {
		err = rename(f.Name(), c.dst)
	}
	if err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return err
	}
	_ = old.Close()
	c.f = f
	return nil
}

// append reads f's rows, each of origin o, to resume, cuts a torn last line, and readies f to append.
func (c *csvFile) append(k kind, ex existing, o Origin, resume func([]string, bool) error) error {
	c.w, c.start = csv.NewWriter(c.f), ex.start
	keep, err := c.scan(func(rec []string) error {
		have := ex.origin // an old version's, of its first line
		if !ex.legacy {
			have.Account, _ = UnescapeCell(rec[len(k.header)])
			have.API, _ = UnescapeCell(rec[len(k.header)+1])
		}
		if have != o {
			return originError(c.path, k.what, k.foreign, have, o)
		}
		return resume(rec, ex.exact)
	})
	if err == nil && keep < ex.size {
		c.Torn, err = true, c.f.Truncate(keep)
	}
	if err == nil {
		_, err = c.f.Seek(0, io.SeekEnd)
	}
	return err
}

// write writes one record and flushes it.
func (c *csvFile) write(rec []string) error {
	if c.w == nil && c.err == nil {
		c.err = fmt.Errorf("%w: closed", ErrWrite)
	}
	if c.err == nil {
		_ = c.w.Write(rec)
		if c.w.Flush(); c.w.Error() != nil {
			c.err = fmt.Errorf("%w: %w", ErrWrite, c.w.Error())
		}
	}
	return c.err
}

// Close syncs and closes the file, once, releasing its lock.
func (c *csvFile) Close() error {
	if c.w == nil {
		return c.err
	}
	var err error // every write was flushed
	if c.dst != "" {
		err = c.f.Sync()
	}
	if c.f != nil {
		err = errors.Join(err, c.f.Close())
	}
	c.w = nil
	return cmp.Or(c.err, err)
}

// repeated returns each key more than one record has, with how many records have it, less one.
func (c *csvFile) repeated(key func(rec []string) uint64) (map[uint64]int, error) {
	var keys []uint64 // sorted, rather than a set of every record, to stay small
	_, err := c.scan(func(rec []string) error { keys = append(keys, key(rec)); return nil })
	slices.Sort(keys)
	n := map[uint64]int{}
	for i := 1; i < len(keys); i++ {
		if keys[i] == keys[i-1] {
			n[keys[i]]++
		}
	}
	return n, err
}

// rewrite replaces the file with its header and, in order, the records keep returns (nil: none).
func (c *csvFile) rewrite(keep func(rec []string) []string) error {
	err := c.replace(func(tmp *os.File) error {
		w := csv.NewWriter(tmp)
		_, err := io.Copy(tmp, io.NewSectionReader(c.f, 0, c.start)) // the header, as it is
		if err == nil {
			_, err = c.scan(func(rec []string) error {
				if rec = keep(rec); rec != nil {
					return w.Write(rec)
				}
				return nil
			})
		}
		w.Flush()
		return errors.Join(err, w.Error(), tmp.Sync())
	})
	c.w = csv.NewWriter(c.f)
	return err
}

// existing is what an existing file holds.
type existing struct {
	ours, rows    bool   // it starts with this kind's header; it has a complete row
	legacy, exact bool   // the origin is on its first line; its targets are escaped (cells=escaped)
	origin        Origin // what that line records
	start, size   int64  // where its rows start; its size
	first, input  string // its first line, for messages; what it holds if it reads as an input
}

// inspect reads how an existing file starts. One saved again with a BOM or CRLF (a spreadsheet)
// is ours; so is one cut inside its header hdr (killed as it started).
func inspect(f *os.File, k kind, hdr string) (ex existing, err error) {
	st, err := f.Stat()
	if err != nil {
		return ex, err
	}
	ex.size, ex.exact = st.Size(), true
	br := bufio.NewReaderSize(io.NewSectionReader(f, 0, ex.size), 16<<10)
	if b, _ := br.Peek(3); string(b) == "\xef\xbb\xbf" {
		n, _ := br.Discard(3)
		ex.start = int64(n)
	}
	line := func() (string, bool) {
		l, err := br.ReadSlice('\n') // a line past 16 KiB is no header: ErrBufferFull
		ex.start += int64(len(l))
		return strings.TrimSuffix(strings.TrimSuffix(string(l), "\n"), "\r"), err == nil
	}
	first, ok := line()
	ex.first, ex.input = first, inputKind(first)
	if k.tag != "" && strings.HasPrefix(first, LegacyPrefix+k.tag+":") {
		ex.origin, ex.exact, ex.legacy = parseLegacyLine(first, k.tag)
		hdr = strings.Join(k.header, ",")
		first, ok = line()
	}
	ex.ours = first == hdr || !ok && strings.HasPrefix(hdr, first)
	_, err = br.ReadSlice('\n')
	ex.rows = ok && (err == nil || err == bufio.ErrBufferFull)
	return ex, nil
}

// inputKind says which input a file starting with first is, if plivo-bulk reads it as one.
func inputKind(first string) string {
	switch {
	case first == undoHeader || strings.HasPrefix(first, LegacyPrefix+"undo:"):
		return "a plivo-bulk undo file (the values that restore what a run changed)"
	case len(first) >= 7 && strings.EqualFold(first[:7], "number,"):
		return "an input file (a header starting with number: an export, an undo file of an older version, or an input)"
	}
	return ""
}

// CheckNotUndo refuses, whatever the flags, to let flag replace an undo file: it may hold the only
// record of the values from before a run.
func CheckNotUndo(path, flag string) error {
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
		return nil // nothing to lose; and reading a pipe would wait for ever
	}
	var ex existing
	if f, err := os.Open(path); err == nil {
		ex, _ = inspect(f, undoKind, "")
		_ = f.Close()
	}
	if strings.HasPrefix(ex.input, "a plivo-bulk undo") {
		return fmt.Errorf("%s holds a plivo-bulk undo file: refusing to replace it, whatever the flags (an undo file is never emptied, not even with --force): name another %s", path, flag)
	}
	return nil
}

// scan calls fn with each record (reused), and returns where the complete records end: a killed
// run may have cut the last one. Other damage is an error.
func (c *csvFile) scan(fn func(rec []string) error) (int64, error) {
	end, err := c.f.Seek(0, io.SeekEnd)
	last := make([]byte, 1)
	if err == nil {
		_, err = c.f.ReadAt(last, end-1)
	}
	if err != nil {
		return 0, err
	}
	r := csv.NewReader(io.NewSectionReader(c.f, c.start, end-c.start))
	r.ReuseRecord, r.FieldsPerRecord = true, len(c.rec)
	for {
		at := r.InputOffset()
		rec, err := r.Read()
		switch {
		case err == io.EOF:
			return end, nil
		case (last[0] != '\n' || errors.Is(err, csv.ErrQuote)) && c.start+r.InputOffset() == end:
			return c.start + at, nil // torn, perhaps inside a quoted cell of an old version's file
		case err != nil: // encoding/csv names the line, counted from c.start: make it the file's
			if pe, ok := errors.AsType[*csv.ParseError](err); ok {
				head := make([]byte, c.start)
				if _, e := c.f.ReadAt(head, 0); e == nil {
					n := bytes.Count(head, []byte{'\n'})
					pe.StartLine, pe.Line = pe.StartLine+n, pe.Line+n
				}
			}
			return 0, fmt.Errorf("%s: damaged, cannot resume: %w", c.path, err)
		}
		if err := fn(rec); err != nil {
			return 0, err
		}
	}
}

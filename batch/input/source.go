package input

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// openSource opens the input file. Opening a FIFO blocks until a writer
// opens it too, so the open runs in a goroutine of its own, and ctx ends
// the wait.
func openSource(ctx context.Context, path string) (*os.File, error) {
	type opened struct {
		f   *os.File
		err error
	}
	done := make(chan opened, 1)
	go func() {
		f, err := os.Open(path)
		done <- opened{f, err}
	}()
	select {
	case o := <-done:
		if o.err != nil {
			return nil, &Error{File: path, Msg: "cannot open: " + describeOpenErr(o.err), Err: o.err}
		}
		return o.f, nil
	case <-ctx.Done():
		go func() {
			if o := <-done; o.f != nil {
				_ = o.f.Close()
			}
		}()
		WakeFIFO(path)
		return nil, fmt.Errorf("open %s: stopped while waiting for it to open (a named pipe opens only once something writes to it): %w", path, ctx.Err())
	}
}

// WakeFIFO ends an open of path for reading that is blocked waiting for a
// writer, by opening it for writing without blocking, so that the goroutine
// that waits does not outlive the wait. It does nothing to a regular file.
func WakeFIFO(path string) {
	if st, err := os.Stat(path); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		return
	}
	if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		_ = f.Close()
	}
}

// readSize is the size of the check's reads of the input, and of the
// buffer that the csv.Reader reads through.
const readSize = 64 << 10

// errTooLong ends the check's read of a record that grew past maxRow (and
// a read-ahead) without ending, before the csv.Reader holds more of it.
var errTooLong = errors.New("row too long")

// source is the input as the check reads it. It writes every byte read to
// w, the private copy, and keeps in memory those of the record being read,
// for the messages about it; it refuses to read far into a record that
// does not end (see errTooLong); and it ends a read that blocks when ctx
// is done, since a producer behind standard input or a FIFO can stall.
// That read goes on in its goroutine until it returns or its file is
// closed (Open closes a file or a FIFO); nothing can interrupt a blocked
// read of standard input, which the process does not wait for.
type source struct {
	ctx   context.Context
	r     io.Reader
	w     io.Writer
	werr  error  // the copy's write error: no fault of the input's
	data  []byte // the input from offset base on
	base  int
	lines int // line ends before base
	mark  int // the offset where the record being read starts, as far as known
}

func (s *source) Read(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	// The bytes before the record being read were checked and copied:
	// drop them, and the empty lines that the csv.Reader skips, so that
	// data starts where the record does.
	rest := s.data[s.mark-s.base:]
	for len(rest) > 0 && (rest[0] == '\n' || bytes.HasPrefix(rest, []byte("\r\n"))) {
		rest = rest[bytes.IndexByte(rest, '\n')+1:]
	}
	s.mark = s.base + len(s.data) - len(rest)
	s.lines += bytes.Count(s.data[:s.mark-s.base], []byte{'\n'})
	s.data = append(s.data[:0], rest...)
	s.base = s.mark
	if len(s.data) > maxRow+readSize {
		return 0, errTooLong
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := s.r.Read(p)
		done <- result{n, err}
	}()
	select {
	case r := <-done:
		s.data = append(s.data, p[:r.n]...)
		if _, err := s.w.Write(p[:r.n]); err != nil {
			s.werr = err
			return r.n, err
		}
		return r.n, r.err
	case <-s.ctx.Done():
		return 0, s.ctx.Err()
	}
}

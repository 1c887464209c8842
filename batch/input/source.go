package input

import (
	"context"
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
		wakeFIFO(path)
		return nil, fmt.Errorf("open %s: stopped while waiting for it to open (a named pipe opens only once something writes to it): %w", path, ctx.Err())
	}
}

// wakeFIFO ends an open of path for reading that is blocked waiting for a
// writer, by opening it for writing without blocking, so that the goroutine
// that waits does not outlive Open. It does nothing to a regular file.
func wakeFIFO(path string) {
	if st, err := os.Stat(path); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		return
	}
	if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		_ = f.Close()
	}
}

// ctxReader reads src in a goroutine of its own, so that ctx can end a read
// that blocks: a producer behind standard input or a FIFO can stall. When
// ctx ends, Read returns ctx.Err() at once; the goroutine ends at its
// source's next read, or when the source is closed (a file, a FIFO), since
// nothing can interrupt a blocked read of standard input.
type ctxReader struct {
	ctx    context.Context
	chunks chan chunk
	free   chan []byte // buffers that Read is done with, for the goroutine to reuse
	quit   chan struct{}
	cur    chunk
}

type chunk struct {
	buf, rest []byte // the buffer, and what of it Read has not yet returned
	err       error
}

func newCtxReader(ctx context.Context, src io.Reader) *ctxReader {
	cr := &ctxReader{ctx: ctx, chunks: make(chan chunk), free: make(chan []byte, 2), quit: make(chan struct{})}
	go cr.pump(src)
	return cr
}

func (cr *ctxReader) pump(src io.Reader) {
	for {
		var buf []byte
		select {
		case buf = <-cr.free:
		default:
			buf = make([]byte, 32<<10)
		}
		n, err := src.Read(buf)
		select {
		case cr.chunks <- chunk{buf: buf, rest: buf[:n], err: err}:
		case <-cr.quit:
			return
		}
		if err != nil {
			return
		}
	}
}

func (cr *ctxReader) Read(p []byte) (int, error) {
	for len(cr.cur.rest) == 0 {
		if cr.cur.err != nil {
			return 0, cr.cur.err
		}
		if cr.cur.buf != nil {
			select {
			case cr.free <- cr.cur.buf:
			default:
			}
		}
		select {
		case cr.cur = <-cr.chunks:
		case <-cr.ctx.Done():
			return 0, cr.ctx.Err()
		}
	}
	n := copy(p, cr.cur.rest)
	cr.cur.rest = cr.cur.rest[n:]
	return n, nil
}

// stop lets the goroutine end without handing over what it reads next.
func (cr *ctxReader) stop() { close(cr.quit) }

// teeReader writes what it reads to w, as io.TeeReader does, but keeps a
// write error apart: a full disk under the private copy is no fault of
// the input's.
type teeReader struct {
	r    io.Reader
	w    io.Writer
	werr error
}

func (t *teeReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		if _, werr := t.w.Write(p[:n]); werr != nil {
			t.werr = werr
			return n, werr
		}
	}
	return n, err
}

package input

import (
	"context"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// pump reads path, or stdin when path is "-", in a goroutine of its own,
// and hands the bytes over a pipe that ctx closes: the open of a FIFO
// waits for a writer, a producer can stall, and neither may outlast a
// Ctrl-C. stop releases the pipe. A read that blocks keeps the goroutine
// until the read returns; nothing can interrupt a read of stdin, which the
// process does not wait for.
func pump(ctx context.Context, path string, stdin io.Reader) (r io.Reader, stop func()) {
	pr, pw := io.Pipe()
	go func() {
		src := stdin
		if path != "-" {
			f, err := os.Open(path)
			if err != nil { // a *fs.PathError, whose path the message has already
				_ = pw.CloseWithError(&Error{File: path, Msg: "cannot open: " + err.(*fs.PathError).Err.Error(), Err: err})
				return
			}
			defer func() { _ = f.Close() }()
			src = f
		}
		_, err := io.Copy(pw, src)
		_ = pw.CloseWithError(err)
	}()
	stopped := context.AfterFunc(ctx, func() {
		_ = pr.CloseWithError(ctx.Err())
		if path != "-" {
			WakeFIFO(path)
		}
	})
	return pr, func() { stopped(); _ = pr.Close() }
}

// WakeFIFO ends an open of path for reading that waits for a writer, by
// opening it for writing without blocking, so that the goroutine that
// waits does not outlive the wait. It does nothing to any other file.
func WakeFIFO(path string) {
	if st, err := os.Stat(path); err == nil && st.Mode()&os.ModeNamedPipe != 0 {
		if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			_ = f.Close()
		}
	}
}

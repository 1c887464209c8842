package input

import (
	"context"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// pump reads path, or stdin for "-", in a goroutine, through a pipe that ctx closes: a FIFO's open
// and a stalled producer must not outlast a Ctrl-C. A blocked read keeps only the goroutine.
func pump(ctx context.Context, path string, stdin io.Reader) (r io.Reader, stop func()) {
	pr, pw := io.Pipe()
	go func() {
		src := stdin
		if path != "-" {
			f, err := os.Open(path)
			if err != nil { // a *fs.PathError, whose path the message has already
				_ = pw.CloseWithError(&Error{File: path, Msg: "cannot open: " + err.(*fs.PathError).Err.Error()})
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

// WakeFIFO ends a read-open of the FIFO path waiting for a writer, by opening it to write without
// blocking; it does nothing to any other file.
func WakeFIFO(path string) {
	if st, err := os.Stat(path); err == nil && st.Mode()&os.ModeNamedPipe != 0 {
		if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			_ = f.Close()
		}
	}
}

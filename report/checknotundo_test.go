package report

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestCheckNotUndo_neverReadsAPipe: --summary /dev/stdout with stdout a pipe
// names a FIFO; reading it to look for an undo file's first line waited for
// ever. A pipe cannot be an undo file: it is not opened.
func TestCheckNotUndo_neverReadsAPipe(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "out")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- CheckNotUndo(fifo, "--summary") }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("CheckNotUndo(fifo) = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("CheckNotUndo still waits on a pipe nobody writes to")
	}
}

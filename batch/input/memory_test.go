package input

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// xs is a cell of x that never ends; it counts the bytes read.
type xs struct{ read atomic.Int64 } // the pump's goroutine reads it

func (x *xs) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	x.read.Add(int64(len(p)))
	return len(p), nil
}

// TestOpen_hugeCell: a cell that never ends, on standard input, is refused
// once a row's worth of it is read, not after it is held in memory.
func TestOpen_hugeCell(t *testing.T) {
	x := &xs{}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Open(context.Background(), "-", io.MultiReader(strings.NewReader("number,alias\n12025550101,"), x))
	runtime.ReadMemStats(&after)
	if want := "standard input: line 2: column 2 (alias) is longer than 64 KiB, the most a cell may hold"; err == nil || err.Error() != want {
		t.Errorf("error:\n got %v\nwant %s", err, want)
	}
	if read := x.read.Load(); read > 2*maxRow {
		t.Errorf("read %d bytes of the input before refusing it, want at most 2 MiB", read)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
		t.Errorf("allocated %d MB to refuse it, want at most 32", alloc>>20)
	}
}

// peakHeap raises *peak to the heap in use now.
func peakHeap(peak *uint64) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	*peak = max(*peak, m.HeapInuse)
}

// TestOpen_millionRows checks and sends a million rows in bounded memory,
// and finds the duplicates among them.
func TestOpen_millionRows(t *testing.T) {
	if testing.Short() {
		t.Skip("a million rows: skipped with -short")
	}
	const rows, dups, notNumbers = 1_000_000, 900, 100 // every 10th repeat falls on a non-number
	// Every 1000th row repeats the number of the row 500 rows before it;
	// every 10,000th row's number is not a number.
	pr, pw := io.Pipe()
	var peak uint64
	go func() {
		w := bufio.NewWriterSize(pw, 64<<10)
		_, _ = w.WriteString("number,app_id,alias\n")
		for i := range rows {
			switch num := 12_020_000_000 + i; {
			case i%10_000 == 9_999:
				_, _ = w.WriteString("not a number")
			case i%1000 == 999:
				_, _ = w.WriteString(strconv.Itoa(num - 500))
			default:
				_, _ = w.WriteString(strconv.Itoa(num))
			}
			_, _ = w.WriteString(",20372631212782780,Front desk\n")
			if i%100_000 == 0 {
				peakHeap(&peak)
			}
		}
		_ = pw.CloseWithError(w.Flush())
	}()
	runtime.GC()
	in, err := Open(context.Background(), "-", pr)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if in.Rows() != rows || in.Valid() != rows-dups-notNumbers {
		t.Errorf("Rows, Valid = %d, %d; want %d, %d", in.Rows(), in.Valid(), rows, rows-dups-notNumbers)
	}
	n, invalid := 0, 0
	err = in.Each(context.Background(), func(r batch.Row) error {
		if n++; n%100_000 == 0 {
			peakHeap(&peak)
		}
		if r.Invalid != "" {
			invalid++
		}
		if r.Line == 1001 && r.Invalid != "duplicate of row 501" {
			return fmt.Errorf("row 1001: Invalid = %q, want a duplicate of row 501", r.Invalid)
		}
		return nil
	})
	if err != nil || n != rows || invalid != dups+notNumbers {
		t.Errorf("Each = %v after %d rows, %d invalid", err, n, invalid)
	}
	t.Logf("peak heap in use %.1f MB", float64(peak)/(1<<20))
	if peak > 64<<20 {
		t.Errorf("heap in use peaked at %d MB, want at most 64 MB", peak>>20)
	}
}

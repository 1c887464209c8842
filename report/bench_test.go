package report

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// benchResult is a typical ok row: a number, an app and an alias.
var benchResult = batch.Result{
	Row: batch.Row{Line: 123456, Number: "12025550101", Targets: batch.Targets{
		batch.AppID: set("20372631212782780"), batch.Alias: set("Front desk 2025550101"),
	}},
	Status: batch.StatusOK, HTTPStatus: 202, APIID: "5a9fcb68-582d-11e1-86da-6ff39efcb949", Attempts: 1,
}

// BenchmarkWriter_Write encodes one report row. "discard" is the encoding
// alone; "file" adds the flush (a write system call) that every row gets.
func BenchmarkWriter_Write(b *testing.B) {
	b.Run("discard", func(b *testing.B) {
		w, err := NewWriter(io.Discard, testOrigin)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := w.Write(benchResult); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("file", func(b *testing.B) {
		w, err := Open(filepath.Join(b.TempDir(), "report.csv"), Force, testOrigin)
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = w.Close() }()
		b.ReportAllocs()
		for b.Loop() {
			if err := w.Write(benchResult); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCompleted_Has is the resume check made for every valid row.
func BenchmarkCompleted_Has(b *testing.B) {
	d := &Completed{done: map[uint64]uint64{1: 2}}
	b.ReportAllocs()
	for b.Loop() {
		if d.Has(benchResult.Row) {
			b.Fatal("found")
		}
	}
}

// BenchmarkUndoWriter_Write writes undo rows from concurrent goroutines to a
// file in the temporary directory, each Write returning once its row is
// synced (fsync). The syncs are shared: rows/s grows with the writers while
// one fsync costs the same. "serial" is one writer: one fsync per row.
func BenchmarkUndoWriter_Write(b *testing.B) {
	for _, writers := range []int{1, 8, 64} {
		name := fmt.Sprintf("writers=%d", writers)
		if writers == 1 {
			name = "serial"
		}
		b.Run(name, func(b *testing.B) {
			u, err := OpenUndo(filepath.Join(b.TempDir(), "undo.csv"), New, testOrigin)
			if err != nil {
				b.Fatal(err)
			}
			row := batch.Row{Targets: batch.Targets{batch.AppID: set("20372631212782780"), batch.Alias: set("new")}}
			cur := batch.Targets{batch.AppID: set("20372631212782779"), batch.Alias: set("Front desk 2025550101")}
			var next atomic.Int64
			start := time.Now()
			b.ResetTimer()
			var wg sync.WaitGroup
			for range writers {
				wg.Go(func() {
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						r := row
						r.Number = strconv.FormatInt(12025550000+i, 10)
						if err := u.Write(r, cur); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
			b.ReportMetric(float64(b.N)/float64(max(u.syncs, 1)), "rows/fsync")
			if err := u.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

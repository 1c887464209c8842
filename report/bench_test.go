package report

import (
	"io"
	"path/filepath"
	"testing"

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

// BenchmarkDone_Has is the resume check made for every valid row.
func BenchmarkDone_Has(b *testing.B) {
	d := &Done{keys: []uint64{1, 2, 3}}
	b.ReportAllocs()
	for b.Loop() {
		if d.Has(benchResult.Row) {
			b.Fatal("found")
		}
	}
}

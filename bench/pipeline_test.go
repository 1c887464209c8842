package bench

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/batch/input"
	"github.com/plivo-bulk/plivo-bulk/batch/pace"
	"github.com/plivo-bulk/plivo-bulk/report"
)

// writeInput writes the suite's input file: n rows, each a number and an app_id, as bench/run.sh makes them.
func writeInput(b *testing.B, path string, n int) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	// Not fmt: this runs under the CPU profile too, and should not show.
	w := bufio.NewWriter(f)
	_, _ = w.WriteString("number,app_id\n")
	line := []byte("12020000000,20372631212782780\n")
	for i := 1; i <= n; i++ {
		for j, v := 10, i; j >= 4; j, v = j-1, v/10 { // the 7 digits after 1202
			line[j] = byte('0' + v%10)
		}
		_, _ = w.Write(line)
	}
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPipeline runs what `plivo-bulk run --rate 0` does per row, minus HTTP: input.Open's check pass,
// then the pool (pace.Run) over Input.Each with 8 workers, a call that answers at once, and the report writer
// on a file. One op is the whole file; ns/row divides by its rows.
func BenchmarkPipeline(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("BENCH_ROWS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("BENCH_ROWS=%q: want a positive number", v)
		}
	}
	dir := b.TempDir()
	inputPath := filepath.Join(dir, "input.csv")
	writeInput(b, inputPath, n)
	call := func(ctx context.Context, row batch.Row, permit func() bool) (batch.Answer, error) {
		return batch.Answer{HTTPStatus: 202, APIID: "5a9fcb68-582d-11e1-86da-6ff39efcb949"}, nil
	}
	b.ReportAllocs()
	for b.Loop() {
		in, err := input.Open(context.Background(), inputPath, nil)
		if err != nil {
			b.Fatal(err)
		}
		rep, err := report.Open(filepath.Join(dir, "report.csv"), report.Force, report.Origin{Account: "MABENCH0000000000001", API: "http://127.0.0.1"}, nil)
		if err != nil {
			b.Fatal(err)
		}
		ok := 0
		p := pace.New(context.Background(), pace.Config{Rate: 0, Concurrency: 8})
		source := func(f pace.Feed[batch.Row, batch.Answer]) error {
			return in.Each(context.Background(), func(r batch.Row) error { return f(r, nil) })
		}
		err = pace.Run(context.Background(), p, source, call, func(d pace.Outcome[batch.Row, batch.Answer]) error {
			ok++
			return rep.Write(batch.Result{Row: d.Item, Status: batch.StatusOK, HTTPStatus: d.Answer.HTTPStatus, APIID: d.Answer.APIID, Attempts: d.Attempts})
		})
		p.Close()
		if err = errors.Join(err, rep.Close(), in.Close()); err != nil {
			b.Fatal(err)
		}
		if ok != n {
			b.Fatalf("%d rows ok, want %d", ok, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
}

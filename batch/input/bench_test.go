package input

import (
	"bytes"
	"context"
	"strconv"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// benchRows is the size of the file the input benchmarks read per op; the
// per-row figures (ns/row, B/row, allocs/row) divide by it.
const benchRows = 10_000

// benchFile returns an input of n rows shaped like a real one: formatted
// numbers, an app_id on every row, an alias on every other row.
func benchFile(n int) []byte {
	var b bytes.Buffer
	b.WriteString("number,app_id,alias\n")
	for i := range n {
		num := strconv.Itoa(2_000_000 + i)
		b.WriteString("+1 (202) ")
		b.WriteString(num[:3])
		b.WriteString("-")
		b.WriteString(num[3:])
		b.WriteString(",20372631212782780,")
		if i%2 == 0 {
			b.WriteString("Front desk ")
			b.WriteString(num)
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

// reportPerRow adds per-row figures to a benchmark whose op reads rows rows.
func reportPerRow(b *testing.B, rows int) {
	b.Helper()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
}

// BenchmarkInput_Each is the send pass: decode and validate every
// row of a 10,000-row file.
func BenchmarkInput_Each(b *testing.B) {
	data := benchFile(benchRows)
	in, err := open(context.Background(), "bench.csv", bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = in.Close() }()
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	n := 0
	for b.Loop() {
		if err := in.Each(ctx, func(r batch.Row) error {
			if r.Invalid == "" {
				n++
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	if n == 0 {
		b.Fatal("no valid rows")
	}
	reportPerRow(b, benchRows)
}

// BenchmarkOpenInput is the check pass over the same file: decode, validate
// and collect the duplicate-detection keys.
func BenchmarkOpenInput(b *testing.B) {
	data := benchFile(benchRows)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		in, err := open(context.Background(), "bench.csv", bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if in.Valid() != benchRows {
			b.Fatalf("Valid = %d, want %d", in.Valid(), benchRows)
		}
		if err := in.Close(); err != nil {
			b.Fatal(err)
		}
	}
	reportPerRow(b, benchRows)
}

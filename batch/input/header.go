package input

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/report"
)

// readHeader reads and checks the header, which every file must start with. Columns are found by
// name, in any case and order.
func (rd *reader) readHeader() error {
	rec, err := rd.record()
	switch {
	case err == io.EOF && rd.row > 0:
		return rd.fail(0, "nothing after the origin line (%s...): a header row naming the columns is required (%s)", strings.TrimSpace(report.LegacyPrefix), columns())
	case err == io.EOF:
		return rd.fail(0, "the file is empty: a header row naming the columns is required (%s)", columns())
	case err != nil:
		return err
	}
	line, _ := rd.csv.FieldPos(0)
	rd.header = make([]string, len(rec))
	for i, name := range rec {
		n := strings.ToLower(strings.TrimSpace(name))
		if n == "" {
			return rd.fail(line, "column %d of the header has no name (columns: %s)", i+1, columns())
		}
		if !slices.Contains(batch.Columns(), n) && !slices.Contains(report.OriginColumns, n) {
			return rd.fail(line, "%s", unknownColumn(rec, i))
		}
		if j := slices.Index(rd.header, n); j >= 0 {
			return rd.fail(line, "column %q appears twice (columns %d and %d)", n, j+1, i+1)
		}
		rd.header[i] = n
	}
	if !slices.Contains(rd.header, "number") {
		return rd.fail(line, "no \"number\" column in the header (a header row is required; found: %s)", clip(strings.Join(rec, ",")))
	}
	for i, name := range batch.Columns() {
		rd.col[i] = slices.Index(rd.header, name)
	}
	for i, name := range report.OriginColumns { // an undo file's
		if rd.ocol[i] = slices.Index(rd.header, name); rd.ocol[i] >= 0 && rd.in.origins == nil {
			rd.in.origins = map[report.Origin]bool{}
		}
	}
	return nil
}

func columns() string { return strings.Join(batch.Columns(), ",") }

// unknownColumn says what header cell rec[i], no column's name, likely means: spreadsheets in many
// locales save "CSV" with semicolons, and "Text" with tabs.
func unknownColumn(rec []string, i int) string {
	name := strings.TrimSpace(rec[i])
	if j := strings.IndexAny(name, ";\t|"); j >= 0 && len(rec) == 1 {
		sep := map[byte]string{';': "semicolons", '\t': "tabs", '|': "vertical bars"}[name[j]]
		return fmt.Sprintf("the header is one column, %q: the file seems separated by %s, but plivo-bulk reads comma-separated files (save it as \"CSV (comma delimited)\")", clip(name), sep)
	}
	if _, why := batch.NormalizeNumber(name); why == "" && i == 0 {
		return fmt.Sprintf("no header row: column 1 of the first row is a phone number, %q, but the first row must name the columns (%s)", clip(name), columns())
	}
	msg := fmt.Sprintf("unknown column %q", clip(name))
	if s := closest(strings.ToLower(name)); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return msg + "; the columns are: " + columns()
}

// clip shortens s for a message: a cell can be 64 KiB long.
func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "..."
	}
	return s
}

// closest returns the column name nearest to s, if near enough to be a likely typo.
func closest(s string) string {
	best, bestD := "", 1<<30
	for _, k := range batch.Columns() {
		if d := EditDistance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	if bestD <= max(2, len(best)/3) || strings.Contains(best, s) || strings.Contains(s, best) {
		return best
	}
	return ""
}

// EditDistance is the Levenshtein distance of a and b: "did you mean" for a column, and a flag in main.
func EditDistance(a, b string) int {
	d := make([]int, len(b)+1)
	for j := range d {
		d[j] = j
	}
	for i := range len(a) {
		diag := d[0]
		d[0] = i + 1
		for j := range len(b) {
			cost := 1
			if a[i] == b[j] {
				cost = 0
			}
			diag, d[j+1] = d[j+1], min(d[j+1]+1, d[j]+1, diag+cost)
		}
	}
	return d[len(b)]
}

package input

import (
	"fmt"
	"slices"
	"strings"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/report"
)

// checkHeader checks the header record and returns its names, lower-cased:
// columns are found by name, whatever their case and order.
func (rd *reader) checkHeader(rec []string, line int) ([]string, error) {
	known := batch.Columns()
	h := make([]string, len(rec))
	seen := make(map[string]int, len(rec))
	for i, name := range rec {
		n := strings.ToLower(strings.TrimSpace(name))
		if n == "" {
			return nil, rd.fail(line, "column %d of the header has no name (columns: %s)", i+1, strings.Join(known, ","))
		}
		if !slices.Contains(known, n) && !slices.Contains(report.OriginColumns, n) {
			if sep := separatorName(n); len(rec) == 1 && sep != "" {
				return nil, rd.fail(line, "the header is one column, %q: the file seems separated by %s, but plivo-bulk reads comma-separated files (save it as \"CSV (comma delimited)\")", clip(name), sep)
			}
			if _, why := batch.NormalizeNumber(name); why == "" && len(seen) == 0 {
				return nil, rd.fail(line, "no header row: column %d of the first row is a phone number, %q, but the first row must name the columns (%s)", i+1, clip(name), strings.Join(known, ","))
			}
			msg := fmt.Sprintf("unknown column %q", clip(strings.TrimSpace(name)))
			if s := closest(n, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return nil, rd.fail(line, "%s; the columns are: %s", msg, strings.Join(known, ","))
		}
		if j, ok := seen[n]; ok {
			return nil, rd.fail(line, "column %q appears twice (columns %d and %d)", n, j+1, i+1)
		}
		seen[n] = i
		h[i] = n
	}
	if _, ok := seen["number"]; !ok {
		return nil, rd.fail(line, "no \"number\" column in the header (a header row is required; found: %s)", clip(strings.Join(rec, ",")))
	}
	return h, nil
}

// separatorName names the first separator other than a comma that a lone
// header cell holds, if any: spreadsheets in many locales save "CSV" with
// semicolons, and "Text" with tabs.
func separatorName(cell string) string {
	switch i := strings.IndexAny(cell, ";\t|"); {
	case i < 0:
		return ""
	case cell[i] == ';':
		return "semicolons"
	case cell[i] == '\t':
		return "tabs"
	}
	return "vertical bars"
}

// clip shortens s for a message: a header cell can be a megabyte long.
func clip(s string) string {
	const most = 40 // characters
	n := 0
	for i := range s {
		if n == most {
			return s[:i] + "..."
		}
		n++
	}
	return s
}

// closest returns the known name nearest to s by edit distance, if it is
// near enough to be a likely typo.
func closest(s string, known []string) string {
	if len(s) > 64 { // no typo; and editDistance costs len(s) * len(k)
		return ""
	}
	best, bestD := "", 1<<30
	for _, k := range known {
		if d := editDistance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	if bestD <= max(2, len(best)/3) || strings.Contains(best, s) || strings.Contains(s, best) {
		return best
	}
	return ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

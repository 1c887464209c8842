package sandbox

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Columns are the columns of the CSV that Dump writes and LoadNumbers
// reads, in Dump's order.
var Columns = []string{"number", "app_id", "subaccount", "alias", "compliance_application_id", "compliance_status"}

// Dump writes every number as CSV, sorted by number, under a header of
// Columns.
func (s *Server) Dump(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns); err != nil {
		return fmt.Errorf("write dump header: %w", err)
	}
	for _, n := range s.Numbers() {
		rec := []string{n.Number, n.AppID, n.Subaccount, n.Alias, n.ComplianceApplicationID, n.ComplianceStatus}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write dump row for %s: %w", n.Number, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write dump: %w", err)
	}
	return nil
}

// LoadNumbers reads numbers from a CSV in Dump's format. The header is
// required; it names columns from Columns, in any order and case, and must
// include number. A column it does not know, or one named twice, is an
// error, as are a number that is not 1 to 15 digits (E.164 without '+'), a
// number listed twice, a subaccount that is not "SA" and 18 upper-case
// letters or digits, and an app_id that ValidAppID refuses. Empty
// compliance_status becomes DefaultComplianceStatus. Values other than alias
// are trimmed of spaces.
func LoadNumbers(r io.Reader) ([]Number, error) {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("read numbers: missing header")
	}
	if err != nil {
		return nil, fmt.Errorf("read numbers header: %w", err)
	}
	col := make(map[string]int, len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\uFEFF") // a byte order mark from a spreadsheet
		}
		name := strings.ToLower(strings.TrimSpace(h))
		if !slices.Contains(Columns, name) {
			return nil, fmt.Errorf("read numbers header: unknown column %q (want %s)", h, strings.Join(Columns, ", "))
		}
		if _, dup := col[name]; dup {
			return nil, fmt.Errorf("read numbers header: column %q given twice", name)
		}
		col[name] = i
	}
	if _, ok := col["number"]; !ok {
		return nil, errors.New("read numbers header: missing column \"number\"")
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok {
			if name == "alias" {
				return rec[i]
			}
			return strings.TrimSpace(rec[i])
		}
		return ""
	}

	var ns []Number
	seen := make(map[string]int)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read numbers: %w", err)
		}
		line, _ := cr.FieldPos(0)
		n := Number{
			Number:                  get(rec, "number"),
			AppID:                   get(rec, "app_id"),
			Subaccount:              get(rec, "subaccount"),
			Alias:                   get(rec, "alias"),
			ComplianceApplicationID: get(rec, "compliance_application_id"),
			ComplianceStatus:        get(rec, "compliance_status"),
		}
		if !validNumber(n.Number) {
			return nil, fmt.Errorf("read numbers: line %d: number %q: want 1 to 15 digits, E.164 without '+'", line, n.Number)
		}
		if prev, dup := seen[n.Number]; dup {
			return nil, fmt.Errorf("read numbers: line %d: number %s already on line %d", line, n.Number, prev)
		}
		seen[n.Number] = line
		if n.AppID != "" && !ValidAppID(n.AppID) {
			return nil, fmt.Errorf("read numbers: line %d: app_id %q: want letters, digits, '.', '_' or '-'", line, n.AppID)
		}
		if n.Subaccount != "" && !ValidSubaccountID(n.Subaccount) {
			return nil, fmt.Errorf("read numbers: line %d: subaccount %q: want \"SA\" and 18 upper-case letters or digits", line, n.Subaccount)
		}
		if n.ComplianceStatus == "" {
			n.ComplianceStatus = DefaultComplianceStatus
		}
		ns = append(ns, n)
	}
	return ns, nil
}

// validNumber reports whether n is an E.164 number without '+'.
func validNumber(n string) bool {
	if n == "" || len(n) > 15 {
		return false
	}
	for i := 0; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return false
		}
	}
	return true
}

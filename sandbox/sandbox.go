// Package sandbox is an in-memory stand-in for the part of Plivo's Number API that plivo-bulk uses,
// with what a rehearsal needs: Basic auth, Plivo's documented rate limit, a fail rate and latency
// (faults only tests need are handlers in front of it, in the tests). Where Plivo is silent it
// takes the stricter reading:
//
//   - Paths end with a slash. An update is one JSON object of strings or nulls under app_id,
//     subaccount, alias and compliance_application_id, checked whole before any of it applies; a
//     null changes nothing yet is answered "changed", as on Plivo. An unknown app_id or subaccount
//     is 400; a subaccount ("SA…") may not move numbers (403); compliance_application_id changes
//     only while compliance is pending or rejected.
//   - A read shows null for an unset value. The list takes limit (1 to 20), offset,
//     number_startswith, subaccount and alias, sorts by number and shows sub_account as a plain
//     auth_id, as Plivo does; its meta has no next link, which plivo-bulk never follows.
//   - The rate limit is a token bucket that starts full and counts every authenticated request; a
//     429 has no Retry-After, as Plivo documents none. Latency and faults touch only the number
//     endpoints.
package sandbox

import (
	"cmp"
	"crypto/rand"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// PlivoLimit is the rate limit Plivo documents: "300 API requests per 5 seconds" per account.
var PlivoLimit = Rate{Limit: 300, Window: 5 * time.Second}

// Rate is a rate limit: Limit requests per Window (0 means one second); a zero Limit is none. As a
// flag.Value it reads "N", "N/s", "N/5s", "N/500ms" or "N/m", N a number, 0 for none.
type Rate struct {
	Limit  float64
	Window time.Duration
}

func (r *Rate) Set(s string) error {
	num, win, slash := strings.Cut(strings.TrimSpace(s), "/")
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || !(n >= 0) || math.IsInf(n, 0) {
		return fmt.Errorf("rate limit %q: want N, N/s or N/5s (N requests per window, N a number 0 or more; 0 is unlimited)", s)
	}
	d := time.Second
	if slash {
		if win = strings.TrimSpace(win); win != "" && !strings.ContainsAny(win[:1], "0123456789.") {
			win = "1" + win // "s" is "1s"
		}
		if d, err = time.ParseDuration(win); err != nil || d < time.Millisecond || d > 24*time.Hour {
			return fmt.Errorf("rate limit %q: window %q: want a duration from 1ms to 24h, such as s, 5s, 500ms or 1m", s, win)
		}
	}
	*r = Rate{n, d}
	return nil
}

// String formats r as Set reads it: "0", "60/1s", "300/5s".
func (r Rate) String() string {
	if r.Limit == 0 {
		return "0"
	}
	return strconv.FormatFloat(r.Limit, 'f', -1, 64) + "/" + cmp.Or(r.Window, time.Second).String()
}

// Config sets the account and how reliable the sandbox is; the zero value is a fault-free,
// unlimited sandbox with made-up credentials.
type Config struct {
	AuthID, AuthToken   string        // made up when empty; an "SA…" AuthID is a subaccount's
	Rate                Rate          // the zero Rate is unlimited
	Latency             time.Duration // added to every number request
	FailRate            float64       // of number requests, answered 500, 502 or 503 applying nothing
	DefaultAppOnMissing bool          // an update without app_id assigns DefaultApp, as Plivo documents
	DefaultApp          string
}

// Validate reports what in c makes no sense.
func (c Config) Validate() error {
	var errs []error
	if !(c.FailRate >= 0 && c.FailRate <= 1) {
		errs = append(errs, fmt.Errorf("fail rate %v: want a fraction from 0 to 1", c.FailRate))
	}
	if c.Latency < 0 {
		errs = append(errs, fmt.Errorf("latency %v: want 0 or more", c.Latency))
	}
	if c.DefaultApp != "" && !ValidAppID(c.DefaultApp) {
		errs = append(errs, fmt.Errorf("default app %q: want letters, digits, '.', '_' or '-'", c.DefaultApp))
	}
	return errors.Join(errs...)
}

const upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// ValidSubaccountID reports whether id is "SA" and 18 upper-case letters or digits.
func ValidSubaccountID(id string) bool {
	return len(id) == 20 && strings.HasPrefix(id, "SA") && strings.Trim(id, upperAlnum) == ""
}

// ValidAppID reports whether id can name an application in a URI (Plivo's are digits).
func ValidAppID(id string) bool {
	return id != "" && len(id) <= 64 && strings.Trim(id, upperAlnum+"abcdefghijklmnopqrstuvwxyz._-") == ""
}

// Number is a phone number on the account. Empty fields are unset.
type Number struct {
	Number                  string // E.164 without '+'
	AppID                   string
	Subaccount              string // the auth_id of the subaccount that holds it
	Alias                   string
	ComplianceApplicationID string
	ComplianceStatus        string // "accepted", "pending", "rejected", ...
}

// Stats counts what the sandbox served.
type Stats struct {
	Requests    int64
	Updates     int64 // applied
	Changes     int64 // applied and changed the number
	RateLimited int64 // answered 429
	Faults      int64 // failed on purpose
}

// Server is the sandbox: an http.Handler over in-memory state, safe for concurrent use.
type Server struct {
	cfg     Config
	limiter *rate.Limiter // nil when unlimited

	requests, updates, changes, rateLimited, faults atomic.Int64

	mu      sync.Mutex
	numbers map[string]Number
	sorted  []string          // the numbers' keys, sorted; nil after a number comes or goes
	apps    map[string]string // id: name
	subs    map[string]string // auth_id: name
}

// New returns a sandbox with the application cfg.DefaultApp and nothing else, making up the
// credentials cfg leaves empty; it does not Validate cfg.
func New(cfg Config) *Server {
	cfg.AuthID = cmp.Or(cfg.AuthID, "MA"+rand.Text()[:18])
	cfg.AuthToken = cmp.Or(cfg.AuthToken, rand.Text()+rand.Text()) // guards a local server: unguessable
	s := &Server{cfg: cfg, numbers: map[string]Number{}, apps: map[string]string{}, subs: map[string]string{}}
	if r := cfg.Rate; r.Limit > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(r.Limit/cmp.Or(r.Window, time.Second).Seconds()), max(1, int(r.Limit)))
	}
	if cfg.DefaultApp != "" {
		s.apps[cfg.DefaultApp] = "Default number app"
	}
	return s
}

// Config returns the configuration, with the credentials made up.
func (s *Server) Config() Config { return s.cfg }

// AddNumber adds or replaces ns, and the applications and subaccounts they name that the account
// lacks; a number's compliance status is "accepted" unless set.
func (s *Server) AddNumber(ns ...Number) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range ns {
		n.ComplianceStatus = cmp.Or(n.ComplianceStatus, "accepted")
		s.numbers[n.Number], s.sorted = n, nil // sorted again at the next listing, once
		if n.AppID != "" {
			s.apps[n.AppID] = cmp.Or(s.apps[n.AppID], "App "+n.AppID)
		}
		if n.Subaccount != "" {
			s.subs[n.Subaccount] = cmp.Or(s.subs[n.Subaccount], "Subaccount "+n.Subaccount)
		}
	}
}

// RemoveNumber releases number: those after it move up a place in the list.
func (s *Server) RemoveNumber(number string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.numbers, number)
	s.sorted = nil
}

// AddApplication adds the application id, or renames it.
func (s *Server) AddApplication(id, name string) { s.mu.Lock(); s.apps[id] = name; s.mu.Unlock() }

// AddSubaccount adds the subaccount whose auth_id is id, or renames it.
func (s *Server) AddSubaccount(id, name string) { s.mu.Lock(); s.subs[id] = name; s.mu.Unlock() }

// Number returns the state of number, and whether the account has it.
func (s *Server) Number(number string) (Number, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.numbers[number]
	return n, ok
}

// Numbers returns every number, sorted.
func (s *Server) Numbers() []Number {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ns []Number
	for _, k := range s.sortedLocked() {
		ns = append(ns, s.numbers[k])
	}
	return ns
}

// sortedLocked returns the numbers' keys, sorted once after a change, not at each page of a
// listing; the caller holds mu.
func (s *Server) sortedLocked() []string {
	if s.sorted == nil {
		s.sorted = slices.Sorted(maps.Keys(s.numbers))
	}
	return s.sorted
}

// Stats returns the counts so far.
func (s *Server) Stats() Stats {
	return Stats{s.requests.Load(), s.updates.Load(), s.changes.Load(), s.rateLimited.Load(), s.faults.Load()}
}

// Columns are the columns of the CSV that Dump writes and LoadNumbers reads.
var Columns = []string{"number", "app_id", "subaccount", "alias", "compliance_application_id", "compliance_status"}

// Dump writes every number as CSV under a header of Columns, sorted.
func (s *Server) Dump(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(Columns) // errors stick: Error reports them
	for _, n := range s.Numbers() {
		_ = cw.Write([]string{n.Number, n.AppID, n.Subaccount, n.Alias, n.ComplianceApplicationID, n.ComplianceStatus})
	}
	cw.Flush()
	return cw.Error()
}

// LoadNumbers reads numbers from a CSV whose header names columns of Columns, number among them, in
// any order and case; values but alias are trimmed.
func LoadNumbers(r io.Reader) ([]Number, error) {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		err = errors.New("missing header")
	}
	col := make([]int, len(header)) // each column's index in Columns
	for i, h := range header {
		col[i] = slices.Index(Columns, strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF")))) // a spreadsheet's byte order mark
		if col[i] < 0 || slices.Contains(col[:i], col[i]) {
			err = fmt.Errorf("column %q: want each of %s at most once", h, strings.Join(Columns, ", "))
		}
	}
	if err == nil && !slices.Contains(col, 0) {
		err = errors.New(`missing column "number"`)
	}
	if err != nil {
		return nil, fmt.Errorf("read numbers header: %w", err)
	}
	var ns []Number
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return ns, nil
		} else if err != nil {
			return nil, fmt.Errorf("read numbers: %w", err)
		}
		var n Number
		cells := []*string{&n.Number, &n.AppID, &n.Subaccount, &n.Alias, &n.ComplianceApplicationID, &n.ComplianceStatus}
		for i, c := range col {
			if *cells[c] = rec[i]; Columns[c] != "alias" { // spaces may be the point of an alias
				*cells[c] = strings.TrimSpace(rec[i])
			}
		}
		line, _ := cr.FieldPos(0)
		if len(n.Number) > 15 || n.Number == "" || strings.Trim(n.Number, "0123456789") != "" {
			return nil, fmt.Errorf("read numbers: line %d: number %q: want 1 to 15 digits, E.164 without '+'", line, n.Number)
		} else if seen[n.Number] > 0 {
			return nil, fmt.Errorf("read numbers: line %d: number %s already on line %d", line, n.Number, seen[n.Number])
		}
		seen[n.Number] = line
		ns = append(ns, n)
	}
}

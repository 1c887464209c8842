// Package sandbox is an in-memory stand-in for the part of Plivo's Number API
// that plivo-bulk uses. It serves the update, read and list calls on numbers
// and the account, application and subaccount reads, over the real HTTP
// handler, with Basic auth, a per-account rate limit and injectable faults
// (errors, dropped connections, stalls, garbage answers, latency). It backs
// `plivo-bulk run --sandbox`, the standalone `plivo-bulk sandbox` server and
// the project's end-to-end tests and benchmarks.
//
// # Strict choices
//
// Where Plivo's behaviour is undocumented or uncertain, the sandbox takes the
// stricter reading, so that a client that copes with the sandbox should cope
// with Plivo:
//
//   - Every path must end with a slash; without one the answer is 404, not a
//     redirect.
//   - Every request needs HTTP Basic auth, unknown paths included; a 401 body
//     has no api_id. The {auth_id} in the path must be the authenticated
//     account, else 401.
//   - A POST body must be exactly one JSON object, sent with Content-Type
//     application/json, at most 64 KiB (else 413). Unknown keys, duplicate
//     keys, non-string values and trailing data are 400.
//   - A JSON null value is answered 202 "changed" and changes nothing, the
//     silent no-op seen on Plivo. With DefaultAppOnMissing, "app_id": null
//     counts as present, so it does not assign the default application either.
//   - An update is all or nothing: every field is checked before any is
//     applied.
//   - "subaccount": "" is 400: Plivo documents no way to move a number back to
//     the main account with this call, and the main account's own auth_id is
//     not a subaccount either. When the sandbox's own AuthID is a subaccount's
//     ("SA…"), any subaccount value is 403: only the main account may move
//     numbers.
//   - compliance_application_id is 400 unless the number's compliance status
//     is "pending" or "rejected", even when the value would not change.
//   - "alias": "" clears the alias (undocumented on Plivo).
//   - A GET answers null, not "", for an unset alias, application,
//     subaccount or compliance application.
//   - The list takes limit (1 to 20, default 20), offset (0 or more) and
//     three of Plivo's filters: number_startswith (one or more digits),
//     subaccount (a subaccount of this account) and alias (exact match, not
//     empty). Anything else, a parameter given twice included, is 400: the
//     sandbox implements no other filter and must not pretend to. The
//     numbers come sorted by number; total_count counts those that match,
//     and next and previous are paths that keep the filters, or null at the
//     ends.
//   - A list object has the single read's fields but for api_id, with one
//     difference, which Plivo's recorded answers show: sub_account is the
//     plain auth_id ("SA…") in the list and the subaccount's URI in the
//     single read.
//   - Only the methods listed are allowed (no HEAD, no OPTIONS): else 405.
//   - The rate limit counts every authenticated request on the account,
//     reads, lists and errors included, as Plivo's limit covers every API;
//     refused requests do not count. A Retry-After header is sent unless
//     NoRetryAfter is set; Plivo documents none, so clients must cope
//     without it.
//
// # Rate limit
//
// Plivo documents "300 API requests per 5 seconds" but not the shape of its
// limiter, and the account shares that budget with its other traffic. So the
// sandbox's limit is N requests per window W (Config.RateLimit and
// RateWindow; `--rate-limit 300/5s`, a bare number being per second) in one
// of three shapes (Config.Limiter, `--limiter`):
//
//   - bucket (the default): a token bucket that refills at N/W and holds N
//     tokens, starting full. A burst of N passes at once, then N/W
//     steadily. Holding one window's worth lets the documented 300 pass at
//     once, and keeps a bare `--rate-limit 60` what it always was: 60/s in
//     bursts of 60. From full, up to 2N can pass in the first W.
//   - fixed: N requests in each window of W aligned on the Unix epoch; the
//     count resets at the edge, so up to 2N can pass close to an edge.
//   - sliding: at most N requests in any W, kept as an exact log of the
//     times admitted.
//
// Limit dips (Config.LimitDips, `--limit-dip AFTER:FOR:FACTOR`) stand in for
// the other traffic: AFTER from the account's first request, the limit is
// multiplied by FACTOR for FOR, then comes back; `20s:10s:0.5` halves it for
// 10 seconds. For the bucket a dip scales the refill and the bucket's size
// (the tokens above the new size are lost); for the windowed shapes it
// scales N, rounded down, from that moment, mid-window included. Timing
// dips from the first request rather than from the start of the server
// makes them hit a run however long the server waited for it.
//
// Retry-After, when sent, is the limiter's own reckoning: the whole seconds,
// rounded up and at least 1, until a request would pass if no other came
// first, dips included. Config.Now replaces the clock, so that tests can
// drive every shape on a fake one.
//   - Latency and faults touch only the number endpoints (a number's GET and
//     POST, and the number list), never the account, application or
//     subaccount reads, so that a client's credentials check stays reliable.
//   - Injected 500s answer Plivo's JSON error shape; injected 502s and 503s
//     answer an HTML page, as a proxy in front of the API would.
//   - Dropped, stalled, failed and garbage-answered requests are not applied;
//     only FailAfterApplyRate applies a change and then reports a failure, so
//     that a client learns nothing from a failure about whether it applied.
package sandbox

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultComplianceStatus is the compliance status AddNumber gives a number
// that has none.
const DefaultComplianceStatus = "accepted"

// MaxPageSize is the largest limit the number list accepts, as on Plivo.
const MaxPageSize = 20

// maxBody bounds a POST body; Plivo's are a few hundred bytes.
const maxBody = 64 << 10

// Config sets the sandbox's account, rate limit and faults. The zero value
// is a fault-free, unlimited sandbox with generated credentials.
type Config struct {
	// AuthID and AuthToken are the account's credentials. New generates
	// them when empty: AuthID as "MA" and 18 upper-case letters or digits,
	// AuthToken as 40 random letters and digits. An AuthID that starts with
	// "SA" makes the account a subaccount, which may not move numbers.
	AuthID, AuthToken string

	// RateLimit is the number of requests the account may make per
	// RateWindow; 0 means unlimited. Every authenticated request counts.
	RateLimit float64
	// RateWindow is the rate limit's window; 0 means one second. Plivo
	// documents 300 requests per 5 seconds.
	RateWindow time.Duration
	// Limiter is the rate limiter's shape; "" is LimiterBucket. The
	// windowed shapes (fixed, sliding) need a whole RateLimit.
	Limiter Limiter
	// LimitDips move the rate limit during the run, standing in for other
	// traffic on the account; they are timed from the first request. They
	// must not overlap.
	LimitDips []LimitDip
	// NoRetryAfter leaves the Retry-After header off 429 answers, as Plivo
	// documents none. When it is sent, Retry-After is the limiter's own
	// reckoning: whole seconds, rounded up, until a request would pass if
	// no other came first.
	NoRetryAfter bool

	// Now is the sandbox's clock, for the rate limit and the times it
	// records; nil means time.Now. Tests set a fake one.
	Now func() time.Time

	// Latency delays every request on a number endpoint before the server
	// looks at it.
	Latency time.Duration

	// The fault rates are fractions of the requests on number endpoints:
	// FailRate answers 500, 502 or 503 without applying anything;
	// FailAfterApplyRate applies a valid update and then answers 500;
	// DropRate closes the connection without an answer; StallRate never
	// answers, until the client gives up; GarbageRate answers an HTML page,
	// a truncated JSON body or a 202 without api_id. Their sum must not
	// exceed 1 (see Validate).
	FailRate, FailAfterApplyRate, DropRate, StallRate, GarbageRate float64

	// DefaultAppOnMissing makes an update whose body has no app_id key
	// assign DefaultApp, following Plivo's documentation: "If not specified,
	// the application selected as the default_number_app of the account is
	// assigned." DefaultApp "" means no default: the app is unassigned.
	DefaultAppOnMissing bool
	// DefaultApp is the account's default_number_app. New registers it as
	// an application when it is not empty.
	DefaultApp string

	// Seed seeds the fault draws, so that a run with the same requests in
	// the same order meets the same faults. New picks a random seed when it
	// is 0; Server.Config reports it.
	Seed uint64
}

// Validate reports whether c makes sense: rates are fractions that add up to
// at most 1, the rate limit and latency are not negative, and the
// credentials, when set, can be sent with HTTP Basic auth.
func (c Config) Validate() error {
	var errs []error
	rates := []struct {
		name string
		v    float64
	}{
		{"fail rate", c.FailRate},
		{"fail-after-apply rate", c.FailAfterApplyRate},
		{"drop rate", c.DropRate},
		{"stall rate", c.StallRate},
		{"garbage rate", c.GarbageRate},
	}
	sum := 0.0
	for _, r := range rates {
		if math.IsNaN(r.v) || r.v < 0 || r.v > 1 {
			errs = append(errs, fmt.Errorf("%s %v: want a fraction from 0 to 1", r.name, r.v))
			continue
		}
		sum += r.v
	}
	if sum > 1+1e-9 {
		errs = append(errs, fmt.Errorf("fault rates add up to %v: want at most 1", sum))
	}
	if math.IsNaN(c.RateLimit) || math.IsInf(c.RateLimit, 0) || c.RateLimit < 0 {
		errs = append(errs, fmt.Errorf("rate limit %v: want 0 (unlimited) or more", c.RateLimit))
	}
	if c.RateWindow < 0 || c.RateWindow > 0 && c.RateWindow < time.Millisecond || c.RateWindow > maxWindow {
		errs = append(errs, fmt.Errorf("rate window %v: want 1ms to %v (0 for one second)", c.RateWindow, maxWindow))
	}
	if c.Limiter != "" {
		var l Limiter
		if err := l.Set(string(c.Limiter)); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Limiter.windowed() && c.RateLimit != math.Trunc(c.RateLimit) {
		errs = append(errs, fmt.Errorf("rate limit %v with the %s limiter: want a whole number of requests per window (say 1/4s rather than 0.25)", c.RateLimit, c.Limiter))
	}
	for _, d := range c.LimitDips {
		if d.After < 0 || d.For <= 0 || math.IsNaN(d.Factor) || d.Factor < 0 || d.Factor > maxDipFactor {
			errs = append(errs, fmt.Errorf("limit dip %v: want AFTER 0 or more, FOR above 0, FACTOR 0 to %d", d, maxDipFactor))
		}
	}
	if err := checkDips(c.LimitDips); err != nil {
		errs = append(errs, err)
	}
	if len(c.LimitDips) > 0 && c.RateLimit == 0 {
		errs = append(errs, errNoLimit)
	}
	if c.Latency < 0 {
		errs = append(errs, fmt.Errorf("latency %v: want 0 or more", c.Latency))
	}
	if c.AuthID != "" && !validToken(c.AuthID, false) {
		errs = append(errs, errors.New("auth id: want printable characters without ':', '/' or spaces"))
	}
	if c.AuthToken != "" && !validToken(c.AuthToken, true) {
		// The token itself stays out of the message.
		errs = append(errs, errors.New("auth token: want printable characters without spaces"))
	}
	if c.DefaultApp != "" && !ValidAppID(c.DefaultApp) {
		errs = append(errs, fmt.Errorf("default app %q: want letters, digits, '.', '_' or '-'", c.DefaultApp))
	}
	return errors.Join(errs...)
}

// validToken reports whether s is printable ASCII without spaces; colons and
// slashes are allowed only in a password.
func validToken(s string, password bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f {
			return false
		}
		if !password && (c == ':' || c == '/') {
			return false
		}
	}
	return true
}

// ValidSubaccountID reports whether id looks like a Plivo subaccount auth_id:
// "SA" and 18 upper-case letters or digits.
func ValidSubaccountID(id string) bool {
	return len(id) == 20 && strings.HasPrefix(id, "SA") && upperAlnum(id[2:])
}

// ValidMainAccountID reports whether id looks like a Plivo main account
// auth_id: "MA" and 18 upper-case letters or digits.
func ValidMainAccountID(id string) bool {
	return len(id) == 20 && strings.HasPrefix(id, "MA") && upperAlnum(id[2:])
}

func upperAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// ValidAppID reports whether id can name an application in the sandbox's
// URIs: 1 to 64 letters, digits, '.', '_' or '-'. Plivo's are digit strings
// such as "20372631212782780".
func ValidAppID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Number is a phone number on the sandbox's account. Empty fields are unset.
type Number struct {
	// Number is in E.164 form without '+', e.g. "12025551111".
	Number string
	// AppID is the linked application's id.
	AppID string
	// Subaccount is the auth_id of the subaccount that holds the number;
	// empty means the main account.
	Subaccount string
	// Alias is free text.
	Alias string
	// ComplianceApplicationID is the linked compliance application.
	ComplianceApplicationID string
	// ComplianceStatus is e.g. "accepted", "pending" or "rejected".
	ComplianceStatus string
}

// Fault names a fault the sandbox injected into a request.
type Fault string

// The faults, as reported in Request.Fault.
const (
	FaultNone           Fault = ""
	FaultFail           Fault = "fail"
	FaultFailAfterApply Fault = "fail_after_apply"
	FaultDrop           Fault = "drop"
	FaultStall          Fault = "stall"
	FaultGarbage        Fault = "garbage"
)

// Request is what the sandbox reports to a recorder about one request.
type Request struct {
	// Time is when the request arrived; Duration is how long it took to
	// answer (or to give up on it).
	Time     time.Time
	Duration time.Duration
	// Method and Path are the request's.
	Method, Path string
	// Number is the number in the path of a single-number request.
	Number string
	// Body is the raw POST body, read up to its 64 KiB limit.
	Body string
	// Fields are the decoded POST fields; a nil value is a JSON null. Fields
	// is nil when the body was not a JSON object.
	Fields map[string]*string
	// Status is the HTTP status answered; 0 when there was no answer: the
	// connection was dropped, or the request stalled or was abandoned by
	// the client.
	Status int
	// APIID is the api_id the answer carried or would have carried; empty
	// for a 401.
	APIID string
	// Fault is the fault injected, if any.
	Fault Fault
	// Applied reports whether an update was applied to the state.
	Applied bool
}

// Stats counts what the sandbox has served.
type Stats struct {
	// Requests counts every request received.
	Requests int64
	// Updates counts POSTs that were applied, including those answered 500
	// by FailAfterApplyRate; Changes counts those that modified the number.
	Updates, Changes int64
	// RateLimited counts requests answered 429.
	RateLimited int64
	// Faults counts injected faults of every kind.
	Faults int64
	// ByStatus counts requests by the status answered; 0 counts requests
	// that got no answer.
	ByStatus map[int]int64
}

// Server is the sandbox: an http.Handler over in-memory state. It is safe
// for concurrent use.
type Server struct {
	cfg Config
	now func() time.Time

	mu       sync.RWMutex
	numbers  map[string]Number
	order    []string // the numbers; sorted unless unsorted is set
	unsorted bool
	apps     map[string]string
	subs     map[string]string

	limiter limiter // nil when unlimited

	faultsOn bool
	rngMu    sync.Mutex
	rng      *mrand.Rand

	recorder atomic.Pointer[func(Request)]

	requests, updates, changes, rateLimited, faults atomic.Int64
	byStatus                                        [600]atomic.Int64
}

// New returns a sandbox with cfg and no numbers, applications (but
// cfg.DefaultApp) or subaccounts. It generates the credentials and the seed
// that cfg leaves empty. New does not check cfg: rates outside 0 to 1 are
// clamped, and when they add up to more than 1 the later ones in the order
// drop, stall, fail, fail-after-apply, garbage lose out. Call Validate first
// to refuse such a configuration; New takes an unknown Limiter for a bucket
// and a fractional limit of the windowed shapes as its whole part.
func New(cfg Config) *Server {
	if cfg.AuthID == "" {
		cfg.AuthID = "MA" + randomString(upperDigits, 18)
	}
	if cfg.AuthToken == "" {
		cfg.AuthToken = randomString(letterDigits, 40)
	}
	for cfg.Seed == 0 {
		cfg.Seed = mrand.Uint64()
	}
	for _, p := range []*float64{&cfg.FailRate, &cfg.FailAfterApplyRate, &cfg.DropRate, &cfg.StallRate, &cfg.GarbageRate} {
		if math.IsNaN(*p) || *p < 0 {
			*p = 0
		}
		*p = min(*p, 1)
	}
	if math.IsNaN(cfg.RateLimit) || cfg.RateLimit < 0 {
		cfg.RateLimit = 0
	}
	cfg.Latency = max(cfg.Latency, 0)

	s := &Server{
		cfg:     cfg,
		now:     time.Now,
		numbers: make(map[string]Number),
		apps:    make(map[string]string),
		subs:    make(map[string]string),
		rng:     mrand.New(mrand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
	}
	s.faultsOn = cfg.FailRate+cfg.FailAfterApplyRate+cfg.DropRate+cfg.StallRate+cfg.GarbageRate > 0
	if cfg.Now != nil {
		s.now = cfg.Now
	}
	s.limiter = newLimiter(cfg.Limiter, cfg.RateLimit, cfg.RateWindow, cfg.LimitDips)
	if cfg.DefaultApp != "" {
		s.apps[cfg.DefaultApp] = "Default number app"
	}
	return s
}

// Config returns the sandbox's configuration, with the generated
// credentials and seed.
func (s *Server) Config() Config { return s.cfg }

// AddNumber adds n to the account, or replaces the number of the same name.
// A number without ComplianceStatus gets DefaultComplianceStatus. AddNumber
// does not check that n's application or subaccount exist; SeedNumbers
// registers them.
func (s *Server) AddNumber(n Number) {
	if n.ComplianceStatus == "" {
		n.ComplianceStatus = DefaultComplianceStatus
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.numbers[n.Number]; !ok {
		// Sorted lazily (see sortedLocked): seeding a million numbers
		// one by one must not cost a million insertions into a sorted slice.
		s.order = append(s.order, n.Number)
		s.unsorted = true
	}
	s.numbers[n.Number] = n
}

// RemoveNumber takes number off the account, as releasing it on Plivo
// would, and reports whether the account had it. The numbers after it in
// the listing move up one place: a listing read across the change misses
// one of them, which is what tests of a listing that moves need.
func (s *Server) RemoveNumber(number string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.numbers[number]; !ok {
		return false
	}
	delete(s.numbers, number)
	if i := slices.Index(s.order, number); i >= 0 {
		s.order = slices.Delete(s.order, i, i+1)
	}
	return true
}

// SeedNumbers adds every number in ns, and registers the applications and
// subaccounts they name that the sandbox does not know yet, with made-up
// names.
func (s *Server) SeedNumbers(ns []Number) {
	for _, n := range ns {
		s.mu.Lock()
		if _, ok := s.apps[n.AppID]; n.AppID != "" && !ok {
			s.apps[n.AppID] = "App " + n.AppID
		}
		if _, ok := s.subs[n.Subaccount]; n.Subaccount != "" && !ok {
			s.subs[n.Subaccount] = "Subaccount " + n.Subaccount
		}
		s.mu.Unlock()
		s.AddNumber(n)
	}
}

// AddApplication adds the application id, or renames it.
func (s *Server) AddApplication(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[id] = name
}

// AddSubaccount adds the subaccount whose auth_id is id, or renames it.
func (s *Server) AddSubaccount(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs[id] = name
}

// Number returns the state of number, and whether the account has it.
func (s *Server) Number(number string) (Number, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, ok := s.numbers[number]
	return n, ok
}

// Numbers returns every number on the account, sorted by number.
func (s *Server) Numbers() []Number {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := make([]Number, 0, len(s.order))
	for _, k := range s.sortedLocked() {
		ns = append(ns, s.numbers[k])
	}
	return ns
}

// Stats returns the counts so far. It is safe to call while serving.
func (s *Server) Stats() Stats {
	st := Stats{
		Requests:    s.requests.Load(),
		Updates:     s.updates.Load(),
		Changes:     s.changes.Load(),
		RateLimited: s.rateLimited.Load(),
		Faults:      s.faults.Load(),
		ByStatus:    make(map[int]int64),
	}
	for code := range s.byStatus {
		if v := s.byStatus[code].Load(); v != 0 {
			st.ByStatus[code] = v
		}
	}
	return st
}

// SetRecorder makes the sandbox call f for every request once it has been
// answered (or given up on), from the goroutine that served it: f must be
// safe for concurrent use, and quick, since the handler waits for it. A nil
// f stops recording.
func (s *Server) SetRecorder(f func(Request)) {
	if f == nil {
		s.recorder.Store(nil)
		return
	}
	s.recorder.Store(&f)
}

const (
	upperDigits  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	letterDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// randomString returns n characters drawn uniformly from alphabet with
// crypto/rand: the token guards a local server, so it should not be
// guessable.
func randomString(alphabet string, n int) string {
	// Reject bytes past the largest multiple of len(alphabet) to stay uniform.
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		_, _ = rand.Read(buf) // never fails, per crypto/rand
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}

// newAPIID returns a fresh id shaped like Plivo's api_id, a UUID.
func newAPIID() string {
	hi, lo := mrand.Uint64(), mrand.Uint64()
	hi = hi&^0xf000 | 0x4000     // version 4
	lo = lo&^(0xc<<60) | 0x8<<60 // RFC 4122 variant
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x",
		hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

// sortedLocked returns the numbers in order, sorting them first if numbers
// were added since the last call. The caller holds mu for writing.
func (s *Server) sortedLocked() []string {
	if s.unsorted {
		sort.Strings(s.order)
		s.unsorted = false
	}
	return s.order
}

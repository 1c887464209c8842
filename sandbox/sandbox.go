package sandbox

import (
	"crypto/rand"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"slices"
	"sort"
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

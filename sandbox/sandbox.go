package sandbox

import (
	"crypto/rand"
	"fmt"
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

// Request is what the sandbox reports to a recorder about one request.
type Request struct {
	// Time is when the request arrived.
	Time time.Time
	// Method and Path are the request's.
	Method, Path string
	// Number is the number in the path of a single-number request.
	Number string
	// Body is the raw POST body, read up to its 64 KiB limit.
	Body string
	// Fields are the decoded POST fields; a nil value is a JSON null. Fields
	// is nil when the body was not a JSON object.
	Fields map[string]*string
	// Status is the HTTP status answered; 0 when there was no answer (the
	// client gave up during the latency, or the server stopped).
	Status int
	// APIID is the api_id the answer carried; empty for a 401.
	APIID string
	// Fault is "fail" for a failure FailRate injected, else empty. Tests
	// that inject other faults in front of the sandbox name theirs here.
	Fault string
	// Applied reports whether an update was applied to the state.
	Applied bool
}

// Stats counts what the sandbox has served.
type Stats struct {
	// Requests counts every request received.
	Requests int64
	// Updates counts POSTs that were applied; Changes counts those that
	// modified the number.
	Updates, Changes int64
	// RateLimited counts requests answered 429.
	RateLimited int64
	// Faults counts the failures FailRate injected.
	Faults int64
}

// Server is the sandbox: an http.Handler over in-memory state. It is safe
// for concurrent use.
type Server struct {
	cfg Config

	mu       sync.RWMutex
	numbers  map[string]Number
	order    []string // the numbers; sorted unless unsorted is set
	unsorted bool
	apps     map[string]string
	subs     map[string]string

	limiter *bucket // nil when unlimited

	recorder atomic.Pointer[func(Request)]

	requests, updates, changes, rateLimited, faults atomic.Int64
}

// New returns a sandbox with cfg and no numbers, applications (but
// cfg.DefaultApp) or subaccounts. It generates the credentials that cfg
// leaves empty. New does not check cfg: call Validate first.
func New(cfg Config) *Server {
	if cfg.AuthID == "" {
		cfg.AuthID = "MA" + rand.Text()[:18]
	}
	if cfg.AuthToken == "" {
		// The token guards a local server: it must not be guessable.
		cfg.AuthToken = rand.Text() + rand.Text()
	}
	s := &Server{
		cfg:     cfg,
		numbers: make(map[string]Number),
		apps:    make(map[string]string),
		subs:    make(map[string]string),
		limiter: newBucket(Rate{cfg.RateLimit, cfg.RateWindow}),
	}
	if cfg.DefaultApp != "" {
		s.apps[cfg.DefaultApp] = "Default number app"
	}
	return s
}

// Config returns the sandbox's configuration, with the generated
// credentials.
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
	return Stats{
		Requests:    s.requests.Load(),
		Updates:     s.updates.Load(),
		Changes:     s.changes.Load(),
		RateLimited: s.rateLimited.Load(),
		Faults:      s.faults.Load(),
	}
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

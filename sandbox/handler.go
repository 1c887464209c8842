package sandbox

import (
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

var _ http.Handler = (*Server)(nil)

type routeKind int

const (
	routeUnknown     routeKind = iota // under /v1/Account/{auth_id}/, but no resource
	routeAccount                      // /v1/Account/{auth_id}/
	routeNumberList                   // /v1/Account/{auth_id}/Number/
	routeNumber                       // /v1/Account/{auth_id}/Number/{number}/
	routeApplication                  // /v1/Account/{auth_id}/Application/{app_id}/
	routeSubaccount                   // /v1/Account/{auth_id}/Subaccount/{sub_id}/
)

type route struct {
	kind    routeKind
	account string
	id      string // the number, app id or subaccount id
}

// parseRoute splits path. It reports false when path is not under
// /v1/Account/{auth_id}/ at all, or does not end with a slash.
func parseRoute(path string) (route, bool) {
	const prefix = "/v1/Account/"
	if !strings.HasPrefix(path, prefix) || !strings.HasSuffix(path, "/") {
		return route{}, false
	}
	segs := strings.Split(strings.TrimSuffix(path[len(prefix):], "/"), "/")
	for _, s := range segs {
		if s == "" {
			return route{}, false
		}
	}
	rt := route{account: segs[0]}
	switch {
	case len(segs) == 1:
		rt.kind = routeAccount
	case len(segs) == 2 && segs[1] == "Number":
		rt.kind = routeNumberList
	case len(segs) == 3 && segs[1] == "Number":
		rt.kind, rt.id = routeNumber, segs[2]
	case len(segs) == 3 && segs[1] == "Application":
		rt.kind, rt.id = routeApplication, segs[2]
	case len(segs) == 3 && segs[1] == "Subaccount":
		rt.kind, rt.id = routeSubaccount, segs[2]
	}
	return rt, true
}

// exchange is one request being served, and what will be recorded of it.
type exchange struct {
	w     http.ResponseWriter
	r     *http.Request
	start time.Time
	rec   Request
}

// ServeHTTP serves the sandbox's API. A request that gets no answer (a
// dropped or stalled one, or one whose client gave up) ends with the
// connection hijacked and closed or, when the ResponseWriter cannot be
// hijacked (HTTP/2, httptest.ResponseRecorder), with a panic of
// http.ErrAbortHandler, which net/http's server handles; so serve the
// sandbox through an http.Server, such as httptest.NewServer or Start, when
// faults are on.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	x := &exchange{w: w, r: r, start: time.Now(), rec: Request{Time: s.now(), Method: r.Method, Path: r.URL.Path}}
	// finish runs even when a dropped connection falls back to
	// panic(http.ErrAbortHandler).
	defer s.finish(x)
	s.serve(x)
}

// finish counts x and hands it to the recorder.
func (s *Server) finish(x *exchange) {
	x.rec.Duration = time.Since(x.start)
	if st := x.rec.Status; st >= 0 && st < len(s.byStatus) {
		s.byStatus[st].Add(1)
	}
	if x.rec.Fault != FaultNone {
		s.faults.Add(1)
	}
	if f := s.recorder.Load(); f != nil {
		(*f)(x.rec)
	}
}

func (s *Server) serve(x *exchange) {
	r := x.r
	rt, underAccount := parseRoute(r.URL.Path)
	if rt.kind == routeNumber {
		x.rec.Number = rt.id
	}
	numberEndpoint := underAccount && (rt.kind == routeNumber || rt.kind == routeNumberList)

	// Read the body first: until it is read, net/http does not watch the
	// connection, and a stalled or delayed request would not notice that
	// its client gave up.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		x.abort() // the client went away mid-body
		return
	}
	tooLarge := len(body) > maxBody
	if tooLarge {
		body = body[:maxBody]
	}
	if len(body) > 0 {
		x.rec.Body = string(body)
	}

	if numberEndpoint && s.cfg.Latency > 0 && !sleepCtx(r.Context(), s.cfg.Latency) {
		x.abort() // the client gave up, or the server is shutting down
		return
	}

	if !s.authenticate(x) {
		return
	}
	if !underAccount {
		x.rec.APIID = newAPIID()
		x.fail(http.StatusNotFound, "not found")
		return
	}
	if rt.account != s.cfg.AuthID {
		x.unauthorized("invalid credentials")
		return
	}
	x.rec.APIID = newAPIID()

	if s.limiter != nil {
		if ok, wait := s.limiter.take(s.now()); !ok {
			s.rateLimited.Add(1)
			if !s.cfg.NoRetryAfter {
				x.w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
			}
			x.fail(http.StatusTooManyRequests, "too many requests")
			return
		}
	}

	if rt.kind == routeUnknown {
		x.fail(http.StatusNotFound, "not found")
		return
	}
	allowed := "GET"
	if rt.kind == routeNumber {
		allowed = "GET, POST"
	}
	if r.Method != http.MethodGet && !(r.Method == http.MethodPost && rt.kind == routeNumber) {
		x.w.Header().Set("Allow", allowed)
		x.fail(http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if tooLarge {
		x.fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", maxBody))
		return
	}

	failAfterApply := false
	if numberEndpoint {
		fault, variant := s.drawFault()
		switch fault {
		case FaultDrop:
			x.rec.Fault = FaultDrop
			x.abort()
			return
		case FaultStall:
			// Until the client gives up, or the server shuts down.
			x.rec.Fault = FaultStall
			<-r.Context().Done()
			x.abort()
			return
		case FaultFail:
			x.injectFailure(variant)
			return
		case FaultGarbage:
			x.garbage(variant)
			return
		case FaultFailAfterApply:
			if r.Method != http.MethodPost {
				x.rec.Fault = FaultFailAfterApply
				x.fail(http.StatusInternalServerError, "internal server error")
				return
			}
			failAfterApply = true
		}
	}

	switch rt.kind {
	case routeAccount:
		s.getAccount(x)
	case routeNumberList:
		s.listNumbers(x)
	case routeNumber:
		if r.Method == http.MethodPost {
			s.updateNumber(x, rt.id, body, failAfterApply)
		} else {
			s.getNumber(x, rt.id)
		}
	case routeApplication:
		s.getApplication(x, rt.id)
	case routeSubaccount:
		s.getSubaccount(x, rt.id)
	}
}

// authenticate checks the request's Basic auth against the account's and
// answers 401 when it does not match.
func (s *Server) authenticate(x *exchange) bool {
	if x.r.Header.Get("Authorization") == "" {
		x.unauthorized("authentication credentials were not provided")
		return false
	}
	user, pass, ok := x.r.BasicAuth()
	// Compare both, in constant time, whatever the first gives.
	idOK := subtle.ConstantTimeCompare([]byte(user), []byte(s.cfg.AuthID))
	tokenOK := subtle.ConstantTimeCompare([]byte(pass), []byte(s.cfg.AuthToken))
	if !ok || idOK&tokenOK != 1 {
		x.unauthorized("invalid credentials")
		return false
	}
	return true
}

// drawFault decides which fault, if any, request meets, and a variant (0 to
// 2) for the kinds that have several. It always makes the same draws, so
// the sequence depends only on the seed and the order of requests.
func (s *Server) drawFault() (Fault, int) {
	if !s.faultsOn {
		return FaultNone, 0
	}
	s.rngMu.Lock()
	u := s.rng.Float64()
	v := s.rng.IntN(3)
	s.rngMu.Unlock()
	c := &s.cfg
	for _, f := range [...]struct {
		rate  float64
		fault Fault
	}{
		{c.DropRate, FaultDrop},
		{c.StallRate, FaultStall},
		{c.FailRate, FaultFail},
		{c.FailAfterApplyRate, FaultFailAfterApply},
		{c.GarbageRate, FaultGarbage},
	} {
		if u < f.rate {
			return f.fault, v
		}
		u -= f.rate
	}
	return FaultNone, v
}

// sleepCtx sleeps for d, or until ctx is done; it reports whether it slept
// the whole time.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

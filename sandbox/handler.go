package sandbox

import (
	"crypto/subtle"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
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
	w   http.ResponseWriter
	r   *http.Request
	rec Request
}

// ServeHTTP serves the sandbox's API. A request whose client gives up
// during the latency (or that the server stops, see Start) ends with a panic
// of http.ErrAbortHandler, which makes net/http's server close the
// connection without an answer.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	x := &exchange{w: w, r: r, rec: Request{Time: time.Now(), Method: r.Method, Path: r.URL.Path}}
	// finish runs even when the request is aborted.
	defer s.finish(x)
	s.serve(x)
}

// finish hands x to the recorder.
func (s *Server) finish(x *exchange) {
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
	// connection, and a delayed request would not notice that its client
	// gave up.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		panic(http.ErrAbortHandler) // the client went away mid-body
	}
	tooLarge := len(body) > maxBody
	if tooLarge {
		body = body[:maxBody]
	}
	if len(body) > 0 {
		x.rec.Body = string(body)
	}

	if numberEndpoint && s.cfg.Latency > 0 {
		t := time.NewTimer(s.cfg.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			panic(http.ErrAbortHandler) // the client gave up, or the server is stopping
		}
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

	// No Retry-After: Plivo documents none, so a client must cope without.
	if s.limiter != nil && !s.limiter.take() {
		s.rateLimited.Add(1)
		x.fail(http.StatusTooManyRequests, "too many requests")
		return
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
	if numberEndpoint && s.cfg.FailRate > 0 && mrand.Float64() < s.cfg.FailRate {
		s.faults.Add(1)
		x.injectFailure(mrand.IntN(3))
		return
	}

	switch rt.kind {
	case routeAccount:
		s.getAccount(x)
	case routeNumberList:
		s.listNumbers(x)
	case routeNumber:
		if r.Method == http.MethodPost {
			s.updateNumber(x, rt.id, body)
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

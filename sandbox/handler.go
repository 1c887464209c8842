package sandbox

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

var updateKeys = []string{"alias", "app_id", "compliance_application_id", "subaccount"}

// ServeHTTP serves the API. A request whose client gives up during the latency, or that stop cuts
// short, panics with http.ErrAbortHandler: net/http closes the connection unanswered.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	// Until the body is read, net/http does not notice a client that gives up.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil && !errors.As(err, new(*http.MaxBytesError)) {
		panic(http.ErrAbortHandler)
	}
	// Under the account: "" (the account), "Number/" (the list) or kind/id/.
	rest, ours := strings.CutPrefix(r.URL.Path, "/v1/Account/"+s.cfg.AuthID+"/")
	kind, id, _ := strings.Cut(rest, "/")
	id, slash := strings.CutSuffix(id, "/")
	one := slash && id != "" && !strings.Contains(id, "/") && slices.Contains([]string{"Number", "Application", "Subaccount"}, kind)
	found := ours && (rest == "" || rest == "Number/" || one)
	numberEndpoint := found && kind == "Number"
	if numberEndpoint && s.cfg.Latency > 0 {
		select {
		case <-time.After(s.cfg.Latency):
		case <-r.Context().Done():
			panic(http.ErrAbortHandler) // the client gave up, or the server is stopping
		}
	}
	user, pass, ok := r.BasicAuth() // both compared in constant time
	if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(s.cfg.AuthID))&subtle.ConstantTimeCompare([]byte(pass), []byte(s.cfg.AuthToken)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="Plivo API"`)
		fail(w, http.StatusUnauthorized, "", "invalid credentials") // no api_id
		return
	}
	hi, lo := rand.Uint64()&^0xf000|0x4000, rand.Uint64()&^(0xc<<60)|0x8<<60 // a version 4 UUID, as Plivo's
	apiID := fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
	switch {
	case s.limiter != nil && !s.limiter.Allow():
		s.rateLimited.Add(1)
		fail(w, http.StatusTooManyRequests, apiID, "too many requests")
	case !found:
		fail(w, http.StatusNotFound, apiID, "not found")
	case r.Method != http.MethodGet && !(r.Method == http.MethodPost && numberEndpoint && id != ""):
		fail(w, http.StatusMethodNotAllowed, apiID, "method not allowed")
	case numberEndpoint && rand.Float64() < s.cfg.FailRate:
		s.faults.Add(1)
		// 500 in Plivo's shape, or 502 or 503 from a proxy in front of it.
		if st := []int{500, 502, 503}[rand.IntN(3)]; st == 500 {
			fail(w, st, apiID, "internal server error")
		} else {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(st)
			fmt.Fprintf(w, "<html><head><title>%[1]d %[2]s</title></head><body><center><h1>%[1]d %[2]s</h1></center><hr><center>nginx</center></body></html>\n", st, http.StatusText(st))
		}
	case r.Method == http.MethodPost:
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		var fields map[string]*string
		if err != nil || mt != "application/json" || json.Unmarshal(body, &fields) != nil || fields == nil {
			fail(w, http.StatusBadRequest, apiID, "want one JSON object of strings and nulls, up to 64 KiB, sent as application/json")
		} else {
			s.update(w, apiID, id, fields)
		}
	case rest == "":
		answer(w, http.StatusOK, map[string]any{"auth_id": s.cfg.AuthID, "resource_uri": r.URL.Path, "api_id": apiID})
	case id == "":
		s.list(w, apiID, r.URL.RawQuery)
	default:
		s.get(w, apiID, kind, id)
	}
}

// get answers a number, application or subaccount.
func (s *Server) get(w http.ResponseWriter, apiID, kind, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var j map[string]any
	if n, ok := s.numbers[id]; ok && kind == "Number" {
		j = s.numberJSON(n, false)
	} else if name, ok := s.apps[id]; ok && kind == "Application" {
		j = map[string]any{"app_id": id, "app_name": name}
	} else if name, ok := s.subs[id]; ok && kind == "Subaccount" {
		j = map[string]any{"auth_id": id, "name": name}
	} else {
		fail(w, http.StatusNotFound, apiID, "not found")
		return
	}
	j["api_id"] = apiID
	answer(w, http.StatusOK, j)
}

// numberJSON is n as Plivo shows it, null for unset; the list shows sub_account as an auth_id, a read as a URI.
func (s *Server) numberJSON(n Number, listed bool) map[string]any {
	uri := func(kind, id string) any {
		return null(id, "/v1/Account/"+s.cfg.AuthID+"/"+kind+"/"+id+"/")
	}
	sub := uri("Subaccount", n.Subaccount)
	if listed {
		sub = null(n.Subaccount, n.Subaccount)
	}
	return map[string]any{"number": n.Number, "alias": null(n.Alias, n.Alias), "application": uri("Application", n.AppID), "sub_account": sub,
		"compliance_application_id": null(n.ComplianceApplicationID, n.ComplianceApplicationID), "compliance_status": n.ComplianceStatus, "resource_uri": uri("Number", n.Number)}
}

// null is v, or JSON's null when the value it shows is unset.
func null(value, v string) any {
	if value == "" {
		return nil
	}
	return v
}

// update checks an update whole, then applies it.
func (s *Server) update(w http.ResponseWriter, apiID, number string, fields map[string]*string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.numbers[number]
	app, sub, compliance := fields["app_id"], fields["subaccount"], fields["compliance_application_id"]
	known := func(m map[string]string, v *string) bool { _, ok := m[*v]; return ok }
	status, msg := http.StatusBadRequest, ""
	for k := range fields {
		if !slices.Contains(updateKeys, k) {
			msg = fmt.Sprintf("unknown parameter %q; accepted parameters are %s", k, strings.Join(updateKeys, ", "))
		}
	}
	switch {
	case msg != "":
	case !ok:
		status, msg = http.StatusNotFound, "not found"
	case app != nil && *app != "" && !known(s.apps, app):
		msg = fmt.Sprintf("app_id %q is not an application of this account", *app)
	case sub != nil && strings.HasPrefix(s.cfg.AuthID, "SA"):
		status, msg = http.StatusForbidden, "only the main account can move a number to a subaccount"
	case sub != nil && !known(s.subs, sub):
		msg = fmt.Sprintf("subaccount %q is not a subaccount of this account", *sub)
	case compliance != nil && n.ComplianceStatus != "pending" && n.ComplianceStatus != "rejected":
		msg = fmt.Sprintf("compliance_application_id can be changed only while the number's compliance status is pending or rejected; it is %q", n.ComplianceStatus)
	}
	if msg != "" {
		fail(w, status, apiID, msg)
		return
	}
	next := n
	for dst, v := range map[*string]*string{&next.AppID: app, &next.Subaccount: sub, &next.Alias: fields["alias"], &next.ComplianceApplicationID: compliance} {
		if v != nil {
			*dst = *v
		}
	}
	if _, given := fields["app_id"]; !given && s.cfg.DefaultAppOnMissing {
		next.AppID = s.cfg.DefaultApp
	}
	s.numbers[number] = next
	s.updates.Add(1)
	if next != n {
		s.changes.Add(1)
	}
	answer(w, http.StatusAccepted, map[string]string{"message": "changed", "api_id": apiID})
}

// list serves a page of the numbers, sorted and filtered.
func (s *Server) list(w http.ResponseWriter, apiID, query string) {
	q, err := url.ParseQuery(query)
	limit, lerr := strconv.Atoi(cmp.Or(q.Get("limit"), "20"))
	offset, oerr := strconv.Atoi(cmp.Or(q.Get("offset"), "0"))
	prefix, sub, alias := q.Get("number_startswith"), q.Get("subaccount"), q.Get("alias")
	if err != nil || lerr != nil || limit < 1 || limit > 20 || oerr != nil || offset < 0 || strings.Trim(prefix, "0123456789") != "" {
		fail(w, http.StatusBadRequest, apiID, "want limit from 1 to 20, offset 0 or more and number_startswith digits")
		return
	}
	// Those that start with prefix are a run of the sorted order: a page costs its size, even of a million.
	s.mu.Lock()
	defer s.mu.Unlock()
	order := s.sortedLocked()
	lo := sort.SearchStrings(order, prefix)
	match := order[lo : lo+sort.Search(len(order)-lo, func(i int) bool { return !strings.HasPrefix(order[lo+i], prefix) })]
	if sub != "" || alias != "" {
		match = slices.DeleteFunc(slices.Clone(match), func(k string) bool {
			n := s.numbers[k]
			return sub != "" && n.Subaccount != sub || alias != "" && n.Alias != alias
		})
	}
	objects := []map[string]any{}
	for _, k := range match[min(offset, len(match)):min(offset+limit, len(match))] {
		objects = append(objects, s.numberJSON(s.numbers[k], true))
	}
	answer(w, http.StatusOK, map[string]any{"api_id": apiID, "meta": map[string]int{"limit": limit, "offset": offset, "total_count": len(match)}, "objects": objects})
}

// answer writes v as JSON; fail answers Plivo's error shape, without api_id for a 401.
func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a client that went away is no concern here
}

func fail(w http.ResponseWriter, status int, apiID, msg string) {
	answer(w, status, struct {
		APIID string `json:"api_id,omitempty"`
		Error string `json:"error"`
	}{apiID, msg})
}

// CheckListenAddr reports whether addr, a host:port, is on loopback: the sandbox answers anyone who
// knows its credentials, which it may print.
func CheckListenAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("listen address %q: want a loopback address (127.0.0.1, ::1 or localhost)", addr)
	}
	return nil
}

// Start serves h, a Server or a handler in front of one, on addr, which must pass CheckListenAddr
// ("127.0.0.1:0" picks a free port). It returns the base URL and stop, which ends delayed requests
// without an answer, waits for the others until ctx is done and returns any error the server met.
func Start(h http.Handler, addr string) (baseURL string, stop func(context.Context) error, err error) {
	if err := CheckListenAddr(addr); err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	// Cancelling base releases the handlers waiting out a latency, which Shutdown would wait for.
	base, cancel := context.WithCancel(context.Background())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return base }}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func(ctx context.Context) error {
		cancel()
		err := srv.Shutdown(ctx)
		if err != nil {
			_ = srv.Close() // ctx ran out: cut the connections left
		}
		if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		return err
	}, nil
}

package sandbox

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

var _ http.Handler = (*Server)(nil)

// The parameters an update accepts, sorted.
var updateKeys = []string{"alias", "app_id", "compliance_application_id", "subaccount"}

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

// errorBody is Plivo's error shape; a 401 has no api_id.
type errorBody struct {
	APIID string `json:"api_id,omitempty"`
	Error string `json:"error"`
}

// reply writes a complete answer.
func (x *exchange) reply(status int, contentType string, body []byte) {
	h := x.w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	x.w.WriteHeader(status)
	_, _ = x.w.Write(body) // a client that went away is no concern of ours
	x.rec.Status = status
}

// json answers v as JSON. '&', '<' and '>' are written as they are, as
// Plivo writes them (in the list's next and previous paths, say), not
// escaped as encoding/json does by default.
func (x *exchange) json(status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only the sandbox's own types get here, and they all marshal.
		panic(fmt.Sprintf("sandbox: marshal %T: %v", v, err))
	}
	x.reply(status, "application/json", bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func (x *exchange) fail(status int, msg string) {
	x.json(status, errorBody{APIID: x.rec.APIID, Error: msg})
}

func (x *exchange) unauthorized(msg string) {
	x.w.Header().Set("WWW-Authenticate", `Basic realm="Plivo API"`)
	x.rec.APIID = ""
	x.fail(http.StatusUnauthorized, msg)
}

// abort closes the connection without an answer. A handler that merely
// returned would have net/http answer an empty 200.
func (x *exchange) abort() {
	if conn, _, err := http.NewResponseController(x.w).Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	// HTTP/2, or a writer that cannot be hijacked: make net/http abort the
	// stream.
	panic(http.ErrAbortHandler)
}

const (
	htmlOK = `<!DOCTYPE html>
<html><head><title>Welcome</title></head>
<body><h1>It works!</h1><p>This page is served instead of the API.</p></body></html>
`
	htmlProxyError = `<html>
<head><title>%[1]d %[2]s</title></head>
<body>
<center><h1>%[1]d %[2]s</h1></center>
<hr><center>nginx</center>
</body>
</html>
`
)

// injectFailure answers 500 in Plivo's JSON shape, or 502 or 503 as an HTML
// page from a proxy, by variant.
func (x *exchange) injectFailure(variant int) {
	x.rec.Fault = FaultFail
	status := [...]int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}[variant%3]
	if status == http.StatusInternalServerError {
		x.fail(status, "internal server error")
		return
	}
	page := fmt.Sprintf(htmlProxyError, status, http.StatusText(status))
	x.reply(status, "text/html", []byte(page))
}

// garbage answers something a client must not take for success, by
// variant: an HTML page with 200, a truncated JSON body, or a 202 without
// api_id.
func (x *exchange) garbage(variant int) {
	x.rec.Fault = FaultGarbage
	post := x.r.Method == http.MethodPost
	switch variant % 3 {
	case 0:
		x.reply(http.StatusOK, "text/html; charset=utf-8", []byte(htmlOK))
	case 1:
		if post {
			x.reply(http.StatusAccepted, "application/json",
				[]byte(`{"message": "changed", "api_id": "`+x.rec.APIID[:8]))
		} else {
			x.reply(http.StatusOK, "application/json",
				[]byte(`{"api_id": "`+x.rec.APIID+`", "alias": null, "application": "/v1/Acc`))
		}
	default:
		x.reply(http.StatusAccepted, "application/json", []byte(`{"message": "changed"}`))
	}
}

// The URIs of the account's resources.
func (s *Server) accountURI() string { return "/v1/Account/" + s.cfg.AuthID + "/" }
func (s *Server) appURI(id string) string {
	return "/v1/Account/" + s.cfg.AuthID + "/Application/" + id + "/"
}
func (s *Server) subaccountURI(id string) string {
	return "/v1/Account/" + s.cfg.AuthID + "/Subaccount/" + id + "/"
}
func (s *Server) numberURI(n string) string {
	return "/v1/Account/" + s.cfg.AuthID + "/Number/" + n + "/"
}

// listURI is the path of the page at limit and offset with the filters of
// q, as next and previous give it.
func (s *Server) listURI(q url.Values, limit, offset int) string {
	v := url.Values{}
	for _, k := range []string{"number_startswith", "subaccount", "alias"} {
		if f := q.Get(k); f != "" {
			v.Set(k, f)
		}
	}
	tail := ""
	if len(v) > 0 {
		tail = "&" + v.Encode()
	}
	return fmt.Sprintf("/v1/Account/%s/Number/?limit=%d&offset=%d%s", s.cfg.AuthID, limit, offset, tail)
}

type accountJSON struct {
	AccountType string `json:"account_type"`
	AuthID      string `json:"auth_id"`
	Name        string `json:"name"`
	ResourceURI string `json:"resource_uri"`
	APIID       string `json:"api_id"`
}

func (s *Server) getAccount(x *exchange) {
	kind := "standard"
	if strings.HasPrefix(s.cfg.AuthID, "SA") {
		kind = "subaccount"
	}
	x.json(http.StatusOK, accountJSON{
		AccountType: kind,
		AuthID:      s.cfg.AuthID,
		Name:        "Sandbox account",
		ResourceURI: s.accountURI(),
		APIID:       x.rec.APIID,
	})
}

type applicationJSON struct {
	AppID            string `json:"app_id"`
	AppName          string `json:"app_name"`
	DefaultNumberApp bool   `json:"default_number_app"`
	ResourceURI      string `json:"resource_uri"`
	APIID            string `json:"api_id"`
}

func (s *Server) getApplication(x *exchange, id string) {
	s.mu.RLock()
	name, ok := s.apps[id]
	s.mu.RUnlock()
	if !ok {
		x.fail(http.StatusNotFound, "not found")
		return
	}
	x.json(http.StatusOK, applicationJSON{
		AppID:            id,
		AppName:          name,
		DefaultNumberApp: id == s.cfg.DefaultApp,
		ResourceURI:      s.appURI(id),
		APIID:            x.rec.APIID,
	})
}

type subaccountJSON struct {
	Account     string `json:"account"`
	AuthID      string `json:"auth_id"`
	Name        string `json:"name"`
	Enabled     bool   `json:"enabled"`
	ResourceURI string `json:"resource_uri"`
	APIID       string `json:"api_id"`
}

func (s *Server) getSubaccount(x *exchange, id string) {
	s.mu.RLock()
	name, ok := s.subs[id]
	s.mu.RUnlock()
	if !ok {
		x.fail(http.StatusNotFound, "not found")
		return
	}
	x.json(http.StatusOK, subaccountJSON{
		Account:     s.accountURI(),
		AuthID:      id,
		Name:        name,
		Enabled:     true,
		ResourceURI: s.subaccountURI(id),
		APIID:       x.rec.APIID,
	})
}

// numberJSON is a number as Plivo shows it; unset values are null.
type numberJSON struct {
	Number                  string  `json:"number"`
	Alias                   *string `json:"alias"`
	Application             *string `json:"application"`
	SubAccount              *string `json:"sub_account"`
	ComplianceApplicationID *string `json:"compliance_application_id"`
	ComplianceStatus        string  `json:"compliance_status"`
	NumberType              string  `json:"number_type"`
	ResourceURI             string  `json:"resource_uri"`
	VoiceEnabled            bool    `json:"voice_enabled"`
	SMSEnabled              bool    `json:"sms_enabled"`
	APIID                   string  `json:"api_id,omitempty"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *Server) numberJSON(n Number) numberJSON {
	j := numberJSON{
		Number:                  n.Number,
		Alias:                   nullable(n.Alias),
		ComplianceApplicationID: nullable(n.ComplianceApplicationID),
		ComplianceStatus:        n.ComplianceStatus,
		NumberType:              "local",
		ResourceURI:             s.numberURI(n.Number),
		VoiceEnabled:            true,
		SMSEnabled:              true,
	}
	if n.AppID != "" {
		j.Application = nullable(s.appURI(n.AppID))
	}
	if n.Subaccount != "" {
		j.SubAccount = nullable(s.subaccountURI(n.Subaccount))
	}
	return j
}

func (s *Server) getNumber(x *exchange, number string) {
	n, ok := s.Number(number)
	if !ok {
		x.fail(http.StatusNotFound, "not found")
		return
	}
	j := s.numberJSON(n)
	j.APIID = x.rec.APIID
	x.json(http.StatusOK, j)
}

type listMeta struct {
	Limit      int     `json:"limit"`
	Offset     int     `json:"offset"`
	TotalCount int     `json:"total_count"`
	Next       *string `json:"next"`
	Previous   *string `json:"previous"`
}

type listJSON struct {
	APIID   string       `json:"api_id"`
	Meta    listMeta     `json:"meta"`
	Objects []numberJSON `json:"objects"`
}

// listParams are the parameters the number list accepts, sorted.
var listParams = []string{"alias", "limit", "number_startswith", "offset", "subaccount"}

// listFilter is what a list request keeps; empty fields keep everything.
type listFilter struct {
	prefix, subaccount, alias string
}

func (f listFilter) keep(n Number) bool {
	return (f.subaccount == "" || n.Subaccount == f.subaccount) && (f.alias == "" || n.Alias == f.alias)
}

// listNumbers serves one page of the account's numbers, sorted by number,
// filtered by number_startswith, subaccount and alias.
func (s *Server) listNumbers(x *exchange) {
	q, err := url.ParseQuery(x.r.URL.RawQuery)
	if err != nil {
		x.fail(http.StatusBadRequest, "malformed query string")
		return
	}
	limit, offset := MaxPageSize, 0
	var f listFilter
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the first bad parameter is always the same one
	for _, k := range keys {
		vs := q[k]
		if i := sort.SearchStrings(listParams, k); i == len(listParams) || listParams[i] != k {
			x.fail(http.StatusBadRequest, fmt.Sprintf("unknown parameter %q; the sandbox accepts %s", k, strings.Join(listParams, ", ")))
			return
		}
		if len(vs) != 1 {
			x.fail(http.StatusBadRequest, fmt.Sprintf("parameter %q given %d times", k, len(vs)))
			return
		}
		v := vs[0]
		switch k {
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxPageSize {
				x.fail(http.StatusBadRequest, fmt.Sprintf("limit must be an integer from 1 to %d", MaxPageSize))
				return
			}
			limit = n
		case "offset":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				x.fail(http.StatusBadRequest, "offset must be an integer, 0 or more")
				return
			}
			offset = n
		case "number_startswith":
			if v == "" || strings.Trim(v, "0123456789") != "" {
				x.fail(http.StatusBadRequest, "number_startswith must be one or more digits")
				return
			}
			f.prefix = v
		case "subaccount":
			s.mu.RLock()
			_, known := s.subs[v]
			s.mu.RUnlock()
			if !known {
				x.fail(http.StatusBadRequest, fmt.Sprintf("subaccount %q is not a subaccount of this account", v))
				return
			}
			f.subaccount = v
		case "alias":
			if v == "" {
				x.fail(http.StatusBadRequest, "alias must not be empty")
				return
			}
			f.alias = v
		}
	}

	s.mu.Lock()
	order := s.sortedLocked()
	if f.prefix != "" {
		// The numbers that start with the prefix are a run of the sorted
		// order.
		lo := sort.SearchStrings(order, f.prefix)
		hi := lo
		for hi < len(order) && strings.HasPrefix(order[hi], f.prefix) {
			hi++
		}
		order = order[lo:hi]
	}
	var total int
	var objects []numberJSON
	if f.subaccount == "" && f.alias == "" {
		total = len(order)
		lo, hi := min(offset, total), min(offset+limit, total)
		objects = make([]numberJSON, 0, hi-lo)
		for _, k := range order[lo:hi] {
			objects = append(objects, s.listObject(s.numbers[k]))
		}
	} else {
		objects = make([]numberJSON, 0, limit)
		for _, k := range order {
			n := s.numbers[k]
			if !f.keep(n) {
				continue
			}
			if total >= offset && len(objects) < limit {
				objects = append(objects, s.listObject(n))
			}
			total++
		}
	}
	s.mu.Unlock()

	meta := listMeta{Limit: limit, Offset: offset, TotalCount: total}
	if offset+limit < total {
		meta.Next = nullable(s.listURI(q, limit, offset+limit))
	}
	if offset > 0 {
		meta.Previous = nullable(s.listURI(q, limit, max(0, offset-limit)))
	}
	x.json(http.StatusOK, listJSON{APIID: x.rec.APIID, Meta: meta, Objects: objects})
}

// listObject is n as the list shows it: as a single read does, but for
// sub_account, which is a plain auth_id, as in the answers Plivo's SDKs
// recorded. A client must cope with both shapes.
func (s *Server) listObject(n Number) numberJSON {
	j := s.numberJSON(n)
	j.SubAccount = nullable(n.Subaccount)
	return j
}

// errBadBody marks a POST body that is not one JSON object.
var errBadBody = errors.New("request body must be a single JSON object")

// decodeUpdate parses an update body. fields holds the string and null
// values (a nil pointer for null); nonString lists, in order, the keys whose
// values are neither. It refuses duplicate keys, which encoding/json would
// silently resolve to the last one.
func decodeUpdate(body []byte) (fields map[string]*string, nonString []string, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, errBadBody
	}
	fields = make(map[string]*string)
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, errBadBody
		}
		key, _ := tok.(string) // object keys are always strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, errBadBody
		}
		if seen[key] {
			return nil, nil, fmt.Errorf("parameter %q given twice", key)
		}
		seen[key] = true
		switch bytes.TrimSpace(raw)[0] {
		case 'n':
			fields[key] = nil
		case '"':
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, nil, errBadBody
			}
			fields[key] = &v
		default:
			nonString = append(nonString, key)
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, nil, errBadBody
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errBadBody // trailing data
	}
	return fields, nonString, nil
}

// updateNumber serves a POST to a number.
func (s *Server) updateNumber(x *exchange, number string, body []byte, failAfterApply bool) {
	ct := x.r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); ct == "" || err != nil || mt != "application/json" {
		x.fail(http.StatusBadRequest, "Content-Type must be application/json")
		return
	}
	fields, nonString, err := decodeUpdate(body)
	if err != nil {
		x.fail(http.StatusBadRequest, err.Error())
		return
	}
	x.rec.Fields = fields
	keys := append([]string(nil), nonString...)
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if i := sort.SearchStrings(updateKeys, k); i == len(updateKeys) || updateKeys[i] != k {
			x.fail(http.StatusBadRequest, fmt.Sprintf("unknown parameter %q; accepted parameters are %s", k, strings.Join(updateKeys, ", ")))
			return
		}
	}
	if len(nonString) > 0 {
		x.fail(http.StatusBadRequest, fmt.Sprintf("parameter %q must be a string", nonString[0]))
		return
	}

	status, msg, changed := s.apply(number, fields)
	if status != http.StatusAccepted {
		x.fail(status, msg)
		return
	}
	x.rec.Applied = true
	s.updates.Add(1)
	if changed {
		s.changes.Add(1)
	}
	if failAfterApply {
		x.rec.Fault = FaultFailAfterApply
		x.fail(http.StatusInternalServerError, "internal server error")
		return
	}
	x.json(http.StatusAccepted, struct {
		Message string `json:"message"`
		APIID   string `json:"api_id"`
	}{"changed", x.rec.APIID})
}

// apply checks an update against the state and applies it whole, or not at
// all. It returns the status to answer, an error message unless it is 202,
// and whether the number changed.
func (s *Server) apply(number string, fields map[string]*string) (status int, msg string, changed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.numbers[number]
	if !ok {
		return http.StatusNotFound, "not found", false
	}
	next := n
	if v, ok := fields["app_id"]; ok {
		if v != nil {
			if _, known := s.apps[*v]; *v != "" && !known {
				return http.StatusBadRequest, fmt.Sprintf("app_id %q is not an application of this account", *v), false
			}
			next.AppID = *v
		}
	} else if s.cfg.DefaultAppOnMissing {
		next.AppID = s.cfg.DefaultApp
	}
	if v := fields["subaccount"]; v != nil {
		switch _, known := s.subs[*v]; {
		case strings.HasPrefix(s.cfg.AuthID, "SA"):
			return http.StatusForbidden, "only the main account can move a number to a subaccount", false
		case *v == "":
			return http.StatusBadRequest, "subaccount must be the auth_id of a subaccount of this account", false
		case !known:
			return http.StatusBadRequest, fmt.Sprintf("subaccount %q is not a subaccount of this account", *v), false
		}
		next.Subaccount = *v
	}
	if v := fields["alias"]; v != nil {
		next.Alias = *v
	}
	if v := fields["compliance_application_id"]; v != nil {
		if st := n.ComplianceStatus; st != "pending" && st != "rejected" {
			return http.StatusBadRequest, fmt.Sprintf("compliance_application_id can be changed only while the number's compliance status is pending or rejected; it is %q", st), false
		}
		next.ComplianceApplicationID = *v
	}
	s.numbers[number] = next
	return http.StatusAccepted, "", next != n
}

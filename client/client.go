// Package client calls the parts of Plivo's REST API that plivo-bulk uses.
// It knows HTTP, not CSV, and never retries: every failure is an *APIError
// whose Kind the pace package's one retry policy reads.
package client

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	DefaultBaseURL = "https://api.plivo.com" // Plivo's API root
	DefaultTimeout = 30 * time.Second        // one request, from dial to the answer's last byte
	maxBody        = 1 << 20                 // Plivo's answers are a few hundred bytes; a proxy's page is cut
	maxRetryAfter  = 7 * 24 * time.Hour      // keeps a Retry-After in a duration; whether to wait is the retry policy's call
)

// Options are New's optional settings; the zero value serves.
type Options struct {
	UserAgent string                          // one line; "plivo-bulk" when empty
	Timeout   time.Duration                   // bounds each request; 0: nothing beyond the context
	MaxConns  int                             // connections kept open for as many workers, and never more (the open-files limit)
	Trace     func(context.Context, Exchange) // called after every request, with its context, from the goroutine that sent it
	Transport http.RoundTripper               // where requests go instead of the network: a synctest test's handler
}

// Client calls Plivo's API for one account. It is safe for concurrent use.
type Client struct {
	http       *http.Client
	opt        Options
	name       string   // the account and the API root, for String
	basicAuth  string   // base64(authID:authToken), as sent in the Authorization header
	secrets    []string // what redact replaces: the token and the credential, encoded the usual ways
	accountURL string   // ".../v1/Account/{auth_id}/"
}

// Exchange is one request and what came of it, for a request log, redacted as errors are.
type Exchange struct {
	Method   string
	Path     string // the URL's path and query
	Status   int    // 0 when no answer came
	Kind     Kind   // the failure's class; "" for a success
	APIID    string // Plivo's api_id, when the answer had one
	Duration time.Duration
}

// New returns a Client for the account authID at the API root baseURL; plain http only to a loopback
// host, since Basic auth would otherwise cross the network in clear.
func New(baseURL, authID, token string, opt Options) (*Client, error) {
	// The messages never quote baseURL as given: it may carry a password.
	u, err := url.Parse(baseURL)
	if err != nil { // a *url.Error quotes the whole URL
		return nil, fmt.Errorf("api url cannot be parsed: %w", errors.Unwrap(err))
	}
	shown := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	ip := net.ParseIP(u.Hostname())
	switch {
	case u.Scheme == "http" && u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()):
		return nil, fmt.Errorf("api url %q: plain http is refused except to a loopback address (credentials would cross the network in clear)", shown)
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("api url %q: scheme must be https (or http to a loopback address)", shown)
	case u.Host == "":
		return nil, fmt.Errorf("api url %q: no host", shown)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("api url %q: must not carry credentials, a query or a fragment", shown)
	case authID == "":
		return nil, errors.New("auth id is empty")
	case strings.ContainsAny(authID, "/?#%: \t\r\n"):
		return nil, fmt.Errorf("auth id %q has characters an auth id cannot have", authID)
	case token == "":
		return nil, errors.New("auth token is empty")
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/"
	if opt.Transport == nil {
		t, n := http.DefaultTransport.(*http.Transport).Clone(), cmp.Or(opt.MaxConns, 16)
		t.MaxIdleConns, t.MaxIdleConnsPerHost, t.MaxConnsPerHost = n, n, opt.MaxConns
		opt.Transport = t
	}
	opt.UserAgent = cmp.Or(opt.UserAgent, "plivo-bulk")
	return &Client{
		// A redirect is not followed: Go would resend the credentials,
		// even to a plain http:// address. The 3xx is reported instead.
		http: &http.Client{Transport: opt.Transport, Timeout: opt.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		opt:        opt,
		name:       "plivo client for " + authID + " at " + u.Redacted(),
		basicAuth:  base64.StdEncoding.EncodeToString([]byte(authID + ":" + token)),
		secrets:    secretVariants(authID+":"+token, token),
		accountURL: u.JoinPath("v1", "Account", authID).String() + "/", // JoinPath drops the trailing slash
	}, nil
}

// String describes the client without its token; a value receiver, so a printed *c hides the fields too.
func (c Client) String() string { return c.name }

// GoString is String, for %#v.
func (c Client) GoString() string { return c.String() }

// redact replaces the token and the credential, which a proxy may echo, in a raw answer before any cut.
func (c *Client) redact(body []byte) []byte {
	for _, secret := range c.secrets {
		body = bytes.ReplaceAll(body, []byte(secret), []byte("[redacted]"))
	}
	return body
}

func (c *Client) redactString(s string) string { return string(c.redact([]byte(s))) }

// secretVariants returns each secret raw, JSON-escaped (and with \/ as PHP writes it), URL-encoded (either
// hex case) and in every base64, longest first, so that a form holding another is replaced whole.
func secretVariants(secrets ...string) []string {
	var forms []string
	lower := func(s string) string { return percentHex.ReplaceAllStringFunc(s, strings.ToLower) }
	for _, s := range secrets {
		j, _ := json.Marshal(s)
		q, p := url.QueryEscape(s), url.PathEscape(s)
		forms = append(forms, s, string(j[1:len(j)-1]), strings.ReplaceAll(s, "/", `\/`), q, p, lower(q), lower(p))
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			forms = append(forms, enc.EncodeToString([]byte(s)))
		}
	}
	slices.SortFunc(forms, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	return slices.Compact(forms)
}

var percentHex = regexp.MustCompile(`%[0-9A-F]{2}`)

// redactEscaped redacts a JSON answer's strings as they decode (a \u-escaped token passes redact):
// an answer with a backslash is re-encoded unescaped, then redacted.
func (c *Client) redactEscaped(body []byte) []byte {
	var v any
	var buf bytes.Buffer
	dec, enc := json.NewDecoder(bytes.NewReader(body)), json.NewEncoder(&buf)
	dec.UseNumber() // re-encode numbers as they were written
	enc.SetEscapeHTML(false)
	// Not JSON: decoding it into the answer fails anyway.
	if bytes.IndexByte(body, '\\') < 0 || dec.Decode(&v) != nil || enc.Encode(v) != nil {
		return body
	}
	return c.redact(buf.Bytes())
}

// call sends one request for path below /v1/Account/{auth_id}/ and decodes a 2xx answer into v (if not
// nil). It returns the status (0 when none came) and an *APIError; the answer is drained for reuse.
func (c *Client) call(ctx context.Context, method, path string, body []byte, v any) (status int, err error) {
	req, err := http.NewRequestWithContext(ctx, method, c.accountURL+path, bytes.NewReader(body))
	if err != nil {
		return 0, &APIError{Kind: KindError, Message: "build " + method + " request: " + cleanMessage(err.Error()), Err: err}
	}
	req.Header.Set("Authorization", "Basic "+c.basicAuth) // as SetBasicAuth, encoded once in New
	req.Header.Set("User-Agent", c.opt.UserAgent)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	var answer []byte
	if c.opt.Trace != nil {
		defer func(start time.Time) { c.traced(req, start, status, answer, err) }(time.Now())
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, transportError(ctx.Err(), err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		_ = resp.Body.Close()
	}()
	status = resp.StatusCode
	answer, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return status, answerError(status, KindNetwork, "reading the answer: "+cleanMessage(err.Error()), err)
	}
	answer = c.redactEscaped(c.redact(answer))
	if e := checkResponse(resp, answer); e != nil {
		e.Message, e.APIID = c.redactString(e.Message), c.redactString(e.APIID)
		return status, e
	}
	if v != nil {
		if err := json.Unmarshal(answer, v); err != nil {
			return status, answerError(status, KindBadAnswer, "answer is not the expected JSON: "+snippet(answer), err)
		}
	}
	return status, nil
}

// traced tells the trace of a request; the path is redacted too, as a cell may hold the token by mistake.
func (c *Client) traced(req *http.Request, start time.Time, status int, answer []byte, err error) {
	x := Exchange{Method: req.Method, Path: c.redactString(req.URL.RequestURI()), Status: status, Duration: time.Since(start)}
	if e, ok := errors.AsType[*APIError](err); ok {
		x.Kind, x.APIID = e.Kind, e.APIID
	} else {
		var a struct {
			APIID string `json:"api_id"`
		}
		_ = json.Unmarshal(answer, &a)
		x.APIID = c.redactString(cleanMessage(a.APIID))
	}
	c.opt.Trace(req.Context(), x)
}

// Kind is the one vocabulary for what went wrong with a request or a row, read by the retry policy and
// written to summaries: a file format, so the strings never change.
type Kind string

// The kinds of an answer, or of its absence, then the tool's own.
const (
	KindHTTP4xx     Kind = "http_4xx"        // a client error other than those below
	KindAuth        Kind = "auth"            // 401: bad credentials
	KindForbidden   Kind = "forbidden"       // 403
	KindNotFound    Kind = "not_found"       // 404
	KindMethod      Kind = "method"          // 405: a bug in the tool
	KindRateLimited Kind = "rate_limited"    // 429
	KindServer      Kind = "server"          // 5xx
	KindRedirect    Kind = "redirect"        // 3xx: not followed, so credentials are never resent
	KindTimeout     Kind = "timeout"         // no answer in time
	KindNetwork     Kind = "network"         // connection refused, reset, closed
	KindBadAnswer   Kind = "bad_answer"      // a 2xx answer that proves nothing
	KindCancelled   Kind = "cancelled"       // the caller's context ended
	KindInvalid     Kind = "invalid"         // a row that is not sent: bad input
	KindVerify      Kind = "verify_mismatch" // the server does not hold what it said it changed
	KindNoUndo      Kind = "cannot_undo"     // not sent: the undo file cannot record its old value
	KindFatal       Kind = "fatal"           // stops the run, say the undo file cannot be written
	KindInterrupted Kind = "interrupted"     // the run stopped before or during the item
	KindThrottled   Kind = "throttled"       // the account accepted nothing for too long
	KindError       Kind = "error"           // a failure with no class of its own
)

// APIError is any failed request or row: a non-2xx answer, one that proves nothing, none (StatusCode 0),
// or what the tool's steps find. Message is the text reports show; it never holds the token.
type APIError struct {
	StatusCode int    // HTTP status of the answer; 0 when none came
	APIID      string // Plivo's api_id, when the answer had one
	Kind       Kind
	Message    string
	RetryAfter time.Duration // from a Retry-After header; 0 when absent
	Err        error         // the cause, if any
}

func (e *APIError) Error() string { return e.Message }

func (e *APIError) Unwrap() error { return e.Err }

func answerError(status int, kind Kind, msg string, cause error) *APIError {
	return &APIError{StatusCode: status, Kind: kind, Message: fmt.Sprintf("HTTP %d: %s", status, msg), Err: cause}
}

// checkResponse returns nil for a 2xx, else an *APIError of the status, Plivo's error (or the text) and Retry-After.
func checkResponse(resp *http.Response, body []byte) *APIError {
	status := resp.StatusCode
	if status >= 200 && status < 300 {
		return nil
	}
	kind, ok := map[int]Kind{401: KindAuth, 403: KindForbidden, 404: KindNotFound, 405: KindMethod, 429: KindRateLimited}[status]
	if !ok { // by class; a 1xx is not what this API answers
		kind = [...]Kind{KindBadAnswer, KindBadAnswer, KindBadAnswer, KindRedirect, KindHTTP4xx, KindServer}[min(max(status/100, 0), 5)]
	}
	var pe struct {
		APIID string `json:"api_id"`
		Error any    `json:"error"`
	}
	msg, apiID := http.StatusText(status), ""
	if json.Unmarshal(body, &pe) == nil && pe.Error != nil {
		s, ok := pe.Error.(string)
		if !ok { // Plivo sometimes answers {"error": {"field": ["..."]}}
			raw, _ := json.Marshal(pe.Error)
			s = string(raw)
		}
		msg, apiID = cleanMessage(s), cleanMessage(pe.APIID)
	} else if s := snippet(body); s != "" && kind != KindRedirect {
		msg = s
	}
	if kind == KindRedirect {
		msg += " to " + cleanMessage(resp.Header.Get("Location")) + " (not followed: the credentials would be sent again; check --api-url)"
	}
	e := answerError(status, kind, msg, nil)
	e.APIID, e.RetryAfter = apiID, parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return e
}

// transportError classifies an error of http.Client.Do, its message from the inner cause: no URL quoted.
func transportError(ctxErr, err error) *APIError {
	if ctxErr != nil {
		return &APIError{Kind: KindCancelled, Message: "cancelled", Err: ctxErr}
	}
	kind, msg := KindNetwork, "connection error"
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		kind, msg = KindTimeout, "timed out"
	} else if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		msg = "connection closed by the server without an answer"
	}
	inner := err
	if ue, ok := errors.AsType[*url.Error](err); ok {
		inner = ue.Err // its text quotes the URL
	}
	return &APIError{Kind: kind, Message: msg + ": " + cleanMessage(inner.Error()), Err: err}
}

// parseRetryAfter reads delay-seconds or an HTTP date, clamped to [0, maxRetryAfter]; else 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	var d time.Duration
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs > 0 { // not NaN, in the future
		d = time.Duration(min(secs, maxRetryAfter.Seconds()) * float64(time.Second))
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// snippet is an unexpected answer (a proxy's page) as one line of at most 200 characters.
func snippet(body []byte) string {
	const limit = 200
	s := cleanMessage(string(body[:min(len(body), 4*limit)]))
	if len(s) > limit {
		s = strings.ToValidUTF8(s[:limit], "") + "…"
	}
	return s
}

// cleanMessage makes server text one line: invalid UTF-8 and controls become spaces, runs collapse.
func cleanMessage(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == utf8.RuneError || r < 0x20 || r == 0x7f
	}), " ")
}

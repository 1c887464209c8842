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
	"strings"
	"time"
)

const (
	DefaultBaseURL = "https://api.plivo.com" // Plivo's API root
	DefaultTimeout = 30 * time.Second        // one request, from dial to the answer's last byte
	maxBody        = 1 << 20                 // Plivo's answers are a few hundred bytes; a proxy's page is cut
)

// Client calls Plivo's API for one account. It is safe for concurrent use.
type Client struct {
	http       *http.Client
	transport  *http.Transport
	name       string   // the account and the API root, for String
	basicAuth  string   // base64(authID:authToken), as sent in the Authorization header
	secrets    []string // what redact replaces: the token and the credential, encoded the usual ways
	accountURL string   // ".../v1/Account/{auth_id}/"
	userAgent  string
	trace      func(context.Context, Exchange) // nil unless WithTrace
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

// Option configures a Client; New checks the result.
type Option func(*Client)

// WithTrace calls fn after every request, with its context, from the goroutine that sent it.
func WithTrace(fn func(context.Context, Exchange)) Option { return func(c *Client) { c.trace = fn } }

// WithUserAgent sets the User-Agent header, one line.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithTimeout bounds each request. Zero means no bound beyond the context.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.http.Timeout = d } }

// WithTransport sends the requests through rt: a synctest test hands them to a handler in-process.
func WithTransport(rt http.RoundTripper) Option { return func(c *Client) { c.http.Transport = rt } }

// WithMaxConns keeps n connections open for n workers, and never more: the pool was sized to the open-files limit.
func WithMaxConns(n int) Option {
	return func(c *Client) {
		c.transport.MaxIdleConns, c.transport.MaxIdleConnsPerHost, c.transport.MaxConnsPerHost = n, n, n
	}
}

// New returns a Client for the account authID at the API root baseURL; plain http only to a loopback
// host, since Basic auth would otherwise cross the network in clear.
func New(baseURL, authID, token string, opts ...Option) (*Client, error) {
	// The messages never quote baseURL as given: it may carry a password.
	u, err := url.Parse(baseURL)
	if err != nil { // a *url.Error quotes the whole URL
		return nil, fmt.Errorf("api url cannot be parsed: %w", errors.Unwrap(err))
	}
	shown := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	switch {
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
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
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns, transport.MaxIdleConnsPerHost = 16, 16
	c := &Client{
		http: &http.Client{Transport: transport, Timeout: DefaultTimeout,
			// A redirect is not followed: Go would resend the credentials,
			// even to a plain http:// address. The 3xx is reported instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		transport:  transport,
		name:       "plivo client for " + authID + " at " + u.Redacted(),
		basicAuth:  base64.StdEncoding.EncodeToString([]byte(authID + ":" + token)),
		secrets:    secretVariants(authID+":"+token, token),
		accountURL: u.JoinPath("v1", "Account", authID).String() + "/", // JoinPath drops the trailing slash
		userAgent:  "plivo-bulk",
	}
	for _, opt := range opts {
		opt(c)
	}
	return c, nil
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

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// call sends one request for path below /v1/Account/{auth_id}/ and decodes a 2xx answer into v (if not
// nil). It returns the status (0 when none came) and an *APIError; the answer is drained for reuse.
func (c *Client) call(ctx context.Context, method, path string, body []byte, v any) (status int, err error) {
	req, err := http.NewRequestWithContext(ctx, method, c.accountURL+path, bytes.NewReader(body))
	if err != nil {
		return 0, &APIError{Kind: KindError, Message: "build " + method + " request: " + cleanMessage(err.Error()), Err: err}
	}
	req.Header.Set("Authorization", "Basic "+c.basicAuth) // as SetBasicAuth, encoded once in New
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	var answer []byte
	if c.trace != nil {
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

// traced tells c.trace of a request; the path is redacted too, as a cell may hold the token by mistake.
func (c *Client) traced(req *http.Request, start time.Time, status int, answer []byte, err error) {
	x := Exchange{Method: req.Method, Path: c.redactString(req.URL.RequestURI()), Status: status, Duration: time.Since(start)}
	if e, ok := AsAPIError(err); ok {
		x.Kind, x.APIID = e.Kind, e.APIID
	} else {
		var a struct {
			APIID string `json:"api_id"`
		}
		_ = json.Unmarshal(answer, &a)
		x.APIID = c.redactString(cleanMessage(a.APIID))
	}
	c.trace(req.Context(), x)
}

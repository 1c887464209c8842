// Package client is a small client for the parts of Plivo's REST API that
// plivo-bulk uses: updating and reading account phone numbers, and looking up
// applications and subaccounts.
//
// It knows HTTP, not CSV: callers pass plain values and get typed errors back.
// It does not retry; the batch package decides what is worth another attempt,
// with the help of the predicates in this package.
package client

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// DefaultBaseURL is Plivo's API root.
const DefaultBaseURL = "https://api.plivo.com"

// DefaultTimeout bounds one request, from dial to the last byte of the body.
const DefaultTimeout = 30 * time.Second

// maxBody bounds how much of a response body is read. Plivo's answers are a
// few hundred bytes; a proxy's error page may be larger and is cut.
const maxBody = 1 << 20

// Client calls Plivo's API for one account. It is safe for concurrent use.
type Client struct {
	http      *http.Client
	baseURL   *url.URL
	authID    string
	authToken string
	basicAuth string   // base64(authID:authToken), as sent in the Authorization header
	secrets   []string // what redact replaces: the token and the credential, encoded the usual ways
	// accountURL is ".../v1/Account/{auth_id}/", built once: joining and
	// formatting it for every request was a measurable part of a row's cost.
	accountURL string
	userAgent  string
	trace      func(context.Context, Exchange) // nil unless WithTrace
}

// Exchange is one request and what came of it, for a request log. Its
// text is redacted as errors are.
type Exchange struct {
	Method   string
	Path     string // the URL's path and query
	Status   int    // 0 when no answer came
	Kind     Kind   // the failure's class; "" for a success
	APIID    string // Plivo's api_id, when the answer had one
	Duration time.Duration
}

// WithTrace calls fn after every request, with the request's context, from
// the goroutine that sent it.
func WithTrace(fn func(context.Context, Exchange)) Option {
	return func(c *Client) error {
		c.trace = fn
		return nil
	}
}

// Option configures a Client.
type Option func(*Client) error

// WithUserAgent sets the User-Agent header sent with every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		if strings.ContainsAny(ua, "\r\n") {
			return errors.New("user agent must be one line")
		}
		c.userAgent = ua
		return nil
	}
}

// WithTimeout bounds each request. Zero means no bound beyond the context.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d < 0 {
			return fmt.Errorf("timeout %v is negative", d)
		}
		c.http.Timeout = d
		return nil
	}
}

// WithMaxConns sizes the connection pool: up to n connections to the API
// host are kept open for reuse, so that n workers never wait on a dial.
func WithMaxConns(n int) Option {
	return func(c *Client) error {
		if n < 1 {
			return fmt.Errorf("max connections %d must be at least 1", n)
		}
		t, ok := c.http.Transport.(*http.Transport)
		if !ok {
			return errors.New("max connections: transport is not an *http.Transport")
		}
		t.MaxIdleConns = n
		t.MaxIdleConnsPerHost = n
		return nil
	}
}

// WithHTTPClient replaces the HTTP client, for callers that need their own
// transport. Its Timeout is kept unless WithTimeout comes after.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("http client is nil")
		}
		c.http = hc
		return nil
	}
}

// New returns a Client for the account authID, authenticating with token.
// baseURL is the API root, such as DefaultBaseURL.
//
// A plain http:// base URL is accepted only for a loopback host: Basic auth
// would otherwise cross the network in clear.
func New(baseURL, authID, token string, opts ...Option) (*Client, error) {
	// The messages never quote baseURL as given: it may carry a password.
	u, err := url.Parse(baseURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // ue's text quotes the whole URL
		}
		return nil, fmt.Errorf("api url cannot be parsed: %w", err)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("api url %q: plain http is refused except to a loopback address (credentials would cross the network in clear)", redactURL(u))
		}
	default:
		return nil, fmt.Errorf("api url %q: scheme must be https (or http to a loopback address)", redactURL(u))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("api url %q: no host", redactURL(u))
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("api url %q: must not carry credentials, a query or a fragment", redactURL(u))
	}
	if authID == "" {
		return nil, errors.New("auth id is empty")
	}
	if strings.ContainsAny(authID, "/?#%: \t\r\n") {
		return nil, fmt.Errorf("auth id %q has characters an auth id cannot have", authID)
	}
	if token == "" {
		return nil, errors.New("auth token is empty")
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/"
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = 16
	transport.MaxIdleConnsPerHost = 16
	c := &Client{
		http: &http.Client{Transport: transport, Timeout: DefaultTimeout,
			// A redirect is not followed: Go would resend the credentials,
			// even to a plain http:// address. The 3xx is reported instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		baseURL:   u,
		authID:    authID,
		authToken: token,
		basicAuth: base64.StdEncoding.EncodeToString([]byte(authID + ":" + token)),
		secrets:   secretVariants(authID+":"+token, token),
		userAgent: "plivo-bulk",
	}
	c.accountURL = c.baseURL.JoinPath("v1", "Account", authID).String() + "/" // JoinPath drops the trailing slash
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// String describes the client without its token, so that printing a Client
// with %v never shows the secret. Its receiver is a value, so that printing
// a dereferenced *Client does not show the fields either.
func (c Client) String() string {
	return fmt.Sprintf("plivo client for %s at %s", c.authID, c.baseURL.Redacted())
}

// GoString is String, for %#v.
func (c Client) GoString() string { return c.String() }

// redacted replaces the token in text that came from the server.
const redacted = "[redacted]"

// redact replaces the token and the Basic credential in a server's answer:
// a proxy or a hostile server may echo the request's Authorization header,
// or the token URL- or base64-encoded, and its text ends up in errors, logs
// and reports. It runs on the raw body, before any text is cut short.
func (c *Client) redact(body []byte) []byte {
	for _, secret := range c.secrets {
		if bytes.Contains(body, []byte(secret)) {
			body = bytes.ReplaceAll(body, []byte(secret), []byte(redacted))
		}
	}
	return body
}

// secretVariants returns each of secrets raw, JSON-escaped (Go's way and with
// \/ as PHP writes it), URL-encoded (query and path, with upper- or
// lower-case hex digits) and in base64 (both alphabets, padded or not),
// longest first, so that a form holding another (padded base64, "id:token")
// is replaced whole.
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

// redactError redacts the server's text in err once decoded, for a secret
// that the body held JSON-escaped.
func (c *Client) redactError(err error) error {
	if e, ok := AsAPIError(err); ok {
		e.Message = string(c.redact([]byte(e.Message)))
		e.APIID = string(c.redact([]byte(e.APIID)))
	}
	return err
}

// redactEscaped redacts a JSON answer's strings as they decode: a server
// may echo the token \u-escaped, which redact, reading the raw bytes, does
// not see, and the decoded field would carry it into a report or an undo
// file. Without a backslash every string decodes to its raw bytes, which
// redact has seen; otherwise the answer is re-encoded with nothing escaped
// that a token can hold (letters, digits, + / =), then redacted.
func (c *Client) redactEscaped(body []byte) []byte {
	if bytes.IndexByte(body, '\\') < 0 {
		return body
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // re-encode numbers as they were written
	var v any
	if err := dec.Decode(&v); err != nil {
		return body // not JSON: decoding it into the answer fails anyway
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return body
	}
	return c.redact(buf.Bytes())
}

// AuthID returns the account the client acts for.
func (c *Client) AuthID() string { return c.authID }

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func redactURL(u *url.URL) string {
	v := *u
	v.User = nil
	v.RawQuery = ""
	v.Fragment = ""
	return v.String()
}

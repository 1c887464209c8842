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
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
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
	basicAuth string // base64(authID:authToken), as sent in the Authorization header
	// accountURL is ".../v1/Account/{auth_id}/", built once: joining and
	// formatting it for every request was a measurable part of a row's cost.
	accountURL string
	userAgent  string
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
// and its text ends up in errors, logs and reports. It runs on the raw
// body, before any text is cut short.
func (c *Client) redact(body []byte) []byte {
	for _, secret := range []string{c.basicAuth, c.authToken} {
		if secret != "" && bytes.Contains(body, []byte(secret)) {
			body = bytes.ReplaceAll(body, []byte(secret), []byte(redacted))
		}
	}
	return body
}

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

// Changed is Plivo's answer to an update.
type Changed struct {
	Message    string `json:"message"`
	APIID      string `json:"api_id"`
	HTTPStatus int    `json:"-"`
}

// ErrNoAPIID is returned for a 2xx answer that carries no api_id: it is no
// proof that the update was applied, so the caller must not count it done.
var ErrNoAPIID = errors.New("answer has no api_id")

// UpdateNumber changes the settings of one number with
// POST /v1/Account/{auth_id}/Number/{number}/. fields maps Plivo's argument
// names (app_id, subaccount, alias, compliance_application_id) to values;
// only the fields present are sent, and an empty string is sent as "" (which
// unassigns or clears), never as null.
func (c *Client) UpdateNumber(ctx context.Context, number string, fields map[string]string) (Changed, error) {
	var out Changed
	body, err := json.Marshal(fields)
	if err != nil {
		return out, fmt.Errorf("encode update of %s: %w", number, err)
	}
	req, err := c.newRequest(ctx, http.MethodPost, "Number/"+url.PathEscape(number)+"/", body)
	if err != nil {
		return out, err
	}
	resp, err := c.do(req, &out)
	if err != nil {
		return out, err
	}
	out.HTTPStatus = resp.StatusCode
	if out.APIID == "" {
		return out, &APIError{StatusCode: resp.StatusCode, Message: "answer has no api_id", Kind: KindBadAnswer, err: ErrNoAPIID}
	}
	return out, nil
}

// NumberInfo is what GET /v1/Account/{auth_id}/Number/{number}/ answers,
// and each object of the number list, as far as plivo-bulk uses it.
// Application and SubAccount hold what the server sent: a resource URI, a
// plain id (the list sends sub_account so) or "" for JSON null or an empty
// string; AppID and SubaccountID give the plain id in every case. A null
// Alias is "" too.
type NumberInfo struct {
	Number                  string `json:"number"`
	Alias                   string `json:"alias"`
	Application             string `json:"application"`
	SubAccount              string `json:"sub_account"`
	ComplianceApplicationID string `json:"compliance_application_id"`
	ComplianceStatus        string `json:"compliance_status"`
	APIID                   string `json:"api_id"`
}

// AppID returns the plain application id: the last segment of the
// Application URI, or Application itself when it is a plain id; "" when
// there is none.
func (n NumberInfo) AppID() string { return lastSegment(n.Application) }

// SubaccountID returns the plain subaccount auth id: the last segment of the
// SubAccount URI, or SubAccount itself when it is a plain id; "" for the
// main account.
func (n NumberInfo) SubaccountID() string { return lastSegment(n.SubAccount) }

// lastSegment returns the last path segment of uri, trailing slashes
// ignored; a plain id has one segment, itself.
func lastSegment(uri string) string {
	uri = strings.TrimRight(uri, "/")
	if i := strings.LastIndexByte(uri, '/'); i >= 0 {
		return uri[i+1:]
	}
	return uri
}

// GetNumber reads the current settings of one number.
func (c *Client) GetNumber(ctx context.Context, number string) (NumberInfo, error) {
	var out NumberInfo
	req, err := c.newRequest(ctx, http.MethodGet, "Number/"+url.PathEscape(number)+"/", nil)
	if err != nil {
		return out, err
	}
	resp, err := c.do(req, &out)
	if err != nil {
		return out, err
	}
	// What is read may be sent back (the app kept for an alias-only row)
	// or written to an undo file: an answer that is not this number's
	// description must not pass for one with every field empty.
	if out.Number != number {
		return out, &APIError{StatusCode: resp.StatusCode, Message: fmt.Sprintf("answer is not the description of number %s", number), Kind: KindBadAnswer, err: ErrNotNumber}
	}
	return out, nil
}

// ErrNotNumber is returned when a read of a number answers 2xx with
// something that does not describe that number.
var ErrNotNumber = errors.New("answer does not describe the number")

// GetApplication checks that an application exists on the account.
func (c *Client) GetApplication(ctx context.Context, appID string) error {
	req, err := c.newRequest(ctx, http.MethodGet, "Application/"+url.PathEscape(appID)+"/", nil)
	if err != nil {
		return err
	}
	_, err = c.do(req, nil)
	return err
}

// GetSubaccount checks that a subaccount exists on the account.
func (c *Client) GetSubaccount(ctx context.Context, subAuthID string) error {
	req, err := c.newRequest(ctx, http.MethodGet, "Subaccount/"+url.PathEscape(subAuthID)+"/", nil)
	if err != nil {
		return err
	}
	_, err = c.do(req, nil)
	return err
}

// GetAccount reads the account itself: a cheap check of the credentials.
func (c *Client) GetAccount(ctx context.Context) error {
	req, err := c.newRequest(ctx, http.MethodGet, "", nil)
	if err != nil {
		return err
	}
	_, err = c.do(req, nil)
	return err
}

// newRequest builds a request for a path below /v1/Account/{auth_id}/.
func (c *Client) newRequest(ctx context.Context, method, path string, body []byte) (*http.Request, error) {
	full := c.accountURL + path
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, full, rd)
	if err != nil {
		return nil, fmt.Errorf("build %s request: %w", method, err)
	}
	req.Header.Set("Authorization", "Basic "+c.basicAuth) // as SetBasicAuth, encoded once in New
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// do sends req, turns a non-2xx answer into an *APIError, decodes a 2xx JSON
// body into v (when v is not nil), and always drains and closes the body so
// that the connection can be reused.
func (c *Client) do(req *http.Request, v any) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, transportError(req, err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		_ = resp.Body.Close()
	}()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp, &APIError{StatusCode: resp.StatusCode, Message: "reading the answer: " + cleanMessage(err.Error()), Kind: KindNetwork, err: err}
	}
	body = c.redact(body)
	if err := CheckResponse(resp, body); err != nil {
		return resp, c.redactError(err)
	}
	if v != nil {
		if err := json.Unmarshal(c.redactEscaped(body), v); err != nil {
			return resp, &APIError{StatusCode: resp.StatusCode, Message: "answer is not the expected JSON: " + snippet(body), Kind: KindBadAnswer, err: err}
		}
	}
	return resp, nil
}

// transportError classifies an error from http.Client.Do. The URL in
// *url.Error holds no credentials (they travel in a header), but the message
// is rebuilt anyway so that nothing unexpected leaks.
func transportError(req *http.Request, err error) error {
	ctxErr := req.Context().Err()
	kind := KindNetwork
	msg := "connection error"
	var ne net.Error
	switch {
	case ctxErr != nil:
		return &APIError{Message: "cancelled", Kind: KindCancelled, err: ctxErr}
	case errors.As(err, &ne) && ne.Timeout():
		kind = KindTimeout
		msg = "timed out"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		msg = "connection closed by the server without an answer"
	}
	var ue *url.Error
	inner := err
	if errors.As(err, &ue) {
		inner = ue.Err
	}
	return &APIError{Message: msg + ": " + cleanMessage(inner.Error()), Kind: kind, err: err}
}

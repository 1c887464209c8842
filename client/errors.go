package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is a stable class of failure, for reports, summaries and retry
// decisions. Plivo's error texts are free text, not codes; the kind is not.
type Kind string

// The kinds of failure.
const (
	KindHTTP4xx     Kind = "http_4xx"     // a client error other than those below
	KindAuth        Kind = "auth"         // 401: bad credentials
	KindForbidden   Kind = "forbidden"    // 403
	KindNotFound    Kind = "not_found"    // 404
	KindMethod      Kind = "method"       // 405: a bug in the tool
	KindRateLimited Kind = "rate_limited" // 429
	KindServer      Kind = "server"       // 5xx
	KindTimeout     Kind = "timeout"      // no answer in time
	KindNetwork     Kind = "network"      // connection refused, reset, closed
	KindBadAnswer   Kind = "bad_answer"   // a 2xx that is not the expected JSON
	KindCancelled   Kind = "cancelled"    // the caller's context ended
	KindRedirect    Kind = "redirect"     // 3xx: not followed, so credentials are never resent
)

// APIError is any failed call: a non-2xx answer, an answer that could not be
// understood, or no answer at all (StatusCode 0). It never holds the token.
type APIError struct {
	StatusCode int           // HTTP status; 0 when no answer came
	APIID      string        // Plivo's api_id, when the answer had one
	Message    string        // Plivo's error text, or what went wrong
	RetryAfter time.Duration // from a Retry-After header; 0 when absent
	Kind       Kind
	err        error
}

func (e *APIError) Error() string {
	if e.StatusCode == 0 {
		return e.Message
	}
	return fmt.Sprintf("HTTP %d: %s", e.StatusCode, e.Message)
}

// Unwrap returns the underlying cause, such as a net.Error or context error.
func (e *APIError) Unwrap() error { return e.err }

// Retryable reports whether another attempt may succeed: 429, 408, 5xx,
// timeouts, dropped connections and a 2xx without an api_id. An update sets
// values, so repeating one that may have been applied is safe.
func (e *APIError) Retryable() bool {
	switch e.Kind {
	case KindRateLimited, KindServer, KindTimeout, KindNetwork, KindBadAnswer:
		return true
	}
	return e.StatusCode == http.StatusRequestTimeout
}

// maxRetryAfter clamps a server's Retry-After to what a duration holds
// sensibly. Whether to wait that long is the caller's policy (the run stops
// when it is longer than --max-throttle-wait), so it must see the real
// figure, not one cut to fit.
const maxRetryAfter = 7 * 24 * time.Hour

// CheckResponse returns nil for a 2xx answer, else an *APIError built from
// the status, Plivo's JSON error body (or the raw text when it is not JSON)
// and any Retry-After header. body is the response body, already read.
func CheckResponse(resp *http.Response, body []byte) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := &APIError{StatusCode: resp.StatusCode, Kind: kindOf(resp.StatusCode)}
	var pe struct {
		APIID string `json:"api_id"`
		Error any    `json:"error"`
	}
	if json.Unmarshal(body, &pe) == nil && pe.Error != nil {
		e.APIID = cleanMessage(pe.APIID)
		switch v := pe.Error.(type) {
		case string:
			e.Message = cleanMessage(v)
		default: // Plivo sometimes answers {"error": {"field": ["..."]}}
			raw, _ := json.Marshal(v)
			e.Message = cleanMessage(string(raw))
		}
	} else if s := snippet(body); s != "" && e.Kind != KindRedirect {
		e.Message = s
	} else {
		e.Message = http.StatusText(resp.StatusCode)
	}
	if e.Kind == KindRedirect {
		e.Message += " to " + cleanMessage(resp.Header.Get("Location")) + " (not followed: the credentials would be sent again; check --api-url)"
	}
	e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return e
}

func kindOf(status int) Kind {
	switch {
	case status == http.StatusUnauthorized:
		return KindAuth
	case status == http.StatusForbidden:
		return KindForbidden
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusMethodNotAllowed:
		return KindMethod
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status >= 500:
		return KindServer
	case status >= 400:
		return KindHTTP4xx
	case status >= 300:
		return KindRedirect
	}
	return KindBadAnswer // 1xx: not what this API answers
}

// parseRetryAfter reads delay-seconds or an HTTP date, clamped to
// [0, maxRetryAfter]. Anything else is ignored.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs != secs || secs <= 0 { // NaN or not in the future
			return 0
		}
		if secs > maxRetryAfter.Seconds() {
			return maxRetryAfter
		}
		d = time.Duration(secs * float64(time.Second))
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// snippet returns a response body as one trimmed, bounded line of text, for
// answers that are not the JSON we expect (a proxy's HTML page, say).
func snippet(body []byte) string {
	const limit = 200
	if len(body) > 4*limit {
		body = body[:4*limit]
	}
	s := cleanMessage(string(body))
	if len(s) > limit {
		s = s[:limit]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return s
}

// cleanMessage makes server text safe for a one-line log or CSV cell:
// invalid UTF-8 and control characters become spaces, runs of space collapse.
func cleanMessage(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 || r == 0x7f {
			r = ' '
		}
		if r == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

// AsAPIError returns err as an *APIError, if it is one.
func AsAPIError(err error) (*APIError, bool) {
	var e *APIError
	ok := errors.As(err, &e)
	return e, ok
}

package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

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

// AsAPIError returns err as an *APIError, if it is one.
func AsAPIError(err error) (*APIError, bool) { return errors.AsType[*APIError](err) }

func answerError(status int, kind Kind, msg string, cause error) *APIError {
	return &APIError{StatusCode: status, Kind: kind, Message: fmt.Sprintf("HTTP %d: %s", status, msg), Err: cause}
}

// maxRetryAfter keeps a Retry-After in a duration; whether to wait is the retry policy's call.
const maxRetryAfter = 7 * 24 * time.Hour

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

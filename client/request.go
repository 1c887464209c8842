package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

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
func (c *Client) do(req *http.Request, v any) (resp *http.Response, err error) {
	var body []byte
	if c.trace != nil {
		defer func(start time.Time) { c.traced(req, start, resp, body, err) }(time.Now())
	}
	resp, err = c.http.Do(req)
	if err != nil {
		return nil, transportError(req, err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		_ = resp.Body.Close()
	}()
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp, &APIError{StatusCode: resp.StatusCode, Message: "reading the answer: " + cleanMessage(err.Error()), Kind: KindNetwork, err: err}
	}
	// Redacted once decoded too: the text shown of an answer that is not
	// the JSON expected is the body itself.
	body = c.redactEscaped(c.redact(body))
	if err := CheckResponse(resp, body); err != nil {
		return resp, c.redactError(err)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
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

// traced tells c.trace of a request: resp, the redacted body and err are
// what do got and returns. The path is redacted too: an input
// cell may hold the token by mistake, and a pre-flight read would send it.
func (c *Client) traced(req *http.Request, start time.Time, resp *http.Response, body []byte, err error) {
	x := Exchange{Method: req.Method, Path: string(c.redact([]byte(req.URL.RequestURI()))), Duration: time.Since(start)}
	if resp != nil {
		x.Status = resp.StatusCode
	}
	if e, ok := AsAPIError(err); ok {
		x.Kind, x.APIID = e.Kind, e.APIID
	} else {
		var a struct {
			APIID string `json:"api_id"`
		}
		_ = json.Unmarshal(body, &a)
		x.APIID = string(c.redact([]byte(cleanMessage(a.APIID))))
	}
	c.trace(req.Context(), x)
}

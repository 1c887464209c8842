package main

// The fixture's handler: it records every request as the client saw it, and
// injects the faults of an unreliable network and API that the sandbox,
// sized for rehearsals, does not; then the sandbox answers.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
)

// e2eFaults are fractions of the requests on number endpoints (a number's
// GET and POST, the number list) that the front answers itself, in this
// order: Drop closes the connection without an answer; Stall never
// answers, until the client gives up; Fail answers 500 in Plivo's JSON
// shape, or 502 or 503 as a proxy's HTML page, without applying anything;
// FailAfterApply lets the sandbox apply an update, then answers 500 (a read
// just fails); Garbage answers an HTML page with 200, a truncated JSON body,
// or a 202 without api_id. Seed fixes the faults met by the same requests
// in the same order (0 picks one).
type e2eFaults struct {
	Drop, Stall, Fail, FailAfterApply, Garbage float64
	Seed                                       uint64
}

// e2eRequest is what the front keeps of one request.
type e2eRequest struct {
	Time         time.Time
	Method, Path string
	Number       string             // of a number's read or update
	Body         string             // as sent
	Fields       map[string]*string // an update's values, nil for null; nil for a bad body
	Status       int                // 0 when not answered (the client or server gave up)
	APIID        string             // the answer's; none for a 401
	Fault        string             // the fault injected, if any
}

func (fr *e2eFixture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fr.mu.Lock()
	fr.received++
	fr.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	q := e2eRequest{Time: time.Now(), Method: r.Method, Path: r.URL.Path, Body: string(body)}
	_ = json.Unmarshal(body, &q.Fields)                        // a body that is not a JSON object leaves it nil
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/") // v1 Account {id} Number [{number}]
	numberEndpoint := len(parts) >= 4 && len(parts) <= 5 && parts[0] == "v1" && parts[1] == "Account" && parts[3] == "Number"
	if numberEndpoint && len(parts) == 5 {
		q.Number = parts[4]
	}
	cw := &e2eCapture{ResponseWriter: w}
	// Recorded even when the answer is aborted with a panic.
	defer func() {
		q.Status = cw.status
		if q.APIID == "" {
			var m struct {
				APIID string `json:"api_id"`
			}
			if json.Unmarshal(cw.body.Bytes(), &m) == nil {
				q.APIID = m.APIID
			}
		}
		fr.mu.Lock()
		fr.reqs = append(fr.reqs, q)
		fr.mu.Unlock()
	}()

	// The fault this request meets ("" for none), and a variant, 0 to 2.
	fault, f := "", fr.faults
	fr.mu.Lock()
	u, variant := fr.rng.Float64(), fr.rng.IntN(3)
	fr.mu.Unlock()
	for i, rate := range []float64{f.Drop, f.Stall, f.Fail, f.FailAfterApply, f.Garbage} {
		if u -= rate; numberEndpoint && u < 0 {
			fault = []string{"drop", "stall", "fail", "fail_after_apply", "garbage"}[i]
			break
		}
	}
	id := fmt.Sprintf("%08x-0000-4000-8000-%012x", mrand.Uint32(), mrand.Uint64()&0xffffffffffff)
	switch fault {
	case "":
		fr.srv.ServeHTTP(cw, r)
	case "drop":
		q.Fault = fault
		panic(http.ErrAbortHandler) // net/http closes the connection
	case "stall":
		q.Fault = fault
		<-r.Context().Done()
		panic(http.ErrAbortHandler)
	case "fail":
		q.Fault, q.APIID = fault, id
		if variant == 0 {
			e2eAnswer(cw, 500, "application/json", `{"api_id":"`+id+`","error":"internal server error"}`)
			return
		}
		status := []int{502, 503}[variant-1]
		e2eAnswer(cw, status, "text/html", fmt.Sprintf("<html><head><title>%[1]d %[2]s</title></head><body><center><h1>%[1]d %[2]s</h1></center><hr><center>nginx</center></body></html>\n", status, http.StatusText(status)))
	case "fail_after_apply":
		if r.Method == http.MethodPost {
			inner := httptest.NewRecorder()
			fr.srv.ServeHTTP(inner, r)
			var m struct {
				APIID string `json:"api_id"`
			}
			_ = json.Unmarshal(inner.Body.Bytes(), &m)
			if inner.Code != http.StatusAccepted { // not applied: its real answer
				e2eAnswer(cw, inner.Code, inner.Header().Get("Content-Type"), inner.Body.String())
				return
			}
			id = m.APIID
		}
		q.Fault, q.APIID = fault, id
		e2eAnswer(cw, 500, "application/json", `{"api_id":"`+id+`","error":"internal server error"}`)
	case "garbage":
		q.Fault, q.APIID = fault, id
		switch {
		case variant == 0:
			e2eAnswer(cw, 200, "text/html; charset=utf-8", "<!DOCTYPE html>\n<html><head><title>Welcome</title></head><body><h1>It works!</h1></body></html>\n")
		case variant == 1 && r.Method == http.MethodPost:
			e2eAnswer(cw, 202, "application/json", `{"message": "changed", "api_id": "`+id[:8])
		case variant == 1:
			e2eAnswer(cw, 200, "application/json", `{"api_id": "`+id+`", "alias": null, "application": "/v1/Acc`)
		default:
			e2eAnswer(cw, 202, "application/json", `{"message": "changed"}`)
		}
	}
}

// e2eCapture keeps the status and body a handler answers. Unwrap lets
// http.ResponseController reach the connection beneath.
type e2eCapture struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (c *e2eCapture) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *e2eCapture) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.WriteHeader(http.StatusOK)
	}
	c.body.Write(p)
	return c.ResponseWriter.Write(p)
}

func (c *e2eCapture) Unwrap() http.ResponseWriter { return c.ResponseWriter }

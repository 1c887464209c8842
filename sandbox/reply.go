package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

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

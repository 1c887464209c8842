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

// htmlProxyError is the page a proxy in front of the API answers a 502 or
// 503 with.
const htmlProxyError = `<html>
<head><title>%[1]d %[2]s</title></head>
<body>
<center><h1>%[1]d %[2]s</h1></center>
<hr><center>nginx</center>
</body>
</html>
`

// injectFailure answers 500 in Plivo's JSON shape, or 502 or 503 as an HTML
// page from a proxy, by variant.
func (x *exchange) injectFailure(variant int) {
	x.rec.Fault = "fail"
	status := [...]int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}[variant%3]
	if status == http.StatusInternalServerError {
		x.fail(status, "internal server error")
		return
	}
	page := fmt.Sprintf(htmlProxyError, status, http.StatusText(status))
	x.reply(status, "text/html", []byte(page))
}

package report

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// Origin is what a report or an undo file was written against: the account
// (its auth id) and the API host. A file says "this row is ok" or "this
// was the value before" only for its origin, so a run resumes or appends
// only into a file of its own origin.
type Origin struct {
	Account string // the auth id, such as MAXXXXXXXXXXXXXXXXXX
	API     string // scheme://host[:port], never credentials or a path
}

// NewOrigin returns the origin of a run as account against the API root
// apiURL. The API is reduced to its scheme and host, lower-cased, with a
// port only when it is not the scheme's default, so that
// "https://API.plivo.com:443/v1/" and "https://api.plivo.com" are one origin;
// credentials, path and query are left out.
func NewOrigin(account, apiURL string) (Origin, error) {
	u, err := url.Parse(apiURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return Origin{}, fmt.Errorf("origin: the API URL must be http:// or https:// and a host (got %q)", redactURL(apiURL))
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" || u.Scheme == "https" && port == "443" || u.Scheme == "http" && port == "80" {
		port = ""
	}
	if strings.Contains(host, ":") { // an IPv6 address
		host = "[" + host + "]"
	}
	if port != "" {
		host = net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
	o := Origin{Account: account, API: strings.ToLower(u.Scheme) + "://" + host}
	return o, o.validate()
}

// redactURL drops whatever could be a secret from a URL for a message.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		u.User = nil
		u.RawQuery = ""
		return u.String()
	}
	return "(unparsable)"
}

// String says "account MA… at https://api.plivo.com".
func (o Origin) String() string { return "account " + o.Account + " at " + o.API }

// validate checks that the origin can be written on, and read back from,
// the origin line: no space, comma, quote or control character, which would
// also make it more than one cell in a spreadsheet.
func (o Origin) validate() error {
	for _, f := range []struct{ name, v string }{{"account", o.Account}, {"API", o.API}} {
		if f.v == "" {
			return fmt.Errorf("origin: the %s is empty: a report must record which account and API it was written against", f.name)
		}
		for i := 0; i < len(f.v); i++ {
			if c := f.v[i]; c <= ' ' || c >= 0x7f || c == ',' || c == '"' || c == '\'' || c == '=' && f.name == "account" {
				return fmt.Errorf("origin: the %s %q has a character a report cannot record", f.name, f.v)
			}
		}
	}
	return nil
}

// escapedCells, on an origin line, says that the file's target cells are
// escaped (batch.EscapeCell), hence exact: a report without it was written
// by an older version, whose targets resume cannot trust to be exact.
const escapedCells = "cells=escaped"

// line returns the origin line of a file of the given tag, newline included:
// "# plivo-bulk report: account=MA… api=https://api.plivo.com cells=escaped\n".
func (o Origin) line(tag string) string {
	return batch.OriginLinePrefix + tag + ": account=" + o.Account + " api=" + o.API + " " + escapedCells + "\n"
}

// parseOriginLine reads the origin from an origin line of the given tag,
// without its line end. Fields it does not know are left for later versions.
func parseOriginLine(line, tag string) (Origin, error) {
	rest, ok := strings.CutPrefix(line, batch.OriginLinePrefix+tag+":")
	if !ok {
		return Origin{}, errors.New("not a plivo-bulk " + tag + " origin line")
	}
	var o Origin
	for _, f := range strings.Fields(rest) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "account":
			o.Account = v
		case "api":
			o.API = v
		}
	}
	if err := o.validate(); err != nil {
		return Origin{}, err
	}
	return o, nil
}

// CheckUndoInput returns an *OriginError unless line, the origin line of
// an undo file given as the input called name, records run's origin.
func CheckUndoInput(name, line string, run Origin) error {
	if o, err := parseOriginLine(line, undoKind.tag); err != nil || o != run {
		return &OriginError{Path: name, What: undoKind.what, Flag: "--input", Have: o, Want: run}
	}
	return nil
}

// ErrOtherOrigin is matched (errors.Is) by the error of opening, to resume
// or append, a file written against another account or API host.
var ErrOtherOrigin = errors.New("written against another account or API")

// ErrNoOrigin is matched by the error of opening, to resume or append, a file
// that does not record its origin (one written by an older plivo-bulk): what
// it says cannot be trusted for any account.
var ErrNoOrigin = errors.New("no record of the account and API it was written against")

// OriginError is the error of opening a file of another origin, or of none.
type OriginError struct {
	Path string
	What string // "report", "undo file"
	Flag string // the flag to name another file: "--report", "--undo"
	Have Origin // what the file records; zero when it records nothing
	Want Origin // the run's
}

func (e *OriginError) Error() string {
	hint := "use another " + e.Flag + ", or --force to start over"
	switch {
	case e.Flag == "--input":
		hint = "it restores the numbers of its own account: run it there, or add --allow-other-origin to send its values to " + e.Want.String() + " anyway"
	case e.What == undoKind.what:
		hint = "use another " + e.Flag + " (an undo file is never emptied, not even with --force)"
	}
	if e.Have == (Origin{}) {
		return fmt.Sprintf("%s: this %s was written by an older plivo-bulk and does not record which account and API it was written against, so it cannot be trusted for %s: %s", e.Path, e.What, e.Want, hint)
	}
	return fmt.Sprintf("%s was written against %s, not %s: %s", e.Path, e.Have, e.Want, hint)
}

// Unwrap makes the error match ErrOtherOrigin or ErrNoOrigin.
func (e *OriginError) Unwrap() error {
	if e.Have == (Origin{}) {
		return ErrNoOrigin
	}
	return ErrOtherOrigin
}

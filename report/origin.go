package report

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Origin is the account and API host a report or undo file was written against, on every row so
// that a copied, concatenated or loaded file keeps it.
type Origin struct {
	Account string // the auth id, such as MAXXXXXXXXXXXXXXXXXX
	API     string // scheme://host[:port], never credentials or a path
}

// OriginColumns end the header of the report and of the undo file.
var OriginColumns = []string{"account", "api"}

// NewOrigin reduces apiURL to scheme and lower-cased host, a port only when not the default:
// "https://API.plivo.com:443/v1/" and "https://api.plivo.com" are one origin.
func NewOrigin(account, apiURL string) (Origin, error) {
	u, err := url.Parse(apiURL)
	switch {
	case err != nil:
		return Origin{}, errors.New("origin: the API URL cannot be parsed") // its text may hold a password
	case u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		u.User, u.RawQuery = nil, ""
		return Origin{}, fmt.Errorf("origin: the API URL must be http:// or https:// and a host (got %q)", u.String())
	case account == "":
		return Origin{}, errors.New("origin: the account is empty: a report must record which account it was written against")
	}
	host := strings.TrimSuffix(strings.TrimRight(strings.ToLower(u.Host), ":"), map[string]string{"http": ":80", "https": ":443"}[u.Scheme])
	return Origin{Account: account, API: u.Scheme + "://" + host}, nil
}

// String says "account MA… at https://api.plivo.com".
func (o Origin) String() string { return "account " + o.Account + " at " + o.API }

// LegacyPrefix starts older versions' first line, before the header:
// "# plivo-bulk undo: account=MA... api=https://api.plivo.com cells=escaped".
const LegacyPrefix = "# plivo-bulk "

// parseLegacyLine reads such a line: its origin (zero if none) and whether its cells are exact.
func parseLegacyLine(line, tag string) (o Origin, exact, ok bool) {
	rest, ok := strings.CutPrefix(line, LegacyPrefix+tag+":")
	kv := map[string]string{}
	for _, f := range strings.Fields(rest) {
		k, v, _ := strings.Cut(f, "=")
		kv[k] = v
	}
	if kv["account"] != "" && kv["api"] != "" {
		o = Origin{kv["account"], kv["api"]}
	}
	return o, kv["cells"] == "escaped", ok
}

// UndoLineOrigin returns the origin an older undo file's first line records.
func UndoLineOrigin(line string) (Origin, bool) {
	o, _, ok := parseLegacyLine(line, undoKind.tag)
	return o, ok
}

// CheckUndoInput refuses an undo file given as the input (name) unless every origin it records
// (have) is the run's.
func CheckUndoInput(name string, have []Origin, run Origin) error {
	for _, o := range have {
		if o != run {
			return originError(name, undoKind.what, "it restores the numbers of its own account: run it there, or add --allow-other-origin to send its values to "+run.String()+" anyway", o, run)
		}
	}
	return nil
}

// originError is the error of using the report or undo file (what) at path, written against have
// (zero: it does not say), on a run against want; hint says what to do.
func originError(path, what, hint string, have, want Origin) error {
	if have == (Origin{}) {
		return fmt.Errorf("%s: this %s does not record which account and API it was written against, so it cannot be trusted for %s: %s", path, what, want, hint)
	}
	return fmt.Errorf("%s was written against %s, not %s: %s", path, have, want, hint)
}

package sandbox

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// PlivoLimit is the rate limit Plivo documents: "300 API requests per 5
// seconds" per account.
var PlivoLimit = Rate{Limit: 300, Window: 5 * time.Second}

// Config sets the sandbox's account, rate limit, fail rate and latency.
// The zero value is a fault-free, unlimited sandbox with generated
// credentials.
type Config struct {
	// AuthID and AuthToken are the account's credentials. New generates
	// them when empty: AuthID as "MA" and 18 upper-case letters or digits,
	// AuthToken as 52 random ones. An AuthID that starts with "SA" makes
	// the account a subaccount, which may not move numbers.
	AuthID, AuthToken string

	// RateLimit is the number of requests the account may make per
	// RateWindow (0 means one second), counted in a token bucket (see the
	// package documentation); PlivoLimit is Plivo's. 0 means unlimited.
	RateLimit  float64
	RateWindow time.Duration

	// Latency delays every request on a number endpoint before the server
	// looks at it.
	Latency time.Duration

	// FailRate is the fraction of the requests on number endpoints answered
	// 500, 502 or 503 without applying anything.
	FailRate float64

	// DefaultAppOnMissing makes an update whose body has no app_id key
	// assign DefaultApp, following Plivo's documentation: "If not specified,
	// the application selected as the default_number_app of the account is
	// assigned." DefaultApp "" means no default: the app is unassigned.
	DefaultAppOnMissing bool
	// DefaultApp is the account's default_number_app. New registers it as
	// an application when it is not empty.
	DefaultApp string
}

// Validate reports whether c makes sense: the fail rate is a fraction, the
// rate limit and latency are not negative, and the credentials, when set,
// can be sent with HTTP Basic auth.
func (c Config) Validate() error {
	var errs []error
	if math.IsNaN(c.FailRate) || c.FailRate < 0 || c.FailRate > 1 {
		errs = append(errs, fmt.Errorf("fail rate %v: want a fraction from 0 to 1", c.FailRate))
	}
	if r := (Rate{c.RateLimit, c.RateWindow}); math.IsNaN(r.Limit) || math.IsInf(r.Limit, 0) || r.Limit < 0 || r.Window < 0 {
		errs = append(errs, fmt.Errorf("rate limit %v: want 0 (unlimited) or more", r))
	}
	if c.Latency < 0 {
		errs = append(errs, fmt.Errorf("latency %v: want 0 or more", c.Latency))
	}
	if c.AuthID != "" && !validToken(c.AuthID, false) {
		errs = append(errs, errors.New("auth id: want printable characters without ':', '/' or spaces"))
	}
	if c.AuthToken != "" && !validToken(c.AuthToken, true) {
		// The token itself stays out of the message.
		errs = append(errs, errors.New("auth token: want printable characters without spaces"))
	}
	if c.DefaultApp != "" && !ValidAppID(c.DefaultApp) {
		errs = append(errs, fmt.Errorf("default app %q: want letters, digits, '.', '_' or '-'", c.DefaultApp))
	}
	return errors.Join(errs...)
}

// validToken reports whether s is printable ASCII without spaces; colons and
// slashes are allowed only in a password.
func validToken(s string, password bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f {
			return false
		}
		if !password && (c == ':' || c == '/') {
			return false
		}
	}
	return true
}

// ValidSubaccountID reports whether id looks like a Plivo subaccount auth_id:
// "SA" and 18 upper-case letters or digits.
func ValidSubaccountID(id string) bool {
	return len(id) == 20 && strings.HasPrefix(id, "SA") && upperAlnum(id[2:])
}

func upperAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// ValidAppID reports whether id can name an application in the sandbox's
// URIs: 1 to 64 letters, digits, '.', '_' or '-'. Plivo's are digit strings
// such as "20372631212782780".
func ValidAppID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

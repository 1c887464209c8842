package sandbox

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Config sets the sandbox's account, rate limit and faults. The zero value
// is a fault-free, unlimited sandbox with generated credentials.
type Config struct {
	// AuthID and AuthToken are the account's credentials. New generates
	// them when empty: AuthID as "MA" and 18 upper-case letters or digits,
	// AuthToken as 40 random letters and digits. An AuthID that starts with
	// "SA" makes the account a subaccount, which may not move numbers.
	AuthID, AuthToken string

	// RateLimit is the number of requests the account may make per
	// RateWindow; 0 means unlimited. Every authenticated request counts.
	RateLimit float64
	// RateWindow is the rate limit's window; 0 means one second. Plivo
	// documents 300 requests per 5 seconds.
	RateWindow time.Duration
	// Limiter is the rate limiter's shape; "" is LimiterBucket. The
	// windowed shapes (fixed, sliding) need a whole RateLimit.
	Limiter Limiter
	// LimitDips move the rate limit during the run, standing in for other
	// traffic on the account; they are timed from the first request. They
	// must not overlap.
	LimitDips []LimitDip
	// NoRetryAfter leaves the Retry-After header off 429 answers, as Plivo
	// documents none. When it is sent, Retry-After is the limiter's own
	// reckoning: whole seconds, rounded up, until a request would pass if
	// no other came first.
	NoRetryAfter bool

	// Now is the sandbox's clock, for the rate limit and the times it
	// records; nil means time.Now. Tests set a fake one.
	Now func() time.Time

	// Latency delays every request on a number endpoint before the server
	// looks at it.
	Latency time.Duration

	// The fault rates are fractions of the requests on number endpoints:
	// FailRate answers 500, 502 or 503 without applying anything;
	// FailAfterApplyRate applies a valid update and then answers 500;
	// DropRate closes the connection without an answer; StallRate never
	// answers, until the client gives up; GarbageRate answers an HTML page,
	// a truncated JSON body or a 202 without api_id. Their sum must not
	// exceed 1 (see Validate).
	FailRate, FailAfterApplyRate, DropRate, StallRate, GarbageRate float64

	// DefaultAppOnMissing makes an update whose body has no app_id key
	// assign DefaultApp, following Plivo's documentation: "If not specified,
	// the application selected as the default_number_app of the account is
	// assigned." DefaultApp "" means no default: the app is unassigned.
	DefaultAppOnMissing bool
	// DefaultApp is the account's default_number_app. New registers it as
	// an application when it is not empty.
	DefaultApp string

	// Seed seeds the fault draws, so that a run with the same requests in
	// the same order meets the same faults. New picks a random seed when it
	// is 0; Server.Config reports it.
	Seed uint64
}

// Validate reports whether c makes sense: rates are fractions that add up to
// at most 1, the rate limit and latency are not negative, and the
// credentials, when set, can be sent with HTTP Basic auth.
func (c Config) Validate() error {
	var errs []error
	rates := []struct {
		name string
		v    float64
	}{
		{"fail rate", c.FailRate},
		{"fail-after-apply rate", c.FailAfterApplyRate},
		{"drop rate", c.DropRate},
		{"stall rate", c.StallRate},
		{"garbage rate", c.GarbageRate},
	}
	sum := 0.0
	for _, r := range rates {
		if math.IsNaN(r.v) || r.v < 0 || r.v > 1 {
			errs = append(errs, fmt.Errorf("%s %v: want a fraction from 0 to 1", r.name, r.v))
			continue
		}
		sum += r.v
	}
	if sum > 1+1e-9 {
		errs = append(errs, fmt.Errorf("fault rates add up to %v: want at most 1", sum))
	}
	if math.IsNaN(c.RateLimit) || math.IsInf(c.RateLimit, 0) || c.RateLimit < 0 {
		errs = append(errs, fmt.Errorf("rate limit %v: want 0 (unlimited) or more", c.RateLimit))
	}
	if c.RateWindow < 0 || c.RateWindow > 0 && c.RateWindow < time.Millisecond || c.RateWindow > maxWindow {
		errs = append(errs, fmt.Errorf("rate window %v: want 1ms to %v (0 for one second)", c.RateWindow, maxWindow))
	}
	if c.Limiter != "" {
		var l Limiter
		if err := l.Set(string(c.Limiter)); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Limiter.windowed() && c.RateLimit != math.Trunc(c.RateLimit) {
		errs = append(errs, fmt.Errorf("rate limit %v with the %s limiter: want a whole number of requests per window (say 1/4s rather than 0.25)", c.RateLimit, c.Limiter))
	}
	for _, d := range c.LimitDips {
		if d.After < 0 || d.For <= 0 || math.IsNaN(d.Factor) || d.Factor < 0 || d.Factor > maxDipFactor {
			errs = append(errs, fmt.Errorf("limit dip %v: want AFTER 0 or more, FOR above 0, FACTOR 0 to %d", d, maxDipFactor))
		}
	}
	if err := checkDips(c.LimitDips); err != nil {
		errs = append(errs, err)
	}
	if len(c.LimitDips) > 0 && c.RateLimit == 0 {
		errs = append(errs, errNoLimit)
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

// ValidMainAccountID reports whether id looks like a Plivo main account
// auth_id: "MA" and 18 upper-case letters or digits.
func ValidMainAccountID(id string) bool {
	return len(id) == 20 && strings.HasPrefix(id, "MA") && upperAlnum(id[2:])
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

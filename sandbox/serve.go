package sandbox

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rate is a rate limit: Limit requests per Window (0 means one second); a
// zero Limit is none. As a flag.Value it reads "N", "N/s", "N/5s",
// "N/500ms" or "N/m", N a number, 0 for none.
type Rate struct {
	Limit  float64
	Window time.Duration
}

func (r *Rate) Set(s string) error {
	num, win, slash := strings.Cut(strings.TrimSpace(s), "/")
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || !(n >= 0) || math.IsInf(n, 0) {
		return fmt.Errorf("rate limit %q: want N, N/s or N/5s (N requests per window, N a number 0 or more; 0 is unlimited)", s)
	}
	d := time.Second
	if slash {
		if win = strings.TrimSpace(win); win != "" && !strings.ContainsAny(win[:1], "0123456789.") {
			win = "1" + win // "s" is "1s"
		}
		if d, err = time.ParseDuration(win); err != nil || d < time.Millisecond || d > 24*time.Hour {
			return fmt.Errorf("rate limit %q: window %q: want a duration from 1ms to 24h, such as s, 5s, 500ms or 1m", s, win)
		}
	}
	*r = Rate{n, d}
	return nil
}

// String formats r as Set reads it: "0", "60/1s", "300/5s".
func (r Rate) String() string {
	if r.Limit == 0 {
		return "0"
	}
	return strconv.FormatFloat(r.Limit, 'f', -1, 64) + "/" + cmp.Or(r.Window, time.Second).String()
}

// CheckListenAddr reports whether addr, a host:port, is on loopback: the
// sandbox answers anyone who knows its credentials, which it may print.
func CheckListenAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); strings.EqualFold(host, "localhost") || ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("listen address %q: want a loopback address (127.0.0.1, ::1 or localhost)", addr)
}

// Start serves h, a Server or a handler in front of one, on addr, which
// must pass CheckListenAddr ("127.0.0.1:0" picks a free port). It returns
// the base URL ("http://127.0.0.1:8089") and stop, which ends delayed
// requests without an answer, waits for the others until ctx is done and
// returns any error the server met; stop may be called more than once.
func Start(h http.Handler, addr string) (baseURL string, stop func(context.Context) error, err error) {
	if err := CheckListenAddr(addr); err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	// Cancelling base releases the handlers waiting out a latency, which
	// Shutdown alone would wait for.
	base, cancel := context.WithCancel(context.Background())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return base }}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var once sync.Once
	var stopErr error
	stop = func(ctx context.Context) error {
		once.Do(func() {
			cancel()
			if stopErr = srv.Shutdown(ctx); stopErr != nil {
				_ = srv.Close() // ctx ran out: cut the connections left
			}
			if err := <-served; !errors.Is(err, http.ErrServerClosed) {
				stopErr = errors.Join(stopErr, err)
			}
		})
		return stopErr
	}
	return "http://" + ln.Addr().String(), stop, nil
}

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// CheckListenAddr reports whether addr, a host:port, is on the loopback
// interface: "localhost", an address in 127.0.0.0/8, or ::1. The sandbox
// accepts any request that knows its credentials, which it may print, so it
// must not be reachable from other machines.
func CheckListenAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("listen address %q: want a loopback address (127.0.0.1, ::1 or localhost)", addr)
}

// Start listens on addr, which must pass CheckListenAddr ("127.0.0.1:0"
// picks a free port), and serves h, a Server or a handler in front of one,
// in the background. It returns the base URL, "http://" and the address
// bound, e.g. "http://127.0.0.1:8089", and a function that stops the
// server: it ends delayed requests without an answer, waits for the others
// to finish until ctx is done, and returns any error the server met.
// Calling stop more than once is safe.
func Start(h http.Handler, addr string) (baseURL string, stop func(context.Context) error, err error) {
	if err := CheckListenAddr(addr); err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	// Request contexts derive from base, so cancelling it releases the
	// handlers that wait on them (latency), which Shutdown alone
	// would wait for.
	base, cancel := context.WithCancel(context.Background())
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	var (
		once    sync.Once
		stopErr error
	)
	stop = func(ctx context.Context) error {
		once.Do(func() {
			cancel()
			err := srv.Shutdown(ctx)
			if err != nil {
				_ = srv.Close() // ctx ran out: cut the connections left
			}
			if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
				err = errors.Join(err, fmt.Errorf("serve: %w", serr))
			}
			stopErr = err
		})
		return stopErr
	}
	return "http://" + ln.Addr().String(), stop, nil
}

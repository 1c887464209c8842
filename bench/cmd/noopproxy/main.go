// Command noopproxy stands in front of a sandbox and answers a share of the
// number updates 202 {"message":"changed"} without passing them on: Plivo's
// "changed" that changed nothing, which only --verify catches. Every other
// request is passed on as it is.
//
// It prints `export PLIVO_API_URL=...` (its own URL) on standard output and
// serves until SIGINT or SIGTERM, then prints how many updates it dropped.
//
// Usage: noopproxy -target URL [-drop 0.05] [-seed 1] [-listen 127.0.0.1:0]
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"sync"
	"sync/atomic"
	"syscall"
)

var update = regexp.MustCompile(`^/v1/Account/[^/]+/Number/[0-9]+/$`)

func main() {
	target := flag.String("target", "", "the sandbox's `URL`")
	drop := flag.Float64("drop", 0.05, "the `FRACTION` of updates answered changed and not applied")
	seed := flag.Uint64("seed", 1, "random `SEED`")
	listen := flag.String("listen", "127.0.0.1:0", "serve on `HOST:PORT` (loopback)")
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil || *target == "" {
		fmt.Fprintln(os.Stderr, "noopproxy: -target URL is required")
		os.Exit(2)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(*seed, 0))
	var dropped, updates atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && update.MatchString(r.URL.Path) {
			updates.Add(1)
			mu.Lock()
			skip := rng.Float64() < *drop
			mu.Unlock()
			if skip {
				n := dropped.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusAccepted)
				fmt.Fprintf(w, `{"message":"changed","api_id":"noop-%08d-0000-0000-0000-000000000000"}`, n)
				return
			}
		}
		proxy.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "noopproxy:", err)
		os.Exit(1)
	}
	fmt.Printf("export PLIVO_API_URL=http://%s\n", ln.Addr())
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	_ = srv.Shutdown(context.Background())
	fmt.Printf("updates %d dropped %d\n", updates.Load(), dropped.Load())
}

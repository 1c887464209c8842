// Command fastserver is the benchmark suite's stand-in for Plivo: a server on
// loopback that answers at once, so that what a benchmark measures is the
// client. Below /v1/Account/, it answers every POST 202
// {"message":"changed","api_id":"..."}, a GET of a number with a number that
// has nothing assigned, and every other GET (the account, which plivo-bulk
// reads to check the credentials; applications and subaccounts, which it
// checks before a run) 200 {}. A request without an Authorization header is
// 401; anything else is 404.
//
// It prints its URL on the first line of standard output. With -record N it
// keeps the arrival times of the first N POSTs, and GET /stats reports them
// as text: the count, the achieved rate between the first and the last, the
// busiest one-second window (sliding) and the count of every second; it
// prints the same on standard output when it exits. POST /reset forgets
// them, so that one server serves several runs. It exits on SIGINT or
// SIGTERM, or by itself after -max-life.
//
// Usage: fastserver [-listen 127.0.0.1:0] [-record N] [-max-life 20m]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fastserver:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("fastserver", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "`address` to listen on (loopback only)")
	record := fs.Int("record", 0, "keep the arrival times of up to `n` POSTs for /stats")
	maxLife := fs.Duration("max-life", 20*time.Minute, "exit by itself after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-listen %s: loopback addresses only", *listen)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	s := &server{rec: newRecorder(*record)}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("http://%s\n", ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *maxLife)
	defer cancel()
	go func() {
		<-ctx.Done()
		sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintf(os.Stderr, "fastserver: %d POSTs answered\n", s.posts.Load())
	if *record > 0 {
		fmt.Print(s.rec.stats(s.posts.Load()))
	}
	return nil
}

type server struct {
	posts atomic.Int64
	rec   *recorder
}

const (
	accountPrefix = "/v1/Account/"
	changedHead   = `{"message":"changed","api_id":"bench-`
	changedTail   = `"}`
)

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/reset":
		s.rec.reset()
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodGet && r.URL.Path == "/stats":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, s.rec.stats(s.posts.Load()))
	case !strings.HasPrefix(r.URL.Path, accountPrefix):
		http.NotFound(w, r)
	case r.Header.Get("Authorization") == "":
		w.WriteHeader(http.StatusUnauthorized)
	case r.Method == http.MethodPost:
		at := time.Now()
		n := s.posts.Add(1)
		s.rec.add(at)
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<10))
		var buf [64]byte
		b := append(buf[:0], changedHead...)
		b = strconv.AppendInt(b, n, 10)
		b = append(b, changedTail...)
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{strconv.Itoa(len(b))}
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write(b)
	case r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/Number/"):
		// A read of a number (plivo-bulk makes one only with --undo,
		// --skip-unchanged, --verify or for a row without app_id): one
		// with nothing assigned.
		number := strings.Trim(r.URL.Path[strings.Index(r.URL.Path, "/Number/")+len("/Number/"):], "/")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"number":"`+number+`","alias":null,"application":null,"sub_account":null,`+
			`"compliance_application_id":null,"compliance_status":"accepted","api_id":"bench-get"}`)
	case r.Method == http.MethodGet:
		// The account (the credentials check), and the applications and
		// subaccounts that plivo-bulk checks before a run: all exist.
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}")
	default:
		http.NotFound(w, r)
	}
}

// recorder keeps arrival times, up to its capacity.
type recorder struct {
	mu    sync.Mutex
	times []int64 // UnixNano
}

func newRecorder(n int) *recorder { return &recorder{times: make([]int64, 0, max(n, 0))} }

func (r *recorder) add(t time.Time) {
	if cap(r.times) == 0 {
		return
	}
	r.mu.Lock()
	if len(r.times) < cap(r.times) {
		r.times = append(r.times, t.UnixNano())
	}
	r.mu.Unlock()
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.times = r.times[:0]
	r.mu.Unlock()
}

// stats describes the recorded arrivals, one "key value" per line.
func (r *recorder) stats(posts int64) string {
	r.mu.Lock()
	ts := slices.Clone(r.times)
	r.mu.Unlock()
	slices.Sort(ts)
	var b strings.Builder
	fmt.Fprintf(&b, "posts %d\nrecorded %d\n", posts, len(ts))
	if len(ts) < 2 {
		return b.String()
	}
	span := time.Duration(ts[len(ts)-1] - ts[0])
	fmt.Fprintf(&b, "span_s %.3f\n", span.Seconds())
	fmt.Fprintf(&b, "rate %.3f\n", float64(len(ts)-1)/span.Seconds())
	// The busiest window [t, t+1s) that starts at an arrival: that is
	// where the most arrivals of any one-second window can be.
	worst, at, j := 0, int64(0), 0
	for i := range ts {
		for j < len(ts) && ts[j] < ts[i]+int64(time.Second) {
			j++
		}
		if j-i > worst {
			worst, at = j-i, ts[i]
		}
	}
	fmt.Fprintf(&b, "worst_window %d\nworst_window_at_s %.3f\n", worst, time.Duration(at-ts[0]).Seconds())
	b.WriteString("per_second")
	sec, count := 0, 0
	for _, t := range ts {
		for time.Duration(t-ts[0]) >= time.Duration(sec+1)*time.Second {
			fmt.Fprintf(&b, " %d", count)
			sec, count = sec+1, 0
		}
		count++
	}
	fmt.Fprintf(&b, " %d\n", count)
	return b.String()
}

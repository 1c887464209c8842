// Command shapeserver is the sandbox behind a rate limiter of a chosen
// shape, for bench/throttle.sh. Plivo documents its limit but not the
// limiter's shape, so the adaptive rate is measured against each: a token
// bucket, fixed windows aligned on the clock, a sliding window, and limits
// that dip for a while, standing in for other traffic on the account. The
// product's sandbox keeps one shape (a bucket of 300 per 5 s); the others
// live here because only the benchmark needs them.
//
// It serves on loopback, prints the line `export PLIVO_API_URL=...` that
// points plivo-bulk at it (as `plivo-bulk sandbox` does, and never a token
// taken from PLIVO_AUTH_TOKEN), and serves until SIGINT or SIGTERM.
//
// Usage: shapeserver [--listen 127.0.0.1:0] [--numbers FILE] [--apps IDS]
// [--rate-limit N/W] [--limiter bucket|fixed|sliding]
// [--limit-dip AFTER:FOR:FACTOR]... [--no-retry-after]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "shapeserver:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("shapeserver", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "serve on `host:port`, a loopback address")
	numbers := fs.String("numbers", "", "load the account's numbers from CSV `file`")
	apps := fs.String("apps", "", "create the applications with these `ids` (comma-separated)")
	var rate sandbox.Rate
	fs.Var(&rate, "rate-limit", "`N[/window]` requests (0 is unlimited)")
	var shape Limiter
	fs.Var(&shape, "limiter", "the limiter's `shape`: bucket, fixed or sliding")
	var dips LimitDips
	fs.Var(&dips, "limit-dip", "`AFTER:FOR:FACTOR`: from AFTER past the first request, multiply the limit by FACTOR for FOR; repeatable")
	noRetryAfter := fs.Bool("no-retry-after", false, "send no Retry-After header with 429, like Plivo")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkDips(dips); err != nil {
		return err
	}
	if (shape == LimiterFixed || shape == LimiterSliding) && rate.Limit != float64(int(rate.Limit)) {
		return fmt.Errorf("--limiter %s needs a whole number of requests per window", shape)
	}

	tokenFromEnv := os.Getenv("PLIVO_AUTH_TOKEN") != ""
	s := sandbox.New(sandbox.Config{AuthID: os.Getenv("PLIVO_AUTH_ID"), AuthToken: os.Getenv("PLIVO_AUTH_TOKEN")})
	for _, id := range strings.Split(*apps, ",") {
		if id != "" {
			s.AddApplication(id, "App "+id)
		}
	}
	if *numbers != "" {
		f, err := os.Open(*numbers)
		if err != nil {
			return err
		}
		ns, err := sandbox.LoadNumbers(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *numbers, err)
		}
		s.AddNumber(ns...)
	}

	lim := newLimiter(shape, rate.Limit, rate.Window, dips)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if lim != nil {
			if ok, wait := lim.take(time.Now()); !ok {
				if !*noRetryAfter {
					w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				fmt.Fprintf(w, `{"api_id":"%016x","error":"too many requests"}`, mrand.Uint64())
				return
			}
		}
		s.ServeHTTP(w, r)
	})
	url, stop, err := sandbox.Start(h, *listen)
	if err != nil {
		return err
	}
	cfg := s.Config()
	line := "export PLIVO_API_URL=" + url + " PLIVO_AUTH_ID=" + cfg.AuthID
	if !tokenFromEnv {
		line += " PLIVO_AUTH_TOKEN=" + cfg.AuthToken
	}
	fmt.Printf("shapeserver: %s limit %v, Retry-After %v\n%s\n", shape, rate, !*noRetryAfter, line)

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	<-ctx.Done()
	stopCtx, cancelStop := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelStop()
	if err := stop(stopCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

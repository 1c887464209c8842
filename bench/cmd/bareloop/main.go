// Command bareloop is the baseline of the overhead benchmark: the least a Go
// program can do to send plivo-bulk's requests. It sends n POSTs to
// {url}/v1/Account/{auth_id}/Number/{number}/ with Basic auth, the headers
// plivo-bulk sends (Content-Type, Accept, a User-Agent) and the same JSON
// body plivo-bulk sends for a row with an app_id, from c goroutines
// sharing one http.Transport that keeps c connections open, reads each
// answer to the end and checks it is 202. The numbers are those of the
// suite's input file: 1202 followed by the row index in 7 digits.
//
// It prints one line: requests, errors, seconds and requests per second.
//
// Usage: bareloop -url URL -n N -c C [-auth-id ID] [-token T] [-app-id APP]
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bareloop:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("bareloop", flag.ContinueOnError)
	base := fs.String("url", "", "server root `URL`")
	n := fs.Int("n", 10000, "requests to send")
	c := fs.Int("c", 8, "requests in flight")
	authID := fs.String("auth-id", "MABENCHMARKBENCHMARK", "account auth id")
	token := fs.String("token", "bench-token", "auth token")
	appID := fs.String("app-id", "20372631212782780", "app_id sent in every body")
	timeout := fs.Duration("timeout", 30*time.Second, "time limit of one request")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *base == "" || *n < 1 || *c < 1 {
		return errors.New("-url, -n >= 1 and -c >= 1 are required")
	}
	body, err := json.Marshal(map[string]string{"app_id": *appID})
	if err != nil {
		return err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = *c, *c
	hc := &http.Client{Transport: tr, Timeout: *timeout}
	prefix := *base + "/v1/Account/" + *authID + "/Number/"

	var next, failed atomic.Int64
	var firstErr error
	var errOnce sync.Once
	start := time.Now()
	var wg sync.WaitGroup
	for range *c {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(*n) {
					return
				}
				if err := post(hc, prefix+"1202"+pad7(i)+"/", body, *authID, *token); err != nil {
					failed.Add(1)
					errOnce.Do(func() { firstErr = err })
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	fmt.Printf("bareloop: %d requests, %d errors, %.3f s, %.1f requests/s\n",
		*n, failed.Load(), elapsed.Seconds(), float64(*n)/elapsed.Seconds())
	if firstErr != nil {
		return fmt.Errorf("first error: %w", firstErr)
	}
	return nil
}

func post(hc *http.Client, url string, body []byte, user, pass string) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(user, pass)
	req.Header.Set("User-Agent", "plivo-bulk/bench")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	return nil
}

func pad7(i int64) string {
	s := strconv.FormatInt(i, 10)
	for len(s) < 7 {
		s = "0" + s
	}
	return s
}

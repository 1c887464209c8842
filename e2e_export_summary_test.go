package main

// End-to-end tests of the export's --summary file: it says why the export
// stopped.

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// TestE2E_Export_summarySaysStoppedBy: an export interrupted while the
// API throttles it writes a --summary whose stopped_by says so, as run's
// and plan's do ("the summary JSON's stopped_by tells the early stops
// apart"); it said "" next to exit code 130.
func TestE2E_Export_summarySaysStoppedBy(t *testing.T) {
	fx := e2eStartFixture(t, sandbox.Config{}, e2eNumbers("14155550100", "14155550101")...)
	u := e2eProxy(t, fx, func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/Number/") {
			e2eAnswer429(w, "300")
			return true
		}
		return false
	})
	r := e2eNewRunner(t, fx).with("PLIVO_API_URL", u)
	p := r.start(nil, "export", "--output", r.path("out.csv"), "--summary", r.path("sum.json"), "--progress", "never")
	e2eWaitFor(t, 10*time.Second, "the export to wait for the API", func() bool {
		return strings.Contains(p.stderr.String(), "waiting for the API")
	})
	p.signal(syscall.SIGINT)
	if !p.waitTimeout(10 * time.Second) {
		t.Fatal("export ignored the signal")
	}
	res := p.wait()
	if res.code != 130 {
		t.Fatalf("exit %d, want 130\n%v", res.code, res)
	}
	data, err := os.ReadFile(r.path("sum.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		StoppedBy string `json:"stopped_by"`
		ExitCode  int    `json:"exit_code"`
	}
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.StoppedBy != "interrupted" || sum.ExitCode != 130 {
		t.Errorf("summary stopped_by %q exit_code %d, want interrupted 130\n%s", sum.StoppedBy, sum.ExitCode, data)
	}
}

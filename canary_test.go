package main

// End-to-end tests of what the canary picks: rows that change something.
// The binary runs against a front that answers every update 202 "changed"
// and applies nothing (e2eApplyNothing), with some or all of the file's
// numbers holding their targets already.

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// canaryRun runs --canary 5 on n numbers set to e2eAppA, the first held of
// them on it already, behind a front that applies nothing. It returns how
// the run ended, the summary and the numbers the front was sent updates for.
func canaryRun(t *testing.T, n, held int, extra ...string) (e2eResult, summaryFile, []string, []string) {
	numbers := e2eCanaryNumbers(n)
	seed := e2eNumbers(numbers...)
	for i := range held {
		seed[i].AppID = e2eAppA
	}
	fx := e2eStartFixture(t, sandbox.Config{}, seed...)
	front, dropped := e2eApplyNothing(t, fx)
	r := e2eNewRunner(t, fx).with("PLIVO_API_URL", front)
	input := e2eInput(r, "numbers.csv", "number,app_id", numbers, e2eAppA)
	res := r.run(e2eArgs([]string{"run", "--input", input, "--report", "report.csv", "--canary", "5", "--summary", "summary.json",
		"--rate", "0", "--max-attempts", "1"}, e2eFastRetries, extra)...)
	return res, e2eReadSummary(t, r.path("summary.json")), numbers, slices.Sorted(maps.Keys(dropped()))
}

// TestCanary_testsOnlyRowsThatChange: the file's first 8 numbers hold their
// targets already. The canary passes over them and tests the next 5, which
// the front does not change: it fails and nothing else is sent, whether it
// learns the numbers' settings by reading them one by one or by the listing,
// with --skip-unchanged too.
func TestCanary_testsOnlyRowsThatChange(t *testing.T) {
	t.Parallel()
	const n, held, canary = 30, 8, 5
	for _, extra := range [][]string{nil, {"--skip-unchanged"}, {"--skip-unchanged", "--read", "each"}, {"--read", "page"}} {
		t.Run(strings.Join(append([]string{"run"}, extra...), " "), func(t *testing.T) {
			t.Parallel()
			res, sum, numbers, sent := canaryRun(t, n, held, extra...)
			if res.code != 1 {
				t.Fatalf("exit code %d, want 1\n%v", res.code, res)
			}
			if want := fmt.Sprintf("canary failed: 5 of 5 canary rows are not in their target state: row %d (%s)", held+2, numbers[held]); !strings.Contains(res.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
			}
			if want := numbers[held : held+canary]; !slices.Equal(sent, want) {
				t.Errorf("updates sent for %v, want the canary's %v", sent, want)
			}
			if sum.StoppedBy != "canary" || sum.Failed != canary || sum.NotAttempted != n-canary {
				t.Errorf("summary stopped_by %q failed %d not_attempted %d; want canary, %d, %d", sum.StoppedBy, sum.Failed, sum.NotAttempted, canary, n-canary)
			}
		})
	}
}

// TestCanary_saysWhenNoRowChanges: when every number holds its targets, the
// canary says it has nothing to test and neither passes nor fails; the run
// goes on and changes nothing. When its few reads (--canary plus 10) end
// before it has seen every row, it cannot say so: the run stops, sending
// nothing.
func TestCanary_saysWhenNoRowChanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		n        int
		extra    []string
		wantCode int
		wantErr  string
		wantOK   int
		wantSkip int
	}{
		{"every row read", 12, nil, 0, "canary: no row needs a change", 12, 0},
		{"skip-unchanged", 30, []string{"--skip-unchanged"}, 0, "canary: no row needs a change", 0, 30},
		{"reads spent", 30, nil, 1, "canary failed: it found no row to test: none of the 15 numbers it read needs a change it could see, and 15 rows were left unread or their read did not tell; nothing was sent", 0, 0},
		{"reads spent, by page", 30, []string{"--read", "page"}, 0, "canary: no row needs a change", 30, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, sum, _, sent := canaryRun(t, tt.n, tt.n, tt.extra...)
			if res.code != tt.wantCode {
				t.Fatalf("exit code %d, want %d\n%v", res.code, tt.wantCode, res)
			}
			if !strings.Contains(res.stderr, tt.wantErr) || strings.Contains(res.stderr, "canary passed") || strings.Contains(res.stderr, "--resume") {
				t.Errorf("stderr lacks %q, or says the canary passed, or advises --resume:\n%s", tt.wantErr, res.stderr)
			}
			if sum.OK != tt.wantOK || sum.Skipped != tt.wantSkip || len(sent) != tt.wantOK {
				t.Errorf("ok %d, skipped %d, %d numbers sent an update; want %d, %d, %d", sum.OK, sum.Skipped, len(sent), tt.wantOK, tt.wantSkip, tt.wantOK)
			}
		})
	}
}

// TestCanary_numberItCouldNotReadIsNoEvidence: every number holds its
// targets already and the front applies no update. Until a number was sent
// an update, its read answers 503, or lacks the `alias` key. The canary
// could not learn what its candidates held: an update "changed" and a
// read-back holding the targets prove nothing then, so the canary must not
// pass, and nothing past it is sent.
func TestCanary_numberItCouldNotReadIsNoEvidence(t *testing.T) {
	t.Parallel()
	const n = 12
	for name, unread := range map[string]func(w http.ResponseWriter, q *http.Request, fx *e2eFixture){
		"read answers 503": func(w http.ResponseWriter, _ *http.Request, _ *e2eFixture) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":"service unavailable"}`)
		},
		"read lacks alias": func(w http.ResponseWriter, q *http.Request, fx *e2eFixture) {
			rec := httptest.NewRecorder()
			fx.srv.ServeHTTP(rec, q)
			var m map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
				t.Errorf("sandbox answer: %v", err)
			}
			delete(m, "alias")
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(m)
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			numbers := e2eCanaryNumbers(n)
			seed := e2eNumbers(numbers...)
			for i := range seed {
				seed[i].AppID = e2eAppA
			}
			fx := e2eStartFixture(t, sandbox.Config{}, seed...)
			var mu sync.Mutex
			posted := map[string]bool{}
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
				num := path.Base(q.URL.Path)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case q.Method == http.MethodPost:
					_, _ = io.Copy(io.Discard, q.Body)
					posted[num] = true
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusAccepted)
					fmt.Fprint(w, `{"message":"changed","api_id":"5a9fcb68-523d-11e1-86da-6ff39efcb949"}`)
				case slices.Contains(numbers, num) && !posted[num]:
					unread(w, q, fx)
				default:
					fx.srv.ServeHTTP(w, q)
				}
			}))
			t.Cleanup(front.Close)
			r := e2eNewRunner(t, fx).with("PLIVO_API_URL", front.URL)
			input := e2eInput(r, "numbers.csv", "number,app_id,alias", numbers, e2eAppA+",old")
			res := r.run(e2eArgs([]string{"run", "--input", input, "--report", "report.csv", "--canary", "5", "--summary", "summary.json",
				"--rate", "0", "--max-attempts", "1"}, e2eFastRetries)...)
			mu.Lock()
			sent := len(posted)
			mu.Unlock()
			if res.code == 0 || strings.Contains(res.stderr, "canary passed") || sent != 0 {
				t.Fatalf("exit code %d, %d numbers sent an update; want a canary that neither passes nor sends\n%v", res.code, sent, res)
			}
			if want := "canary failed: it found no row to test: none of the 15 numbers it read needs a change it could see, and 12 rows were left unread or their read did not tell; nothing was sent"; !strings.Contains(res.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
			}
		})
	}
}

// TestCanary_dryRunNamesTheListing: with --read page the canary lists the
// whole account, one request per 20 numbers on it, however few the rows:
// the dry run's cost must say so, not a bound the run then exceeds.
func TestCanary_dryRunNamesTheListing(t *testing.T) {
	t.Parallel()
	numbers := e2eCanaryNumbers(10)
	fx := e2eStartFixture(t, sandbox.Config{}, e2eNumbers(numbers...)...)
	r := e2eNewRunner(t, fx)
	input := e2eInput(r, "numbers.csv", "number,app_id", numbers, e2eAppA)
	res := r.run("run", "--dry-run", "--input", input, "--canary", "2", "--read", "page")
	if want := "listing the account"; res.code != 0 || !strings.Contains(res.stderr, want) {
		t.Errorf("dry run: exit %d, want 0 and %q in:\n%s", res.code, want, res.stderr)
	}
}

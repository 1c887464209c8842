package batch

// Tests of the canary, the failure budget and the estimate's change counts:
// pickCanary and FailureBudget.spent on their own, then Run through the real
// client against the sandbox on loopback. The sandbox refuses a compliance
// change on a number whose compliance status is not pending (400), which
// makes a row fail on purpose, every time.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/batch/pace"
	"github.com/plivo-bulk/plivo-bulk/client"
	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// set returns targets that set f to v (and leave the other fields alone).
func set(kv ...any) Targets {
	var t Targets
	for i := 0; i+1 < len(kv); i += 2 {
		t[kv[i].(Field)] = Setting{Value: kv[i+1].(string), Set: true}
	}
	return t
}

func TestJobRun_pickCanary(t *testing.T) {
	t.Parallel()
	a, b, c := set(AppID, "A"), set(AppID, "B"), set(AppID, "A", Alias, "x")
	rows := MemSource{
		{Line: 2, Number: "12025550002", Targets: a},
		{Line: 3, Number: "12025550003", Targets: a},
		{Line: 4, Number: "bad", Targets: b, Invalid: "not a number"},
		{Line: 5, Number: "12025550005", Targets: a},
		{Line: 6, Number: "12025550006", Targets: b},
		{Line: 7, Number: "12025550007", Targets: b}, // found wanting by the pre-flight
		{Line: 8, Number: "12025550008", Targets: c}, // done by an earlier run
		{Line: 9, Number: "12025550009", Targets: c},
		{Line: 10, Number: "12025550010", Targets: a},
	}
	j := &jobRun{
		job: Job{Input: rows, Step: Update{}, Completed: func(r Row) bool { return r.Line == 8 }},
		invalid: func(r Row) string {
			if r.Line == 7 {
				return "no such application"
			}
			return ""
		},
	}
	tests := []struct {
		name  string
		n     int
		holds []int // lines whose numbers hold their targets already
		reads int   // how many rows it may look at, 0 for all
		want  []int
		// wantUnread is the rows to send it did not look at, reads spent.
		wantUnread int
	}{
		{"one", 1, nil, 0, []int{2}, 0},
		{"first of each distinct target", 3, nil, 0, []int{2, 6, 9}, 0},
		{"fewer than the distinct targets", 2, nil, 0, []int{2, 6}, 0},
		{"filled in file order", 5, nil, 0, []int{2, 3, 5, 6, 9}, 0},
		{"more than the rows to send", 20, nil, 0, []int{2, 3, 5, 6, 9, 10}, 0},
		{"rows that change nothing passed over", 3, []int{2, 6}, 0, []int{3, 5, 9}, 0},
		{"no row changes anything", 3, []int{2, 3, 5, 6, 9, 10}, 0, nil, 0},
		{"reads spent first", 3, []int{2, 3}, 2, nil, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			looked := 0
			learn := func(r Row, _ *canaryPick) (int, error) {
				if tt.reads > 0 && looked == tt.reads {
					return unread, nil
				}
				looked++
				if slices.Contains(tt.holds, r.Line) {
					return holds, nil
				}
				return changes, nil
			}
			picked, err := j.pickCanary(context.Background(), tt.n, learn)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for line := range picked.rows {
				got = append(got, line)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) || picked.rowsBy[unread] != tt.wantUnread {
				t.Errorf("pickCanary(%d) = lines %v, %d unread; want %v, %d", tt.n, got, picked.rowsBy[unread], tt.want, tt.wantUnread)
			}
		})
	}
}

func TestFailureBudget_spent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		budget            FailureBudget
		failed, attempted int
		want              bool
	}{
		{"off", FailureBudget{}, 1000, 1000, false},
		{"count not reached", FailureBudget{Count: 3}, 2, 2, false},
		{"count reached", FailureBudget{Count: 3}, 3, 3, true},
		{"count passed", FailureBudget{Count: 3}, 4, 100, true},
		{"count before 20 rows", FailureBudget{Count: 1}, 1, 1, true},
		{"percent waits for 20 rows", FailureBudget{Percent: 5}, 19, 19, false},
		{"percent at 20 rows", FailureBudget{Percent: 5}, 1, 20, true},
		{"percent below", FailureBudget{Percent: 5}, 4, 100, false},
		{"percent exactly", FailureBudget{Percent: 5}, 5, 100, true},
		{"percent above", FailureBudget{Percent: 50}, 11, 20, true},
		{"100 percent", FailureBudget{Percent: 100}, 19, 20, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.budget.spent(tt.failed, tt.attempted); got != tt.want {
				t.Errorf("FailureBudget%+v.spent(%d, %d) = %v, want %v", tt.budget, tt.failed, tt.attempted, got, tt.want)
			}
		})
	}
}

// Applications and the compliance application of the sandbox below.
const (
	ctApp1, ctApp2, ctApp3 = "2001", "2002", "2003"
	ctCompliance           = "C0FFEE"
)

// ctFixture is a sandbox on loopback that counts the updates per number.
type ctFixture struct {
	srv   *sandbox.Server
	cl    *client.Client
	mu    sync.Mutex
	posts map[string]int
}

func startCanarySandbox(t *testing.T, numbers ...sandbox.Number) *ctFixture {
	t.Helper()
	srv := sandbox.New(sandbox.Config{})
	for _, id := range []string{ctApp1, ctApp2, ctApp3} {
		srv.AddApplication(id, "app "+id)
	}
	for _, n := range numbers {
		srv.AddNumber(n)
	}
	fx := &ctFixture{srv: srv, posts: map[string]int{}}
	srv.SetRecorder(func(r sandbox.Request) {
		if r.Method == "POST" {
			fx.mu.Lock()
			fx.posts[r.Number]++
			fx.mu.Unlock()
		}
	})
	url, stop, err := sandbox.Start(srv, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop(context.Background()) })
	cfg := srv.Config()
	if fx.cl, err = client.New(url, cfg.AuthID, cfg.AuthToken); err != nil {
		t.Fatal(err)
	}
	return fx
}

// posted returns the numbers updated at least once, sorted.
func (fx *ctFixture) posted() []string {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	var out []string
	for n := range fx.posts {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// ctJob is a job on fx's client, one call at a time (so that the order in
// which rows end is the file's), failures final at once.
func ctJob(fx *ctFixture, rows MemSource, sink func(Result)) Job {
	var mu sync.Mutex
	return Job{
		Client: fx.cl,
		Pace:   pace.Config{Concurrency: 1, MaxAttempts: 1, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond},
		Input:  rows,
		Step:   Update{PinApp: true},
		Sink: func(r Result) error {
			mu.Lock()
			defer mu.Unlock()
			if sink != nil {
				sink(r)
			}
			return nil
		},
	}
}

// ctNumber is the i-th test number; refused numbers have an accepted
// compliance status, so a compliance change on them is answered 400.
func ctNumber(i int, refused bool) sandbox.Number {
	n := sandbox.Number{Number: fmt.Sprintf("1202555%04d", i), AppID: ctApp1, ComplianceStatus: "pending"}
	if refused {
		n.ComplianceStatus = "accepted"
	}
	return n
}

func TestRun_canarySpreadsOverTargetsThenSendsTheRest(t *testing.T) {
	t.Parallel()
	var numbers []sandbox.Number
	var rows MemSource
	for i := range 30 {
		numbers = append(numbers, ctNumber(i, false))
		app := ctApp2
		if i == 17 || i == 25 {
			app = ctApp3
		}
		rows = append(rows, Row{Line: i + 2, Number: numbers[i].Number, Targets: set(AppID, app)})
	}
	fx := startCanarySandbox(t, numbers...)
	var order []int
	job := ctJob(fx, rows, func(r Result) { order = append(order, r.Row.Line) })
	var canary []Result
	job.Canary = 4
	job.AfterCanary = func(rs []Result) error {
		canary = slices.Clone(rs)
		if got := fx.posted(); len(got) != 4 {
			t.Errorf("%d numbers updated before the canary passed, want 4: %v", len(got), got)
		}
		return nil
	}
	sum, err := Run(context.Background(), job)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var lines []int
	for _, r := range canary {
		lines = append(lines, r.Row.Line)
		if r.Status != StatusOK {
			t.Errorf("canary row %d: %s %s", r.Row.Line, r.Status, r.Error)
		}
	}
	slices.Sort(lines)
	// The first row of each of the two targets (lines 2 and 19), then the
	// next rows in file order.
	if want := []int{2, 3, 4, 19}; !slices.Equal(lines, want) {
		t.Errorf("canary rows %v, want %v", lines, want)
	}
	if len(order) < 4 || !slices.Equal(slices.Sorted(slices.Values(order[:4])), lines) {
		t.Errorf("rows ended in the order %v, want the canary's first", order)
	}
	if sum.OK != 30 || sum.Failed != 0 {
		t.Errorf("OK=%d Failed=%d, want 30 and 0", sum.OK, sum.Failed)
	}
	fx.mu.Lock()
	defer fx.mu.Unlock()
	for n, c := range fx.posts {
		if c != 1 {
			t.Errorf("%s updated %d times, want once: a canary row is not sent again", n, c)
		}
	}
}

func TestRun_canaryStopsOnRefusedTargets(t *testing.T) {
	t.Parallel()
	var numbers []sandbox.Number
	var rows MemSource
	for i := range 40 {
		numbers = append(numbers, ctNumber(i, true))
		rows = append(rows, Row{Line: i + 2, Number: numbers[i].Number, Targets: set(AppID, ctApp2, ComplianceApplicationID, ctCompliance)})
	}
	fx := startCanarySandbox(t, numbers...)
	var results []Result
	job := ctJob(fx, rows, func(r Result) { results = append(results, r) })
	job.Canary = 5
	job.AfterCanary = func([]Result) error {
		t.Error("AfterCanary called for a canary that failed")
		return nil
	}
	sum, err := Run(context.Background(), job)
	if !errors.Is(err, ErrCanary) {
		t.Fatalf("Run error = %v, want ErrCanary", err)
	}
	if sum.StoppedBy != "canary" {
		t.Errorf("StoppedBy = %q, want canary", sum.StoppedBy)
	}
	if got := fx.posted(); len(got) != 5 {
		t.Errorf("%d numbers updated, want the 5 canary rows only: %v", len(got), got)
	}
	if len(results) != 5 || sum.Failed != 5 || sum.NotAttempted() != 35 {
		t.Errorf("%d results, Failed=%d, NotAttempted=%d; want 5, 5, 35", len(results), sum.Failed, sum.NotAttempted())
	}
	for _, r := range results {
		if r.Status != StatusFailed || r.HTTPStatus != 400 {
			t.Errorf("canary row %d: %s %d, want failed 400", r.Row.Line, r.Status, r.HTTPStatus)
		}
	}
	for _, n := range numbers {
		if got, _ := fx.srv.Number(n.Number); got != n {
			t.Errorf("%s changed to %+v", n.Number, got)
		}
	}
}

// TestRun_canaryReadsBack checks that the canary reads each of its rows back
// even when the step does not verify: the rest of the rows are not.
func TestRun_canaryReadsBack(t *testing.T) {
	t.Parallel()
	var numbers []sandbox.Number
	var rows MemSource
	for i := range 10 {
		numbers = append(numbers, ctNumber(i, false))
		rows = append(rows, Row{Line: i + 2, Number: numbers[i].Number, Targets: set(AppID, ctApp2)})
	}
	fx := startCanarySandbox(t, numbers...)
	var gets sync.Map
	fx.srv.SetRecorder(func(r sandbox.Request) {
		if r.Method == "GET" && r.Number != "" {
			gets.Store(r.Number, true)
		}
	})
	job := ctJob(fx, rows, nil)
	job.Canary = 3
	if _, err := Run(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	read := 0
	gets.Range(func(any, any) bool { read++; return true })
	if read != 3 {
		t.Errorf("%d numbers read, want the 3 canary rows read back", read)
	}
}

func TestRun_maxFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		budget  FailureBudget
		refused func(i int) bool // which of the 60 rows the sandbox refuses
		// wantStop is the row count at which the budget is spent, 0 for
		// none: the run ends there (one more row may be in flight).
		wantStop int
	}{
		{"count", FailureBudget{Count: 3}, func(i int) bool { return i%2 == 0 }, 5},
		{"count not reached", FailureBudget{Count: 3}, func(i int) bool { return i == 7 || i == 30 }, 0},
		{"percent waits for 20 rows", FailureBudget{Percent: 50}, func(i int) bool { return i < 25 }, 20},
		{"percent after 20 rows", FailureBudget{Percent: 10}, func(i int) bool { return i >= 30 && i%2 == 0 }, 37},
		// The 20th row is ok, but 2 of 20 (or 15 of 20) failed already.
		{"percent spent as an ok 20th row ends", FailureBudget{Percent: 5}, func(i int) bool { return i == 3 || i == 9 }, 20},
		{"half failed by an ok 20th row", FailureBudget{Percent: 50}, func(i int) bool { return i < 15 }, 20},
		{"percent not reached", FailureBudget{Percent: 10}, func(i int) bool { return i == 3 || i == 50 }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var numbers []sandbox.Number
			var rows MemSource
			for i := range 60 {
				numbers = append(numbers, ctNumber(i, tt.refused(i)))
				rows = append(rows, Row{Line: i + 2, Number: numbers[i].Number, Targets: set(ComplianceApplicationID, ctCompliance)})
			}
			fx := startCanarySandbox(t, numbers...)
			job := ctJob(fx, rows, nil)
			job.MaxFailures = tt.budget
			sum, err := Run(context.Background(), job)
			ended := sum.OK + sum.Failed
			if tt.wantStop == 0 {
				if err != nil || ended != 60 {
					t.Fatalf("Run = %v after %d rows, want every row sent", err, ended)
				}
				return
			}
			if !errors.Is(err, ErrTooManyFailures) || sum.StoppedBy != "max_failures" {
				t.Fatalf("Run error = %v, StoppedBy %q; want ErrTooManyFailures, max_failures", err, sum.StoppedBy)
			}
			if ended < tt.wantStop || ended > tt.wantStop+1 {
				t.Errorf("%d rows ended (%d failed), want the run to stop at %d", ended, sum.Failed, tt.wantStop)
			}
			if got := len(fx.posted()); got != ended {
				t.Errorf("%d numbers updated, %d rows in the results", got, ended)
			}
			if sum.NotAttempted() != 60-ended {
				t.Errorf("NotAttempted = %d, want %d: the rest stays resumable", sum.NotAttempted(), 60-ended)
			}
		})
	}
}

// nopUndo makes the step need the numbers' settings, as --undo does.
type nopUndo struct{}

func (nopUndo) Write(Row, Targets) error { return nil }

func TestRun_estimateCountsChanges(t *testing.T) {
	t.Parallel()
	numbers := []sandbox.Number{
		{Number: "12025550001", AppID: ctApp2, Alias: "same"}, // holds both targets already
		{Number: "12025550002", AppID: ctApp1, Alias: "same"}, // app changes, alias not
		{Number: "12025550003", AppID: ctApp2, Alias: "old"},  // alias changes, app not
		{Number: "12025550004", AppID: ctApp1, Alias: "old"},  // both change
		{Number: "12025550005", AppID: ctApp1},                // app changes to another value
	}
	rows := MemSource{
		{Line: 2, Number: "12025550001", Targets: set(AppID, ctApp2, Alias, "same")},
		{Line: 3, Number: "12025550002", Targets: set(AppID, ctApp2, Alias, "same")},
		{Line: 4, Number: "12025550003", Targets: set(AppID, ctApp2, Alias, "")},
		{Line: 5, Number: "12025550004", Targets: set(AppID, ctApp2, Alias, "")},
		{Line: 6, Number: "12025550005", Targets: set(AppID, ctApp3)},
		{Line: 7, Number: "x", Invalid: "not a number"},
	}
	tests := []struct {
		name        string
		read        ReadMode
		step        Update
		wantApp     []ValueCount
		wantAlias   []ValueCount
		wantToSend  int
		wantRequest int
	}{
		{
			name: "settings known: the values held are not changes",
			read: ReadPage, step: Update{Undo: nopUndo{}},
			wantApp:   []ValueCount{{ctApp2, 2}, {ctApp3, 1}},
			wantAlias: []ValueCount{{"", 2}},
			// A listing page, then one update a row.
			wantToSend: 5, wantRequest: 1 + 5,
		},
		{
			name: "settings known, skip-unchanged: a settled row costs nothing",
			read: ReadPage, step: Update{SkipUnchanged: true},
			wantApp:    []ValueCount{{ctApp2, 2}, {ctApp3, 1}},
			wantAlias:  []ValueCount{{"", 2}},
			wantToSend: 5, wantRequest: 1 + 4,
		},
		{
			name: "settings unknown: every set field counts",
			read: ReadEach, step: Update{},
			wantApp:    []ValueCount{{ctApp2, 4}, {ctApp3, 1}},
			wantAlias:  []ValueCount{{"", 2}, {"same", 2}},
			wantToSend: 5, wantRequest: 5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := startCanarySandbox(t, numbers...)
			job := ctJob(fx, rows, nil)
			job.Step, job.Read = tt.step, tt.read
			var est Estimate
			job.Begin = func(e Estimate) error {
				est = e
				return ErrDeclined
			}
			sum, err := Run(context.Background(), job)
			if !errors.Is(err, ErrDeclined) || sum.StoppedBy != "declined" {
				t.Fatalf("Run error = %v, StoppedBy %q; want Begin's ErrDeclined", err, sum.StoppedBy)
			}
			if got := fx.posted(); len(got) != 0 {
				t.Errorf("updates sent after Begin declined: %v", got)
			}
			if got := est.Changes[AppID]; !slices.Equal(got, tt.wantApp) {
				t.Errorf("Changes[app_id] = %v, want %v", got, tt.wantApp)
			}
			if got := est.Changes[Alias]; !slices.Equal(got, tt.wantAlias) {
				t.Errorf("Changes[alias] = %v, want %v", got, tt.wantAlias)
			}
			if est.Rows != 6 || est.ToSend != tt.wantToSend || est.Requests != tt.wantRequest+1+est.Preflight {
				t.Errorf("Rows=%d ToSend=%d Requests=%d, want 6, %d, %d and the checks", est.Rows, est.ToSend, est.Requests, tt.wantToSend, tt.wantRequest)
			}
		})
	}
}

// TestEstimate_otherValues checks that the values past maxCountedValues of a
// field are counted together.
func TestEstimate_otherValues(t *testing.T) {
	t.Parallel()
	rows := make(MemSource, 0, maxCountedValues+5)
	for i := range maxCountedValues + 5 {
		rows = append(rows, Row{Line: i + 2, Number: fmt.Sprintf("1202%07d", i), Targets: set(Alias, fmt.Sprintf("alias %d", i), AppID, ctApp1)})
	}
	j := &jobRun{job: Job{Input: rows, Step: Update{}}, invalid: func(Row) string { return "" }, api: &API{}, sum: &Summary{}}
	est, err := j.estimate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	aliases := est.Changes[Alias]
	if n := len(aliases); n != maxCountedValues+1 {
		t.Fatalf("%d alias values, want %d and the rest", n, maxCountedValues+1)
	}
	if last := aliases[len(aliases)-1]; last != (ValueCount{OtherValues, 5}) {
		t.Errorf("last alias value %+v, want %q on 5 numbers", last, OtherValues)
	}
	if got, want := est.Changes[AppID], []ValueCount{{ctApp1, maxCountedValues + 5}}; !slices.Equal(got, want) {
		t.Errorf("Changes[app_id] = %v, want %v", got, want)
	}
}

package harness

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// wide is a plan of n independent trials and one that needs them all; a
// trial's result is its index (the last: the sum of the others). Every
// trial calls enter when it starts and leave when it ends.
func wide(t *testing.T, n int, enter func(i int) error, leave func()) (*Plan, []string) {
	t.Helper()
	p, ids, err := widePlan(n, enter, leave)
	if err != nil {
		t.Fatal(err)
	}
	return p, ids
}

func widePlan(n int, enter func(i int) error, leave func()) (*Plan, []string, error) {
	var p Plan
	var ids []string
	for i := range n + 1 {
		id, err := ID("unit", fmt.Sprint("t", i), i)
		if err != nil {
			return nil, nil, err
		}
		tr := Trial{ID: id, Kind: "unit", Name: fmt.Sprint("t", i), Run: func(_ context.Context, r *Runner) (any, error) {
			defer leave()
			if err := enter(i); err != nil {
				return nil, err
			}
			if i < n {
				return i, nil
			}
			sum := 0
			for _, need := range ids[:n] {
				v, err := Result[int](r.Store, need)
				if err != nil {
					return nil, err
				}
				sum += v
			}
			return sum, nil
		}}
		if i == n {
			tr.Needs = append([]string(nil), ids...)
		}
		ids = append(ids, id)
		if err := p.Add(tr); err != nil {
			return nil, nil, err
		}
	}
	return &p, ids, nil
}

// Local runs at most Jobs trials at once, at least two at once when it can
// (trials 0 and 1 wait for each other), and writes the same records for
// every Jobs.
func TestLocalJobs(t *testing.T) {
	var first map[string]string
	for _, jobs := range []int{1, 2, 3} {
		t.Run(fmt.Sprint("jobs=", jobs), func(t *testing.T) {
			var running, most atomic.Int32
			started := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
			enter := func(i int) error {
				n := running.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				if i < 2 && jobs > 1 { // trials 0 and 1 wait for each other
					close(started[i])
					select {
					case <-started[1-i]:
					case <-time.After(10 * time.Second):
						return fmt.Errorf("trial %d did not start while trial %d ran", 1-i, i)
					}
				}
				return nil
			}
			p, ids := wide(t, 5, enter, func() { running.Add(-1) })
			r := &Runner{Store: Store{t.TempDir()}, Version: "test", Backend: Local{Jobs: jobs}}
			if err := r.Run(context.Background(), p, ""); err != nil {
				t.Fatal(err)
			}
			if m := int(most.Load()); m > jobs || (jobs > 1 && m < 2) {
				t.Errorf("%d trials at once with %d jobs", m, jobs)
			}
			recs := map[string]string{}
			for _, id := range ids {
				rec, err := r.Store.Record(id)
				if err != nil {
					t.Fatal(err)
				}
				recs[id] = string(rec.Result)
			}
			if recs[ids[5]] != "10" { // 0 + 1 + 2 + 3 + 4
				t.Errorf("last trial %s", recs[ids[5]])
			}
			if first == nil {
				first = recs
			} else if fmt.Sprint(recs) != fmt.Sprint(first) {
				t.Errorf("records %v, with one job %v", recs, first)
			}
		})
	}
}

// A failed trial's error names it; the trials that need it are not run and
// say so; the others finish.
func TestLocalFailedTrial(t *testing.T) {
	for _, jobs := range []int{1, 2} {
		t.Run(fmt.Sprint("jobs=", jobs), func(t *testing.T) {
			var ran atomic.Int32
			p, ids := wide(t, 3, func(i int) error {
				ran.Add(1)
				if i == 1 {
					return errors.New("boom")
				}
				return nil
			}, func() {})
			r := &Runner{Store: Store{t.TempDir()}, Backend: Local{Jobs: jobs}}
			err := r.Run(context.Background(), p, "")
			var te *TrialError
			if !errors.As(err, &te) || te.ID != ids[1] || !strings.Contains(err.Error(), "trial "+ids[1]+": boom") {
				t.Errorf("error %v should name trial 1 and its error", err)
			}
			if !errors.Is(err, ErrNeedFailed) || !strings.Contains(err.Error(), "trial "+ids[3]+": "+ErrNeedFailed.Error()+": not run: it needs "+ids[1]) {
				t.Errorf("error %v should say that the last trial was not run", err)
			}
			if !r.Store.Done(ids[0]) || !r.Store.Done(ids[2]) || r.Store.Done(ids[1]) || r.Store.Done(ids[3]) || ran.Load() != 3 {
				t.Errorf("done %v %v %v %v, %d ran; want trials 0 and 2 done, 3 run", r.Store.Done(ids[0]), r.Store.Done(ids[1]), r.Store.Done(ids[2]), r.Store.Done(ids[3]), ran.Load())
			}
		})
	}
}

// Two runners racing on one directory run every trial once: a trial's lock
// keeps the second out until the first has saved the record.
func TestRacingRunnersRunEachTrialOnce(t *testing.T) {
	var mu sync.Mutex
	calls := map[int]int{}
	p, ids := wide(t, 6, func(i int) error {
		mu.Lock()
		calls[i]++
		mu.Unlock()
		time.Sleep(5 * time.Millisecond) // let the other runner reach the trial
		return nil
	}, func() {})
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for k := range errs {
		wg.Go(func() {
			r := &Runner{Store: Store{dir}, Backend: Local{Jobs: 2}}
			errs[k] = r.Run(context.Background(), p, "")
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range ids {
		if calls[i] != 1 {
			t.Errorf("trial %d ran %d times", i, calls[i])
		}
	}
	if v, err := Result[int](Store{dir}, ids[6]); err != nil || v != 15 {
		t.Errorf("last trial %d, %v", v, err)
	}
}

// A canceled context starts no trial; Run returns its error.
func TestLocalCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var ran atomic.Int32
	p, _ := wide(t, 2, func(int) error { ran.Add(1); return nil }, func() {})
	r := &Runner{Store: Store{t.TempDir()}, Backend: Local{Jobs: 2}}
	if err := r.Run(ctx, p, ""); !errors.Is(err, context.Canceled) || ran.Load() != 0 {
		t.Errorf("error %v, %d trials ran", err, ran.Load())
	}
	if err := (&Runner{Store: Store{t.TempDir()}, Backend: Local{Jobs: -1}}).Run(context.Background(), p, ""); err == nil || !strings.Contains(err.Error(), "jobs -1") {
		t.Errorf("jobs -1: %v", err)
	}
}

// The backend of a context reaches an experiment without one.
func TestWithBackend(t *testing.T) {
	var b recordingBackend
	e := &Experiment{Store: Store{t.TempDir()}}
	p, _ := wide(t, 1, func(int) error { return nil }, func() {})
	e.Plan = *p
	if err := e.Run(WithBackend(context.Background(), &b), ""); err != nil {
		t.Fatal(err)
	}
	if b.ids != 2 {
		t.Errorf("the context's backend got %d trials, want 2", b.ids)
	}
	if BackendFrom(context.Background()) != nil {
		t.Error("a backend in an empty context")
	}
}

type recordingBackend struct{ ids int }

func (b *recordingBackend) Run(_ context.Context, _ *Runner, _ *Plan, ids []string) error {
	b.ids += len(ids)
	return nil
}

// --plan says "running" for a trial whose lock a process holds.
func TestPlanShowsRunning(t *testing.T) {
	p, ids := wide(t, 1, func(int) error { return nil }, func() {})
	s := Store{t.TempDir()}
	release, err := s.lock(context.Background(), ids[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	p.Write(&b, s)
	release()
	var after strings.Builder
	p.Write(&after, s)
	if !strings.Contains(b.String(), ids[0]+"\tunit\trunning\t") || !strings.Contains(after.String(), ids[0]+"\tunit\ttodo\t") {
		t.Errorf("plan while locked:\n%s\nafter:\n%s", b.String(), after.String())
	}
}

package harness

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
)

// A Backend runs trials of a plan. ids, in plan order, are the trials to
// run, every unfinished trial they need among them. A Backend runs each
// trial once its needs are finished (Runner.RunTrial, here or in another
// process), does not run the trials that need a failed one, and returns the
// errors of the failed trials joined (errors.Join of *TrialError), or the
// context's error when it was canceled.
type Backend interface {
	Run(ctx context.Context, r *Runner, p *Plan, ids []string) error
}

var (
	_ Backend = Local{}
	_ Backend = (*Slurm)(nil)
)

// A TrialError is a failed trial: its ID, the error and, when it ran in
// another process, that process's log and the log's last lines.
type TrialError struct {
	ID   string
	Err  error
	Log  string   // the trial's log file; "" when it ran in this process
	Tail []string // the log's last lines
}

func (e *TrialError) Error() string {
	s := fmt.Sprintf("trial %s: %v", e.ID, e.Err)
	if e.Log != "" {
		s += "; log " + e.Log
	}
	if len(e.Tail) > 0 {
		s += ", ending:\n\t" + strings.Join(e.Tail, "\n\t")
	}
	return s
}

func (e *TrialError) Unwrap() error { return e.Err }

// ErrNeedFailed is the error of a trial not run because a trial it needs
// failed.
var ErrNeedFailed = errors.New("harness: a trial it needs failed")

// Local runs trials in this process, Jobs at a time: a trial starts as soon
// as the trials it needs are finished and a job is free, in plan order.
// With Jobs 1 it runs them one after another in plan order. Trials draw
// their randomness from their own keys, so the records are the same bytes
// (but for the wall-clock) whatever Jobs is.
type Local struct {
	// Jobs is the number of trials run at once; 0: DefaultJobs(Threads).
	Jobs int
	// Threads is the number of threads one trial keeps busy; 0:
	// GOMAXPROCS, as the parallel loops of package graph use that many.
	Threads int
}

// DefaultJobs is how many trials of threads threads each fit the machine's
// cores: NumCPU / threads, at least 1 (threads 0: GOMAXPROCS).
func DefaultJobs(threads int) int {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	return max(1, runtime.NumCPU()/threads)
}

// Run implements Backend.
func (l Local) Run(ctx context.Context, r *Runner, p *Plan, ids []string) error {
	if l.Jobs < 0 || l.Threads < 0 {
		return fmt.Errorf("harness: local backend: jobs %d and threads %d must not be negative", l.Jobs, l.Threads)
	}
	jobs := l.Jobs
	if jobs == 0 {
		jobs = DefaultJobs(l.Threads)
	}
	const (
		waiting = iota
		running
		ok
		failed
	)
	state := make(map[string]int, len(ids))
	for _, id := range ids {
		state[id] = waiting
	}
	errs := map[string]error{}
	type done struct {
		id  string
		err error
	}
	results := make(chan done)
	busy := 0
	for {
		for _, id := range ids {
			if state[id] != waiting || ctx.Err() != nil {
				continue
			}
			t, _ := p.Trial(id)
			ready := true
			for _, n := range t.Needs {
				switch s, in := state[n]; {
				case !in: // finished before the run
				case s == failed:
					state[id] = failed
					errs[id] = &TrialError{ID: id, Err: fmt.Errorf("%w: not run: it needs %s", ErrNeedFailed, n)}
				case s != ok:
					ready = false
				}
			}
			if state[id] != waiting || !ready || busy == jobs {
				continue
			}
			state[id] = running
			busy++
			go func() { results <- done{id, r.RunTrial(ctx, p, id)} }()
		}
		if busy == 0 {
			break
		}
		d := <-results
		busy--
		state[d.id] = ok
		if d.err != nil {
			state[d.id], errs[d.id] = failed, d.err
		}
	}
	var out []error
	for _, id := range ids {
		if errs[id] != nil {
			out = append(out, errs[id])
		}
	}
	if err := ctx.Err(); err != nil && len(out) == 0 {
		return err
	}
	return errors.Join(out...)
}

type backendKey struct{}

// WithBackend returns a context whose experiments run their trials with b
// (Experiment.Run reads it when its Backend is nil), so that a command can
// choose the backend of an experiment it runs through a library function.
func WithBackend(ctx context.Context, b Backend) context.Context {
	return context.WithValue(ctx, backendKey{}, b)
}

// BackendFrom returns the backend of ctx (WithBackend), or nil.
func BackendFrom(ctx context.Context) Backend {
	b, _ := ctx.Value(backendKey{}).(Backend)
	return b
}

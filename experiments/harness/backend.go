package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
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

// Local runs trials on this machine, Jobs at a time: a trial starts as
// soon as the trials it needs are finished and a job is free, in plan
// order. With Jobs 1 it runs them one after another in plan order, in this
// process. With more jobs and a Command, each trial runs in a process of
// its own (Command with "--only ID" appended, GOMAXPROCS=Threads, its
// output appended to DIR/logs/ID.log); without a Command the trials run on
// goroutines of this process, which their Run functions must allow —
// gorgonia's graph building does not (it keeps global state), so the wow
// command passes its own command line. Trials draw their randomness from
// their own keys, so the records are the same bytes (but for the
// wall-clock) whatever Jobs is.
type Local struct {
	// Jobs is the number of trials run at once; 0: DefaultJobs(Threads).
	Jobs int
	// Threads is the number of threads one trial keeps busy; 0: GOMAXPROCS
	// for DefaultJobs (the parallel loops of package graph use that many),
	// and NumCPU / Jobs (at least 1) for the GOMAXPROCS of a trial's own
	// process.
	Threads int
	// Command is a trial's command line but for "--only ID" (see Slurm);
	// nil: trials run in this process.
	Command []string
}

// DefaultJobs is how many trials of threads threads each fit the machine's
// cores: NumCPU / threads, at least 1 (threads 0: GOMAXPROCS).
func DefaultJobs(threads int) int {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	return max(1, runtime.NumCPU()/threads)
}

// run runs trial id, in a process of its own when l has a Command and more
// than one job.
func (l Local) run(ctx context.Context, r *Runner, p *Plan, id string, jobs int) error {
	if len(l.Command) == 0 || jobs == 1 {
		return r.RunTrial(ctx, p, id)
	}
	dir := filepath.Join(r.Store.Dir, "logs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return &TrialError{ID: id, Err: err}
	}
	log := filepath.Join(dir, id+".log")
	f, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return &TrialError{ID: id, Err: err}
	}
	defer f.Close()
	threads := l.Threads
	if threads == 0 {
		threads = max(1, runtime.NumCPU()/jobs)
	}
	cmd := exec.CommandContext(ctx, l.Command[0], append(l.Command[1:len(l.Command):len(l.Command)], "--only", id)...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", threads))
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) } // a flow saves its checkpoint
	cmd.WaitDelay = time.Minute
	r.logf("trial %s: started in a process of its own (%d threads), log %s", id, threads, log)
	t0 := time.Now()
	err = cmd.Run()
	if ctx.Err() != nil {
		return &TrialError{ID: id, Err: ctx.Err(), Log: log}
	}
	if err != nil || !r.Store.Done(id) {
		if err == nil {
			err = errors.New("exited without a record")
		}
		return &TrialError{ID: id, Err: fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), err), Log: log, Tail: tail(log, 10)}
	}
	r.logf("trial %s: done in its process in %.1fs", id, time.Since(t0).Seconds())
	return nil
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
	jobs = min(jobs, len(ids)) // one trial runs here: a task does not start a task
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
			go func() { results <- done{id, l.run(ctx, r, p, id, jobs)} }()
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

package harness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/wowflow/wowflow/internal/atomicfile"
)

// Errors.
var (
	ErrUnknownTrial = errors.New("harness: unknown trial")
	ErrDuplicate    = errors.New("harness: duplicate trial")
	ErrNotDone      = errors.New("harness: trial not finished")
)

// A Trial is one unit of work. Run computes its result, which must encode
// as JSON; it may read the results of the trials it Needs with Result.
type Trial struct {
	ID    string   // stable (see ID)
	Kind  string   // flow, train, eval, …
	Name  string   // for people: "k5-flow2-train0-k+flowed"
	Needs []string // IDs of trials that must be finished first
	Run   func(ctx context.Context, r *Runner) (any, error)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9+._=-]+`)

// ID returns the stable ID of a trial of kind with a readable name and the
// key (its configuration and inputs, JSON-encoded): kind-name-h with h the
// first 12 hex digits of the SHA-256 of the key's JSON. Characters outside
// [A-Za-z0-9+._=-] in kind and name become '_', so an ID is a file name.
func ID(kind, name string, key any) (string, error) {
	b, err := json.Marshal(key)
	if err != nil {
		return "", fmt.Errorf("harness: key of %s %s: %w", kind, name, err)
	}
	h := sha256.Sum256(append([]byte(kind+"\x00"+name+"\x00"), b...))
	return unsafeName.ReplaceAllString(kind, "_") + "-" + unsafeName.ReplaceAllString(name, "_") + "-" + hex.EncodeToString(h[:6]), nil
}

// A Plan is the trials of an experiment in dependency order: a trial is
// added after every trial it needs.
type Plan struct {
	Trials []Trial
	index  map[string]int
}

// Add appends t; every trial it needs must be in the plan already.
func (p *Plan) Add(t Trial) error {
	if p.index == nil {
		p.index = map[string]int{}
	}
	if t.ID == "" || t.Run == nil {
		return fmt.Errorf("harness: trial %q of kind %q has no ID or no Run", t.Name, t.Kind)
	}
	if _, ok := p.index[t.ID]; ok {
		return fmt.Errorf("%w: %s", ErrDuplicate, t.ID)
	}
	for _, n := range t.Needs {
		if _, ok := p.index[n]; !ok {
			return fmt.Errorf("%w: %s needs %s, which is not (yet) in the plan", ErrUnknownTrial, t.ID, n)
		}
	}
	p.index[t.ID] = len(p.Trials)
	p.Trials = append(p.Trials, t)
	return nil
}

// Trial returns the trial with id.
func (p *Plan) Trial(id string) (Trial, bool) {
	i, ok := p.index[id]
	if !ok {
		return Trial{}, false
	}
	return p.Trials[i], true
}

// Closure returns the IDs of the trial id and of everything it needs,
// transitively, in plan order.
func (p *Plan) Closure(id string) ([]string, error) {
	if _, ok := p.index[id]; !ok {
		return nil, fmt.Errorf("%w: %q (wow … --plan lists the trials)", ErrUnknownTrial, id)
	}
	want := map[string]bool{id: true}
	for i := p.index[id]; i >= 0; i-- { // needs come earlier in the plan
		t := p.Trials[i]
		if want[t.ID] {
			for _, n := range t.Needs {
				want[n] = true
			}
		}
	}
	var out []string
	for _, t := range p.Trials {
		if want[t.ID] {
			out = append(out, t.ID)
		}
	}
	return out, nil
}

// Write prints one line per trial: ID, kind, whether it is done in store
// (todo, running — a process holds its lock — or done), and the IDs it
// needs.
func (p *Plan) Write(w io.Writer, store Store) error {
	for _, t := range p.Trials {
		state := "todo"
		switch {
		case store.Done(t.ID):
			state = "done"
		case store.running(t.ID):
			state = "running"
		}
		needs := "-"
		if len(t.Needs) > 0 {
			needs = strings.Join(t.Needs, ",")
		}
		if _, err := fmt.Fprintf(w, "%s\t%s\t%s\tneeds %s\n", t.ID, t.Kind, state, needs); err != nil {
			return err
		}
	}
	return nil
}

// Record is a finished trial's file, DIR/trials/ID.json.
type Record struct {
	ID      string          `json:"id"`
	Kind    string          `json:"kind"`
	Name    string          `json:"name"`
	Needs   []string        `json:"needs,omitempty"`
	Version string          `json:"version"`
	Seconds float64         `json:"seconds"`
	Result  json.RawMessage `json:"result"`
}

// Store keeps trial records under Dir/trials.
type Store struct{ Dir string }

func (s Store) path(id string) string { return filepath.Join(s.Dir, "trials", id+".json") }

// Checkpoint is the path where trial id keeps its checkpoint while it runs.
func (s Store) Checkpoint(id string) string { return filepath.Join(s.Dir, "trials", id+".ckpt") }

// Done reports whether trial id has a readable record.
func (s Store) Done(id string) bool {
	_, err := s.Record(id)
	return err == nil
}

// Record reads trial id's record.
func (s Store) Record(id string) (Record, error) {
	b, err := os.ReadFile(s.path(id))
	if errors.Is(err, os.ErrNotExist) {
		return Record{}, fmt.Errorf("%w: %s", ErrNotDone, id)
	}
	if err != nil {
		return Record{}, fmt.Errorf("harness: %w", err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil || r.ID != id {
		return Record{}, fmt.Errorf("harness: %s: unreadable record (%v): remove it to rerun the trial", s.path(id), err)
	}
	return r, nil
}

// Save writes trial t's record with result atomically.
func (s Store) Save(t Trial, version string, seconds float64, result any) error {
	b, err := json.Marshal(result)
	if err != nil {
		return fmt.Errorf("harness: result of %s: %w", t.ID, err)
	}
	rec := Record{ID: t.ID, Kind: t.Kind, Name: t.Name, Needs: t.Needs, Version: version, Seconds: seconds, Result: b}
	out, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("harness: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(s.path(t.ID)), 0o755); err != nil {
		return fmt.Errorf("harness: %w", err)
	}
	return atomicfile.WriteBytes(s.path(t.ID), append(out, '\n'))
}

// Result decodes the result of the finished trial id.
func Result[T any](s Store, id string) (T, error) {
	var v T
	r, err := s.Record(id)
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(r.Result, &v); err != nil {
		return v, fmt.Errorf("harness: result of %s: %v", id, err)
	}
	return v, nil
}

// Runner runs the trials of a plan.
type Runner struct {
	Store   Store
	Version string    // recorded with every trial
	Log     io.Writer // one line per trial started and finished; nil: none
	// Backend runs the trials; nil: Local{Jobs: 1}, one after another in
	// plan order in this process.
	Backend Backend
}

// Run runs every unfinished trial of p in plan order, or, when only is not
// empty, the trial only and the unfinished trials it needs, with the
// Runner's Backend. A failed trial's record is not written and the trials
// that need it are not run; the others still are. The error names every
// trial that failed (see TrialError).
func (r *Runner) Run(ctx context.Context, p *Plan, only string) error {
	ids, err := r.todo(p, only)
	if err != nil || len(ids) == 0 {
		return err
	}
	b := r.Backend
	if b == nil {
		b = Local{Jobs: 1}
	}
	return b.Run(ctx, r, p, ids)
}

// todo returns the unfinished trials of p (only: of only's closure), in
// plan order.
func (r *Runner) todo(p *Plan, only string) ([]string, error) {
	var ids []string
	if only != "" {
		var err error
		if ids, err = p.Closure(only); err != nil {
			return nil, err
		}
	} else {
		for _, t := range p.Trials {
			ids = append(ids, t.ID)
		}
	}
	out := ids[:0]
	for _, id := range ids {
		if !r.Store.Done(id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// RunTrial runs trial id of p in this process and saves its record, unless
// it is finished. It holds the trial's lock (flock on DIR/trials/ID.lock)
// meanwhile, waiting while another process runs the same trial, so two
// processes never run one trial at once; the one that waited finds the
// trial finished and returns. This makes commands racing on one directory
// harmless: every file a trial writes is written by the lock's holder only.
func (r *Runner) RunTrial(ctx context.Context, p *Plan, id string) error {
	t, ok := p.Trial(id)
	if !ok {
		return fmt.Errorf("%w: %q (wow … --plan lists the trials)", ErrUnknownTrial, id)
	}
	if r.Store.Done(id) {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return &TrialError{ID: id, Err: err}
	}
	release, err := r.Store.lock(ctx, id, func() { r.logf("trial %s: waiting for the process running it", id) })
	if err != nil {
		return &TrialError{ID: id, Err: err}
	}
	defer release()
	if r.Store.Done(id) {
		r.logf("trial %s: done by another process", id)
		return nil
	}
	r.logf("trial %s: running", id)
	t0 := time.Now()
	res, err := t.Run(ctx, r)
	if err != nil {
		return &TrialError{ID: id, Err: err}
	}
	secs := time.Since(t0).Seconds()
	if err := r.Store.Save(t, r.Version, secs, res); err != nil {
		return &TrialError{ID: id, Err: err}
	}
	r.logf("trial %s: done in %.1fs", id, secs)
	return nil
}

func (r *Runner) logf(format string, a ...any) {
	if r.Log != nil {
		fmt.Fprintf(r.Log, format+"\n", a...)
	}
}

// An Experiment is a plan, the store of its trials, and what runs around
// them: Prepare (once, before any trial: check or migrate the directory) and
// Tabulate (after a run of every trial: write the tables from the records).
type Experiment struct {
	Plan    Plan
	Store   Store
	Version string    // recorded with every trial
	Log     io.Writer // progress lines; nil: none
	// Backend runs the trials; nil: the one in Run's context (WithBackend),
	// else Local{Jobs: 1}.
	Backend  Backend
	Prepare  func() error
	Tabulate func() error
}

// Run prepares the experiment and runs its unfinished trials (only: that
// trial and what it needs), then tabulates unless only was given.
func (e *Experiment) Run(ctx context.Context, only string) error {
	if e.Prepare != nil {
		if err := e.Prepare(); err != nil {
			return err
		}
	}
	b := e.Backend
	if b == nil {
		b = BackendFrom(ctx)
	}
	r := &Runner{Store: e.Store, Version: e.Version, Log: e.Log, Backend: b}
	if err := r.Run(ctx, &e.Plan, only); err != nil {
		return err
	}
	if only == "" && e.Tabulate != nil {
		return e.Tabulate()
	}
	return nil
}

// Records returns the records of every finished trial of kind in the
// store, in file-name order; unreadable ones are errors.
func (s Store) Records(kind string) ([]Record, error) {
	names, err := filepath.Glob(filepath.Join(s.Dir, "trials", kind+"-*.json"))
	if err != nil {
		return nil, fmt.Errorf("harness: %w", err)
	}
	var out []Record
	for _, n := range names {
		r, err := s.Record(strings.TrimSuffix(filepath.Base(n), ".json"))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

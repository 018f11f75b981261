package flows

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/optim"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Errors of this package.
var (
	ErrDiverged = errors.New("flows: non-finite loss or gradient")
	ErrConfig   = errors.New("flows: invalid configuration")
)

// Config configures a flow. The zero value of each field is its documented
// default.
type Config struct {
	// Steps is the number of steps Run takes (> 0 for Run).
	Steps int
	// Directions is L, the number of projection directions redrawn every
	// step and shared by every class pair. Zero means 500.
	Directions int
	// DirectionSource draws the directions; nil draws them uniformly on the
	// sphere from the flow's RNG. functionals.FixedDirections makes runs and
	// tests deterministic in the directions.
	DirectionSource functionals.DirectionSource
	// Optimizer moves the particles; nil means heavy-ball momentum with
	// τ = 0.1, m = 0 (explicit Euler), the paper's setting for 2-D data.
	Optimizer optim.Optimizer
	// Seed seeds the flow's RNG (directions, target batches).
	Seed uint64
	// Dtype is tensor.Float64 (default) or tensor.Float32.
	Dtype tensor.Dtype
	// Recorder, if non-nil, is called after every step; an error stops Run.
	Recorder Recorder
	// Euclidean disables the WoW rescaling: particles then follow the plain
	// gradient of F̃ (for comparisons).
	Euclidean bool
	// ParticleScale multiplies the gradient by the number of particles N
	// instead of the WoW factor n_c/a_c (the "×n" of the baselines in the
	// authors' code: OTDD and Hua et al. flow particles, not classes).
	// It excludes Euclidean.
	ParticleScale bool
	// Checkpoint makes Run save the full flow state every Checkpoint.Every
	// steps and when the run ends, is stopped or canceled (see Restore).
	Checkpoint CheckpointConfig
}

// StepInfo describes one step: the loss and WoW-gradient norm evaluated at
// the particles before the step's update.
type StepInfo struct {
	Step     int           // 1-based index of the step
	Loss     float64       // F(P) before the update
	GradNorm float64       // Frobenius norm of the WoW gradient over all particles
	Elapsed  time.Duration // since the flow was created or resumed
}

// Recorder is called after every step; a non-nil error stops the run.
type Recorder interface{ Record(StepInfo) error }

// RecorderFunc adapts a function to a Recorder.
type RecorderFunc func(StepInfo) error

// Record implements Recorder.
func (f RecorderFunc) Record(s StepInfo) error { return f(s) }

// Status says how a run ended.
type Status int

// Run statuses.
const (
	Finished Status = iota // all steps taken
	Stopped                // the Recorder returned an error
	Canceled               // the context was canceled
	Diverged               // a non-finite loss or gradient
	Failed                 // another error
)

func (s Status) String() string {
	return [...]string{"finished", "stopped", "canceled", "diverged", "failed"}[s]
}

// Result is the outcome of Run.
type Result struct {
	X       *graph.Dataset // the particles at the end (a copy)
	Status  Status
	Steps   int           // steps taken
	Loss    float64       // F at the final particles (fresh directions)
	Elapsed time.Duration // wall-clock time of the run
}

// Flow is a WoW gradient flow in progress. It is not safe for concurrent use.
type Flow struct {
	cfg     Config
	f       functionals.Functional
	env     *functionals.Env
	node    graph.Node
	loss    *gorgonia.Node
	grad    *gorgonia.Node
	machine gorgonia.VM
	src     *rand.PCG
	rng     *rand.Rand
	x       *tensor.Dense // the particles (X's bound value), updated in place
	g       *tensor.Dense // the WoW gradient of the last evaluation
	scale   []float64     // per-row WoW factor n_c/a_c
	layout  graph.Layout
	step    int
	start   time.Time
}

// New builds the graph of f over a copy of the dataset x and returns a flow
// ready to step.
func New(x *graph.Dataset, f functionals.Functional, cfg Config) (*Flow, error) {
	if f == nil {
		return nil, fmt.Errorf("flows: no functional: %w", ErrConfig)
	}
	if err := x.Validate(); err != nil {
		return nil, fmt.Errorf("flows: initial dataset: %w", err)
	}
	if cfg.Dtype == (tensor.Dtype{}) {
		cfg.Dtype = tensor.Float64
	}
	if cfg.Steps < 0 || cfg.Directions < 0 || cfg.Checkpoint.Every < 0 {
		return nil, fmt.Errorf("flows: steps %d, directions %d and checkpoint interval %d must be ≥ 0: %w", cfg.Steps, cfg.Directions, cfg.Checkpoint.Every, ErrConfig)
	}
	if cfg.Euclidean && cfg.ParticleScale {
		return nil, fmt.Errorf("flows: Euclidean and ParticleScale are exclusive: %w", ErrConfig)
	}
	if cfg.Optimizer == nil {
		cfg.Optimizer = &optim.Momentum{Tau: 0.1}
	}
	env, err := functionals.NewEnv(cfg.Dtype, cfg.Directions)
	if err != nil {
		return nil, err
	}
	env.Directions = cfg.DirectionSource
	name := env.UniqueName("particles")
	node, err := graph.NewNode(env.G, x, cfg.Dtype, name)
	if err != nil {
		return nil, err
	}
	loss, err := f.Build(env, node)
	if err != nil {
		return nil, fmt.Errorf("flows: building %v: %w", f, err)
	}
	if !loss.IsScalar() {
		return nil, fmt.Errorf("flows: %v returned shape %v, want a scalar: %w", f, loss.Shape(), ErrConfig)
	}
	grads, err := gorgonia.Grad(loss, node.X)
	if err != nil {
		return nil, fmt.Errorf("flows: differentiating %v: %w", f, err)
	}
	// Compile only what the loss and ∂F/∂X need (not, e.g., ∂F/∂Θ).
	sub := env.G.ExactSubgraphRoots(loss, grads[0])
	fl := &Flow{
		cfg: cfg, f: f, env: env, node: node, loss: loss, grad: grads[0],
		machine: gorgonia.NewTapeMachine(sub),
		src:     rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15),
		x:       node.X.Value().(*tensor.Dense),
		g:       tensor.New(tensor.Of(cfg.Dtype), tensor.WithShape(x.Len(), x.D)),
		layout:  node.Layout,
		start:   time.Now(),
	}
	fl.rng = rand.New(fl.src)
	fl.scale = make([]float64, x.Len())
	for c := 0; c < x.NumClasses(); c++ {
		s := 1.0
		switch {
		case cfg.ParticleScale:
			s = float64(x.Len())
		case !cfg.Euclidean:
			s = float64(x.ClassSize(c)) / x.Weight(c)
		}
		for i := x.Offsets[c]; i < x.Offsets[c+1]; i++ {
			fl.scale[i] = s
		}
	}
	return fl, nil
}

// Close releases the machine.
func (fl *Flow) Close() { fl.machine.Close() }

// Env returns the build environment (for functionals that need it after
// building, e.g. to inspect inputs).
func (fl *Flow) Env() *functionals.Env { return fl.env }

// StepCount returns the number of steps taken.
func (fl *Flow) StepCount() int { return fl.step }

// Evaluate draws this step's random inputs, evaluates F and its WoW
// gradient at the current particles and returns the loss and a copy of the
// gradient (n×d row-major, classes packed as in the dataset). It does not
// move the particles but advances the RNG.
func (fl *Flow) Evaluate() (float64, []float64, error) {
	loss, norm, err := fl.evaluate()
	if err != nil {
		return loss, nil, err
	}
	_ = norm
	g, err := graph.Float64s(fl.g)
	return loss, append([]float64(nil), g...), err
}

func (fl *Flow) evaluate() (loss, norm float64, err error) {
	if err := fl.env.Update(fl.rng); err != nil {
		return 0, 0, err
	}
	defer fl.machine.Reset()
	if err := fl.machine.RunAll(); err != nil {
		return 0, 0, fmt.Errorf("flows: evaluating %v: %w", fl.f, err)
	}
	if loss, err = functionals.ScalarValue(fl.loss); err != nil {
		return 0, 0, err
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, 0, fmt.Errorf("flows: step %d: loss is %v: %w", fl.step+1, loss, ErrDiverged)
	}
	gt, ok := fl.grad.Value().(tensor.Tensor)
	if !ok {
		return loss, 0, fmt.Errorf("flows: gradient is %T, not a tensor", fl.grad.Value())
	}
	d := fl.layout.D
	ss := 0.0
	switch dst := fl.g.Data().(type) {
	case []float64:
		src := gt.Data().([]float64)
		for i, v := range src {
			v *= fl.scale[i/d]
			dst[i] = v
			ss += v * v
		}
	case []float32:
		src := gt.Data().([]float32)
		for i, v := range src {
			w := float64(v) * fl.scale[i/d]
			dst[i] = float32(w)
			ss += w * w
		}
	}
	norm = math.Sqrt(ss)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return loss, norm, fmt.Errorf("flows: step %d: gradient is not finite: %w", fl.step+1, ErrDiverged)
	}
	return loss, norm, nil
}

// Step evaluates F and its WoW gradient and moves the particles by one
// optimizer step.
func (fl *Flow) Step() (StepInfo, error) {
	loss, norm, err := fl.evaluate()
	if err != nil {
		return StepInfo{Step: fl.step + 1, Loss: loss, GradNorm: norm, Elapsed: time.Since(fl.start)}, err
	}
	p := optim.Param{Val: fl.x, Gradient: fl.g, Label: fl.node.X.Name()}
	if err := fl.cfg.Optimizer.Step([]gorgonia.ValueGrad{p}); err != nil {
		return StepInfo{}, fmt.Errorf("flows: optimizer step %d: %w", fl.step+1, err)
	}
	fl.step++
	return StepInfo{Step: fl.step, Loss: loss, GradNorm: norm, Elapsed: time.Since(fl.start)}, nil
}

// Run takes the configured number of steps (or the remaining ones after a
// Restore), calling the Recorder after each, and returns the final particles.
// A non-finite loss or gradient stops the run with status Diverged and an
// error wrapping ErrDiverged; the particles are those before the bad step.
// With checkpoints configured, the state is saved every Checkpoint.Every
// steps and when the run ends, is stopped by the Recorder or canceled.
func (fl *Flow) Run(ctx context.Context) (Result, error) {
	if fl.cfg.Steps <= 0 {
		return Result{}, fmt.Errorf("flows: %d steps: %w", fl.cfg.Steps, ErrConfig)
	}
	t0 := time.Now()
	res := Result{Status: Finished}
	stop := func(st Status, err error) (Result, error) {
		res.Status = st
		if st != Diverged && st != Failed {
			if cerr := fl.saveCheckpoint(); cerr != nil {
				err = errors.Join(err, cerr)
			}
		}
		return fl.finish(res, t0), err
	}
	for fl.step < fl.cfg.Steps {
		if err := ctx.Err(); err != nil {
			return stop(Canceled, err)
		}
		info, err := fl.Step()
		if err != nil {
			if errors.Is(err, ErrDiverged) {
				return stop(Diverged, err)
			}
			return stop(Failed, err)
		}
		if fl.cfg.Recorder != nil {
			if err := fl.cfg.Recorder.Record(info); err != nil {
				return stop(Stopped, err)
			}
		}
		if k := fl.cfg.Checkpoint.Every; k > 0 && fl.step%k == 0 && fl.step < fl.cfg.Steps {
			if err := fl.saveCheckpoint(); err != nil {
				return stop(Failed, err)
			}
		}
	}
	if err := fl.saveCheckpoint(); err != nil {
		return stop(Failed, err)
	}
	loss, _, err := fl.evaluate()
	res = fl.finish(res, t0)
	res.Loss = loss
	return res, err
}

func (fl *Flow) finish(res Result, t0 time.Time) Result {
	res.X = fl.Particles()
	res.Steps = fl.step
	res.Elapsed = time.Since(t0)
	res.Loss = math.NaN()
	return res
}

// Particles returns a copy of the current particles as a dataset.
func (fl *Flow) Particles() *graph.Dataset {
	v, _ := graph.Float64s(fl.x)
	ds := &graph.Dataset{Data: append([]float64(nil), v...), Offsets: append([]int(nil), fl.layout.Offsets...), D: fl.layout.D}
	ds.Weights = append([]float64(nil), fl.layout.Weights...)
	return ds
}

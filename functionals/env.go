package functionals

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/wowflow/wowflow/graph"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Errors of this package.
var (
	ErrParam   = errors.New("functionals: invalid parameter")
	ErrNoGraph = errors.New("functionals: env has no graph")
)

// DirectionSource fills theta (d×L, row-major, unit columns) with the
// projection directions of one step.
type DirectionSource interface {
	Draw(rng *rand.Rand, d, L int, theta []float64) error
}

// RandomDirections draws θ_l = g_l/‖g_l‖, g_l ~ N(0, I_d): uniform on the sphere.
type RandomDirections struct{}

// Draw implements DirectionSource.
func (RandomDirections) Draw(rng *rand.Rand, d, L int, theta []float64) error {
	col := make([]float64, d)
	for l := 0; l < L; l++ {
		nrm := 0.0
		for k := range col {
			col[k] = rng.NormFloat64()
			nrm += col[k] * col[k]
		}
		nrm = math.Sqrt(nrm)
		for k, v := range col {
			theta[k*L+l] = v / nrm
		}
	}
	return nil
}

// FixedDirections uses the same directions at every step: Theta is the d×L
// row-major matrix of the L directions (column l is θ_l, the layout of
// DirectionSource and of every direction matrix in the Go API), used as given.
type FixedDirections struct {
	Theta []float64
	L     int
}

// Draw implements DirectionSource.
func (f FixedDirections) Draw(_ *rand.Rand, d, L int, theta []float64) error {
	if f.L != L || len(f.Theta) != d*L {
		return fmt.Errorf("functionals: fixed directions are %d values for L=%d, the step needs d×L = %d×%d: %w", len(f.Theta), f.L, d, L, ErrParam)
	}
	copy(theta, f.Theta)
	return nil
}

// Env is the build context shared by the functionals of one graph: the graph,
// its dtype, the projection directions (one d×L node per dimension d, shared
// by every functional and class pair) and the inputs refreshed before every
// evaluation.
type Env struct {
	G          *gorgonia.ExprGraph
	Dtype      tensor.Dtype
	L          int             // directions per step
	Directions DirectionSource // nil: RandomDirections

	proj   map[int]*gorgonia.Node
	feeds  []feed
	names  map[string]bool
	shared map[string]any
	fixed  map[int64]bool // Fixed's answers
}

type feed struct {
	node   *gorgonia.Node
	stage  []float64
	t      *tensor.Dense
	update func(rng *rand.Rand, data []float64) error
	once   bool
	done   bool
}

// NewEnv returns an Env on a new graph. L is the number of projection
// directions per step (zero means 500).
func NewEnv(dt tensor.Dtype, L int) (*Env, error) {
	if dt != tensor.Float64 && dt != tensor.Float32 {
		return nil, fmt.Errorf("functionals: dtype %v, want float64 or float32: %w", dt, ErrParam)
	}
	if L == 0 {
		L = 500
	}
	if L < 0 {
		return nil, fmt.Errorf("functionals: %d projection directions: %w", L, ErrParam)
	}
	return &Env{G: gorgonia.NewGraph(), Dtype: dt, L: L}, nil
}

// UniqueName returns base, or base with a numeric suffix if base is taken.
func (e *Env) UniqueName(base string) string {
	if e.names == nil {
		e.names = map[string]bool{}
	}
	name := base
	for i := 2; e.names[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	e.names[name] = true
	return name
}

// Input adds a uniquely named rows×cols input node whose value is rewritten
// by update before every evaluation (update receives a float64 staging buffer;
// the Env converts to the graph's dtype).
func (e *Env) Input(name string, rows, cols int, update func(rng *rand.Rand, data []float64) error) (*gorgonia.Node, error) {
	return e.input(name, rows, cols, update, false)
}

// Constant adds a uniquely named rows×cols input node holding data (copied)
// that never changes.
func (e *Env) Constant(name string, rows, cols int, data []float64) (*gorgonia.Node, error) {
	if len(data) != rows*cols {
		return nil, fmt.Errorf("functionals: constant %s has %d values, want %d×%d: %w", name, len(data), rows, cols, ErrParam)
	}
	d := append([]float64(nil), data...)
	return e.input(name, rows, cols, func(_ *rand.Rand, dst []float64) error { copy(dst, d); return nil }, true)
}

func (e *Env) input(name string, rows, cols int, update func(*rand.Rand, []float64) error, once bool) (*gorgonia.Node, error) {
	if e.G == nil {
		return nil, ErrNoGraph
	}
	if rows <= 0 || cols <= 0 {
		return nil, fmt.Errorf("functionals: input %s has shape %d×%d: %w", name, rows, cols, ErrParam)
	}
	stage := make([]float64, rows*cols)
	t := graph.DenseFrom(e.Dtype, stage, rows, cols)
	n := gorgonia.NewMatrix(e.G, e.Dtype, gorgonia.WithShape(rows, cols), gorgonia.WithName(e.UniqueName(name)), gorgonia.WithValue(t))
	e.feeds = append(e.feeds, feed{node: n, stage: stage, t: t, update: update, once: once})
	return n, nil
}

// Projections returns the d×L node of this step's projection directions,
// shared by every functional of the graph that projects d-dimensional points.
func (e *Env) Projections(d int) (*gorgonia.Node, error) {
	if e.proj == nil {
		e.proj = map[int]*gorgonia.Node{}
	}
	if n, ok := e.proj[d]; ok {
		return n, nil
	}
	src := e.Directions
	if src == nil {
		src = RandomDirections{}
	}
	n, err := e.Input(fmt.Sprintf("theta_d%d", d), d, e.L, func(rng *rand.Rand, theta []float64) error {
		return src.Draw(rng, d, e.L, theta)
	})
	if err != nil {
		return nil, err
	}
	e.proj[d] = n
	return n, nil
}

// Update refreshes every input in registration order (directions, target
// batches, …) from rng. The flow runner calls it before every evaluation.
func (e *Env) Update(rng *rand.Rand) error {
	for i := range e.feeds {
		f := &e.feeds[i]
		if f.once && f.done {
			continue
		}
		if err := f.update(rng, f.stage); err != nil {
			return fmt.Errorf("functionals: updating %s: %w", f.node.Name(), err)
		}
		if d, ok := f.t.Data().([]float32); ok {
			for j, v := range f.stage {
				d[j] = float32(v)
			}
		}
		f.done = true
	}
	return nil
}

// Shared returns the value stored under key on this Env, building and
// storing it on the first call. Maps with random parameters use it so that
// every dataset mapped on one Env (the particles and a target) shares one
// set of parameter nodes per step, and so that those nodes live and die with
// the Env.
func (e *Env) Shared(key string, build func() (any, error)) (any, error) {
	if v, ok := e.shared[key]; ok {
		return v, nil
	}
	v, err := build()
	if err != nil {
		return nil, err
	}
	if e.shared == nil {
		e.shared = map[string]any{}
	}
	e.shared[key] = v
	return v, nil
}

// Fixed reports whether the value of n depends on this Env's inputs and on
// constants only, so that nothing flowed reaches it and no gradient flows
// through it: an MMD target and what maps make of it. A map may evaluate a
// fixed node without keeping what a gradient would need (RandomConvNet
// streams it through a forward-only op). Any other input node (the
// particles) makes the nodes computed from it not fixed.
func (e *Env) Fixed(n *gorgonia.Node) bool {
	if v, ok := e.fixed[n.ID()]; ok {
		return v
	}
	if e.fixed == nil {
		e.fixed = map[int64]bool{}
	}
	fixed := true
	if kids := e.G.From(n.ID()); kids == nil || kids.Len() == 0 {
		fixed = !n.IsVar() || slices.ContainsFunc(e.feeds, func(f feed) bool { return f.node == n })
	} else {
		for kids.Next() {
			if !e.Fixed(kids.Node().(*gorgonia.Node)) {
				fixed = false
				break
			}
		}
	}
	e.fixed[n.ID()] = fixed
	return fixed
}

// Scalar returns a constant scalar of the graph's dtype.
func (e *Env) Scalar(v float64) *gorgonia.Node { return graph.Scalar(e.G, e.Dtype, v) }

// Project returns the n×L projections of the rows of x (n×d) on this step's
// directions.
func (e *Env) Project(x *gorgonia.Node) (*gorgonia.Node, error) {
	if len(x.Shape()) != 2 {
		return nil, fmt.Errorf("functionals: project %s: shape %v is not n×d: %w", x.Name(), x.Shape(), ErrParam)
	}
	th, err := e.Projections(x.Shape()[1])
	if err != nil {
		return nil, err
	}
	return gorgonia.Mul(x, th)
}

// ScalarValue reads a float64 from a scalar node's value.
func ScalarValue(n *gorgonia.Node) (float64, error) {
	switch v := n.Value().(type) {
	case *gorgonia.F64:
		return float64(*v), nil
	case *gorgonia.F32:
		return float64(*v), nil
	case tensor.Tensor:
		if v.Shape().TotalSize() == 1 {
			switch d := v.Data().(type) {
			case float64:
				return d, nil
			case float32:
				return float64(d), nil
			case []float64:
				return d[0], nil
			case []float32:
				return float64(d[0]), nil
			}
		}
	}
	return 0, fmt.Errorf("functionals: %s is not a scalar (value %T)", n.Name(), n.Value())
}

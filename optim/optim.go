package optim

import (
	"errors"
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Optimizer updates parameter values in place from their gradients. It is
// gorgonia.Solver's method set.
type Optimizer interface {
	Step(params []gorgonia.ValueGrad) error
}

// Stateful optimizers expose their state for checkpoints.
type Stateful interface {
	// State returns a copy of the optimizer's state vectors and step count.
	State() State
	// SetState restores a state returned by State.
	SetState(State) error
}

// State is the serialisable state of an optimizer.
type State struct {
	T    int         `json:"t"`
	Bufs [][]float64 `json:"bufs"`
}

// ErrParam reports an invalid optimizer setting or parameter.
var ErrParam = errors.New("optim: invalid parameter")

var (
	_ Optimizer = gorgonia.Solver(nil)
	_ Optimizer = (*Euler)(nil)
	_ Optimizer = (*Momentum)(nil)
	_ Optimizer = (*Adam)(nil)
	_ Stateful  = (*Momentum)(nil)
	_ Stateful  = (*Adam)(nil)
)

// Euler is the explicit Euler step x ← x − Tau·g. Tau > 0.
type Euler struct {
	Tau float64
	buf scratch
}

// Step implements Optimizer.
func (o *Euler) Step(params []gorgonia.ValueGrad) error {
	if !(o.Tau > 0) {
		return fmt.Errorf("optim: euler step size %v must be positive: %w", o.Tau, ErrParam)
	}
	return each(&o.buf, params, func(_ int, x, g []float64) {
		for j := range x {
			x[j] -= o.Tau * g[j]
		}
	})
}

// Momentum is the heavy-ball scheme of the paper: v ← g + M·v, x ← x − Tau·v,
// v_0 = 0, M ∈ [0, 1). With Nesterov set, x ← x − Tau·(g + M·v) instead.
type Momentum struct {
	Tau, M   float64
	Nesterov bool
	v        [][]float64
	buf      scratch
}

// Step implements Optimizer.
func (o *Momentum) Step(params []gorgonia.ValueGrad) error {
	if !(o.Tau > 0) || !(o.M >= 0 && o.M < 1) {
		return fmt.Errorf("optim: momentum τ=%v must be positive and m=%v in [0, 1): %w", o.Tau, o.M, ErrParam)
	}
	return each(&o.buf, params, func(i int, x, g []float64) {
		o.v = ensure(o.v, i, len(x))
		v := o.v[i]
		for j := range x {
			v[j] = g[j] + o.M*v[j]
			if o.Nesterov {
				x[j] -= o.Tau * (g[j] + o.M*v[j])
			} else {
				x[j] -= o.Tau * v[j]
			}
		}
	})
}

// State implements Stateful.
func (o *Momentum) State() State { return State{Bufs: clone2(o.v)} }

// SetState implements Stateful.
func (o *Momentum) SetState(s State) error { o.v = clone2(s.Bufs); return nil }

// Adam is Kingma & Ba's method with step Tau (learning rate), decay rates
// Beta1 ∈ [0, 1), Beta2 ∈ (0, 1) and Eps > 0, each used as given: start
// from NewAdam for the usual 0.9, 0.999, 1e-8 (β1 = 0 is a valid setting,
// Adam without a first moment, so zero is not read as "the default"). A
// positive WeightDecay λ makes it AdamW (Loshchilov & Hutter 2019, decoupled
// weight decay, as torch.optim.AdamW): x ← x − τ·λ·x before the Adam step.
type Adam struct {
	Tau, Beta1, Beta2, Eps float64
	WeightDecay            float64
	t                      int
	m, s                   [][]float64
	buf                    scratch
}

// NewAdam returns Adam with learning rate tau and the usual β1 = 0.9,
// β2 = 0.999, ε = 1e-8, without weight decay.
func NewAdam(tau float64) *Adam { return &Adam{Tau: tau, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

// Step implements Optimizer.
func (o *Adam) Step(params []gorgonia.ValueGrad) error {
	b1, b2, eps := o.Beta1, o.Beta2, o.Eps
	if !(o.Tau > 0) || !(b1 >= 0 && b1 < 1) || !(b2 > 0 && b2 < 1) || !(eps > 0) || !(o.WeightDecay >= 0) {
		return fmt.Errorf("optim: adam τ=%v, β1=%v, β2=%v, ε=%v, λ=%v out of range (want τ > 0, β1 ∈ [0, 1), β2 ∈ (0, 1), ε > 0, λ ≥ 0; NewAdam sets the usual ones): %w",
			o.Tau, b1, b2, eps, o.WeightDecay, ErrParam)
	}
	o.t++
	c1, c2 := 1-math.Pow(b1, float64(o.t)), 1-math.Pow(b2, float64(o.t))
	return each(&o.buf, params, func(i int, x, g []float64) {
		o.m, o.s = ensure(o.m, i, len(x)), ensure(o.s, i, len(x))
		m, s := o.m[i], o.s[i]
		decay := 1 - o.Tau*o.WeightDecay
		for j := range x {
			x[j] *= decay
			m[j] = b1*m[j] + (1-b1)*g[j]
			s[j] = b2*s[j] + (1-b2)*g[j]*g[j]
			x[j] -= o.Tau * (m[j] / c1) / (math.Sqrt(s[j]/c2) + eps)
		}
	})
}

// State implements Stateful: Bufs holds the first then the second moments.
func (o *Adam) State() State {
	return State{T: o.t, Bufs: append(clone2(o.m), clone2(o.s)...)}
}

// SetState implements Stateful.
func (o *Adam) SetState(s State) error {
	if len(s.Bufs)%2 != 0 {
		return fmt.Errorf("optim: adam state has %d buffers, want an even number: %w", len(s.Bufs), ErrParam)
	}
	h := len(s.Bufs) / 2
	o.t, o.m, o.s = s.T, clone2(s.Bufs[:h]), clone2(s.Bufs[h:])
	return nil
}

// each calls f(i, x, g) with float64 views of every parameter's value and
// gradient (converted through scratch buffers for float32 and written back).
func each(scratch *scratch, params []gorgonia.ValueGrad, f func(i int, x, g []float64)) error {
	for i, p := range params {
		gv, err := p.Grad()
		if err != nil {
			return fmt.Errorf("optim: parameter %d has no gradient: %w", i, err)
		}
		xt, ok1 := p.Value().(tensor.Tensor)
		gt, ok2 := gv.(tensor.Tensor)
		if !ok1 || !ok2 {
			return fmt.Errorf("optim: parameter %d is not a tensor (%T, %T): %w", i, p.Value(), gv, ErrParam)
		}
		if xt.Shape().TotalSize() != gt.Shape().TotalSize() {
			return fmt.Errorf("optim: parameter %d has shape %v, its gradient %v: %w", i, xt.Shape(), gt.Shape(), ErrParam)
		}
		switch x := xt.Data().(type) {
		case []float64:
			g, ok := gt.Data().([]float64)
			if !ok {
				return fmt.Errorf("optim: parameter %d is float64, its gradient %v: %w", i, gt.Dtype(), ErrParam)
			}
			f(i, x, g)
		case []float32:
			g, ok := gt.Data().([]float32)
			if !ok {
				return fmt.Errorf("optim: parameter %d is float32, its gradient %v: %w", i, gt.Dtype(), ErrParam)
			}
			x64, g64 := widenInto(&scratch.x, x), widenInto(&scratch.g, g)
			f(i, x64, g64)
			for j, v := range x64 {
				x[j] = float32(v)
			}
		default:
			return fmt.Errorf("optim: parameter %d has dtype %v: %w", i, xt.Dtype(), ErrParam)
		}
	}
	return nil
}

// scratch holds the float64 copies of float32 parameters, reused across
// steps (an optimizer is not safe for concurrent use).
type scratch struct{ x, g []float64 }

func widenInto(buf *[]float64, v []float32) []float64 {
	if cap(*buf) < len(v) {
		*buf = make([]float64, len(v))
	}
	out := (*buf)[:len(v)]
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func ensure(bufs [][]float64, i, n int) [][]float64 {
	for len(bufs) <= i {
		bufs = append(bufs, nil)
	}
	if len(bufs[i]) != n {
		bufs[i] = make([]float64, n)
	}
	return bufs
}

func clone2(b [][]float64) [][]float64 {
	out := make([][]float64, len(b))
	for i, v := range b {
		out[i] = append([]float64(nil), v...)
	}
	return out
}

// Param pairs a value tensor with its gradient; it implements
// gorgonia.ValueGrad for optimizers driven outside a graph (the flow runner
// hands WoW gradients to the optimizer this way).
type Param struct {
	Val, Gradient tensor.Tensor
	Label         string
}

// Value implements gorgonia.Valuer.
func (p Param) Value() gorgonia.Value { return p.Val }

// Grad implements gorgonia.ValueGrad.
func (p Param) Grad() (gorgonia.Value, error) {
	if p.Gradient == nil {
		return nil, fmt.Errorf("optim: parameter %q has no gradient: %w", p.Label, ErrParam)
	}
	return p.Gradient, nil
}

// Name names the parameter in gorgonia's solver errors.
func (p Param) Name() string { return p.Label }

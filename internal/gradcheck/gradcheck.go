// Package gradcheck compares gorgonia's symbolic gradients with central finite
// differences, for tests.
package gradcheck

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Result reports the largest discrepancy found.
type Result struct {
	MaxAbsErr, MaxRelErr float64
	Index                int
	Analytic, Numeric    float64
}

// Check evaluates the scalar node loss and its gradient with respect to the
// float64 input node wrt (bound to x) on a TapeMachine, then compares every
// coordinate of the gradient with a central difference of step h. It returns
// the worst coordinate by relative error max(|a−n|/max(|a|,|n|,floor)).
func Check(g *gorgonia.ExprGraph, loss, wrt *gorgonia.Node, x []float64, h, floor float64) (Result, error) {
	p, err := newProbe(g, loss, wrt, x)
	if err != nil {
		return Result{}, err
	}
	defer p.m.Close()
	var res Result
	for i := range p.data {
		num, err := p.difference(x, h, func(j int) float64 {
			if j == i {
				return 1
			}
			return 0
		})
		if err != nil {
			return res, err
		}
		res.worst(i, p.grad[i], num, floor)
	}
	return res, p.reset(x)
}

// Directional is Check along k random directions, for inputs too large to
// check coordinate by coordinate: it compares the derivative of loss along
// unit vectors u at x (the coordinates of u drawn from r.NormFloat64, then
// normalised), ⟨∇loss, u⟩, with a central difference of step h, and returns
// the worst direction (Index) by the same relative error.
func Directional(g *gorgonia.ExprGraph, loss, wrt *gorgonia.Node, x []float64, r *rand.Rand, k int, h, floor float64) (Result, error) {
	p, err := newProbe(g, loss, wrt, x)
	if err != nil {
		return Result{}, err
	}
	defer p.m.Close()
	var res Result
	for d := 0; d < k; d++ {
		u := make([]float64, len(x))
		norm := 0.0
		for j := range u {
			u[j] = r.NormFloat64()
			norm += u[j] * u[j]
		}
		norm = math.Sqrt(norm)
		ana := 0.0
		for j := range u {
			u[j] /= norm
			ana += p.grad[j] * u[j]
		}
		num, err := p.difference(x, h, func(j int) float64 { return u[j] })
		if err != nil {
			return res, err
		}
		res.worst(d, ana, num, floor)
	}
	return res, p.reset(x)
}

// probe is a graph evaluated at points near x.
type probe struct {
	m    gorgonia.VM
	loss *gorgonia.Node
	data []float64 // the value of wrt
	grad []float64 // the gradient at x
}

func newProbe(g *gorgonia.ExprGraph, loss, wrt *gorgonia.Node, x []float64) (*probe, error) {
	grads, err := gorgonia.Grad(loss, wrt)
	if err != nil {
		return nil, fmt.Errorf("gradcheck: grad: %w", err)
	}
	xt := tensor.New(tensor.WithShape(wrt.Shape().Clone()...), tensor.WithBacking(append([]float64(nil), x...)))
	if err := gorgonia.Let(wrt, xt); err != nil {
		return nil, err
	}
	p := &probe{m: gorgonia.NewTapeMachine(g), loss: loss, data: xt.Data().([]float64)}
	if _, err := p.eval(); err != nil {
		p.m.Close()
		return nil, err
	}
	p.grad = append([]float64(nil), grads[0].Value().Data().([]float64)...)
	return p, nil
}

func (p *probe) eval() (float64, error) {
	p.m.Reset()
	if err := p.m.RunAll(); err != nil {
		return 0, err
	}
	return scalar(p.loss.Value())
}

// difference returns the central difference of step h of the loss at x
// along the direction u.
func (p *probe) difference(x []float64, h float64, u func(j int) float64) (float64, error) {
	var f [2]float64
	for s, sign := range [2]float64{1, -1} {
		for j := range p.data {
			if d := u(j); d != 0 {
				p.data[j] = x[j] + sign*h*d
			} else {
				p.data[j] = x[j]
			}
		}
		var err error
		if f[s], err = p.eval(); err != nil {
			return 0, err
		}
	}
	return (f[0] - f[1]) / (2 * h), nil
}

// reset leaves the graph evaluated at x.
func (p *probe) reset(x []float64) error {
	copy(p.data, x)
	_, err := p.eval()
	return err
}

// worst keeps the comparison of the analytic and numeric derivatives a and n
// at index i if its relative error is the largest so far.
func (r *Result) worst(i int, a, n, floor float64) {
	abs := math.Abs(n - a)
	rel := abs / math.Max(math.Max(math.Abs(n), math.Abs(a)), floor)
	if rel > r.MaxRelErr || math.IsNaN(rel) {
		*r = Result{MaxAbsErr: abs, MaxRelErr: rel, Index: i, Analytic: a, Numeric: n}
	}
}

func scalar(v gorgonia.Value) (float64, error) {
	switch s := v.(type) {
	case *gorgonia.F64:
		return float64(*s), nil
	case *gorgonia.F32:
		return float64(*s), nil
	case tensor.Tensor:
		if s.Shape().TotalSize() == 1 {
			switch d := s.Data().(type) {
			case []float64:
				return d[0], nil
			case float64:
				return d, nil
			}
		}
	}
	return 0, fmt.Errorf("gradcheck: loss is not a float64 scalar: %T", v)
}

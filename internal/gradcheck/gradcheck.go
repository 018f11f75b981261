// Package gradcheck compares gorgonia's symbolic gradients with central finite
// differences, for tests.
package gradcheck

import (
	"fmt"
	"math"

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
	grads, err := gorgonia.Grad(loss, wrt)
	if err != nil {
		return Result{}, fmt.Errorf("gradcheck: grad: %w", err)
	}
	xt := tensor.New(tensor.WithShape(wrt.Shape().Clone()...), tensor.WithBacking(append([]float64(nil), x...)))
	if err := gorgonia.Let(wrt, xt); err != nil {
		return Result{}, err
	}
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	eval := func() (float64, error) {
		m.Reset()
		if err := m.RunAll(); err != nil {
			return 0, err
		}
		return scalar(loss.Value())
	}
	if _, err := eval(); err != nil {
		return Result{}, err
	}
	ga := append([]float64(nil), grads[0].Value().Data().([]float64)...)
	data := xt.Data().([]float64)
	var res Result
	for i := range data {
		orig := data[i]
		data[i] = orig + h
		fp, err := eval()
		if err != nil {
			return res, err
		}
		data[i] = orig - h
		fm, err := eval()
		if err != nil {
			return res, err
		}
		data[i] = orig
		num := (fp - fm) / (2 * h)
		abs := math.Abs(num - ga[i])
		rel := abs / math.Max(math.Max(math.Abs(num), math.Abs(ga[i])), floor)
		if rel > res.MaxRelErr || math.IsNaN(rel) {
			res = Result{MaxAbsErr: abs, MaxRelErr: rel, Index: i, Analytic: ga[i], Numeric: num}
		}
	}
	// Leave the graph evaluated at x.
	if _, err := eval(); err != nil {
		return res, err
	}
	return res, nil
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

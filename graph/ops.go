package graph

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// SafePow returns the elementwise x^q for x > 0 and 0 for x ≤ 0, with
// derivative q·x^(q−1) for x > 0 and 0 for x ≤ 0. It is the guarded power
// used by the Riesz kernel −(SW²)^{r/2}, whose derivative is infinite at 0:
// a class compared with itself (SW = 0) then contributes a zero gradient,
// never NaN. The derivative is itself built from SafePow, so SafePow is
// differentiable to any order.
func SafePow(x *gorgonia.Node, q float64) (*gorgonia.Node, error) {
	if math.IsNaN(q) || math.IsInf(q, 0) {
		return nil, fmt.Errorf("graph: SafePow exponent %v: %w", q, ErrOption)
	}
	return gorgonia.ApplyOp(safePowOp{newOpBase(fmt.Sprintf("SafePow{q=%v}", q), []int{0}, 0, nil, []bool{true}), q}, x)
}

type safePowOp struct {
	opBase
	q float64
}

func (op safePowOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("graph: %v: input has no shape", op)
	}
	return s.Clone(), nil
}

func (op safePowOp) f(x float64) float64 {
	if x > 0 {
		return math.Pow(x, op.q)
	}
	return 0
}

func (op safePowOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vals) != 1 {
		return nil, fmt.Errorf("graph: %v got %d inputs", op, len(vals))
	}
	switch v := vals[0].(type) {
	case *gorgonia.F64:
		return gorgonia.NewF64(op.f(float64(*v))), nil
	case *gorgonia.F32:
		return gorgonia.NewF32(float32(op.f(float64(*v)))), nil
	case tensor.Tensor:
		out := tensor.New(tensor.Of(v.Dtype()), tensor.WithShape(v.Shape().Clone()...))
		switch d := v.Data().(type) {
		case []float64:
			o := out.Data().([]float64)
			for i, x := range d {
				o[i] = op.f(x)
			}
		case []float32:
			o := out.Data().([]float32)
			for i, x := range d {
				o[i] = float32(op.f(float64(x)))
			}
		default:
			return nil, fmt.Errorf("graph: %v: unsupported dtype %v", op, v.Dtype())
		}
		return out, nil
	}
	return nil, fmt.Errorf("graph: %v: unsupported value %T", op, vals[0])
}

func (op safePowOp) SymDiff(in gorgonia.Nodes, out, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	d, err := SafePow(in[0], op.q-1)
	if err != nil {
		return nil, err
	}
	if d, err = gorgonia.Mul(d, Scalar(in[0].Graph(), in[0].Dtype(), op.q)); err != nil {
		return nil, err
	}
	if d, err = gorgonia.HadamardProd(d, grad); err != nil {
		return nil, err
	}
	return gorgonia.Nodes{d}, nil
}

// Scalar returns a constant scalar node of dtype dt (Float64 or Float32).
func Scalar(g *gorgonia.ExprGraph, dt tensor.Dtype, v float64) *gorgonia.Node {
	if dt == tensor.Float32 {
		return gorgonia.NewConstant(float32(v))
	}
	return gorgonia.NewConstant(v)
}

// Vector returns a constant vector node of dtype dt with the given values and
// a unique name (gorgonia merges constants of equal value and name).
func Vector(g *gorgonia.ExprGraph, dt tensor.Dtype, name string, v []float64) *gorgonia.Node {
	t := denseFrom(dt, append([]float64(nil), v...), len(v))
	return gorgonia.NewVector(g, dt, gorgonia.WithShape(len(v)), gorgonia.WithName(name), gorgonia.WithValue(t))
}

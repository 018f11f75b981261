package models

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"

	"github.com/chewxy/hm"
	"github.com/wowflow/wowflow/graph"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// meanCrossEntropy returns the scalar node
//
//	(1/n) Σ_i [log Σ_k exp z_ik − Σ_k y_ik z_ik]
//
// of the n×K logits z and the n×K one-hot labels y (an input node, so that
// one graph serves every mini-batch; graph.CrossEntropy fixes the labels in
// its op). It is computed stably; its gradient with respect to z is
// (softmax(z_i) − y_i)/n, and y gets none.
func meanCrossEntropy(z, y *gorgonia.Node) (*gorgonia.Node, error) {
	s := z.Shape()
	if len(s) != 2 || !s.Eq(y.Shape()) {
		return nil, fmt.Errorf("models: cross-entropy of logits %v and labels %v: %w", s, y.Shape(), ErrDim)
	}
	return gorgonia.ApplyOp(xentOp{n: s[0], k: s[1]}, z, y)
}

type xentOp struct{ n, k int }

func (op xentOp) Arity() int { return 2 }
func (op xentOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	m := gorgonia.TensorType{Dims: 2, Of: a}
	return hm.NewFnType(m, m, a)
}
func (op xentOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.ScalarShape(), nil
}
func (op xentOp) ReturnsPtr() bool      { return false }
func (op xentOp) CallsExtern() bool     { return false }
func (op xentOp) OverwritesInput() int  { return -1 }
func (op xentOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op xentOp) Hashcode() uint32      { return hashOf(op) }
func (op xentOp) String() string {
	return fmt.Sprintf("models.MeanCrossEntropy{n=%d,K=%d}", op.n, op.k)
}

// each calls f(i, z_i, y_i) on the rows of the logits and labels as float64s.
func (op xentOp) each(zv, yv gorgonia.Value, f func(i int, z, y []float64)) (tensor.Dtype, error) {
	zt, ok1 := zv.(tensor.Tensor)
	yt, ok2 := yv.(tensor.Tensor)
	if !ok1 || !ok2 || zt.Shape().TotalSize() != op.n*op.k || yt.Shape().TotalSize() != op.n*op.k {
		return tensor.Dtype{}, fmt.Errorf("models: %v: inputs %v and %v: %w", op, zv.Shape(), yv.Shape(), ErrDim)
	}
	z, y := make([]float64, op.k), make([]float64, op.k)
	for i := 0; i < op.n; i++ {
		for _, p := range []struct {
			dst []float64
			t   tensor.Tensor
		}{{z, zt}, {y, yt}} {
			switch d := p.t.Data().(type) {
			case []float64:
				copy(p.dst, d[i*op.k:(i+1)*op.k])
			case []float32:
				for j := range p.dst {
					p.dst[j] = float64(d[i*op.k+j])
				}
			default:
				return tensor.Dtype{}, fmt.Errorf("models: %v: dtype %v: %w", op, p.t.Dtype(), ErrParam)
			}
		}
		f(i, z, y)
	}
	return zt.Dtype(), nil
}

func (op xentOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	total := 0.0
	dt, err := op.each(vals[0], vals[1], func(_ int, z, y []float64) {
		total += graph.LogSumExp(z)
		for j, v := range z {
			total -= y[j] * v
		}
	})
	if err != nil {
		return nil, err
	}
	total /= float64(op.n)
	if dt == tensor.Float32 {
		return gorgonia.NewF32(float32(total)), nil
	}
	return gorgonia.NewF64(total), nil
}

func (op xentOp) DiffWRT(int) []bool { return []bool{true, false} }
func (op xentOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	g, err := gorgonia.ApplyOp(xentGradOp(op), in[0], in[1], grad)
	return gorgonia.Nodes{g, nil}, err
}

// xentGradOp computes g·(softmax(z_i) − y_i)/n from z, y and the scalar g.
type xentGradOp xentOp

func (op xentGradOp) Arity() int { return 3 }
func (op xentGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	m := gorgonia.TensorType{Dims: 2, Of: a}
	return hm.NewFnType(m, m, a, m)
}
func (op xentGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.n, op.k}, nil
}
func (op xentGradOp) ReturnsPtr() bool      { return false }
func (op xentGradOp) CallsExtern() bool     { return false }
func (op xentGradOp) OverwritesInput() int  { return -1 }
func (op xentGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op xentGradOp) Hashcode() uint32      { return hashOf(op) }
func (op xentGradOp) String() string        { return "Grad" + xentOp(op).String() }

func (op xentGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	var g float64
	switch s := vals[2].(type) {
	case *gorgonia.F64:
		g = float64(*s)
	case *gorgonia.F32:
		g = float64(*s)
	default:
		t, ok := vals[2].(tensor.Tensor)
		if !ok || t.Shape().TotalSize() != 1 {
			return nil, fmt.Errorf("models: %v: incoming gradient %v: %w", op, vals[2].Shape(), ErrDim)
		}
		gs := make([]float64, 1)
		if err := copyOut(gs, t); err != nil {
			return nil, err
		}
		g = gs[0]
	}
	g /= float64(op.n)
	out := make([]float64, op.n*op.k)
	dt, err := xentOp(op).each(vals[0], vals[1], func(i int, z, y []float64) {
		lse := graph.LogSumExp(z)
		row := out[i*op.k : (i+1)*op.k]
		for j, v := range z {
			row[j] = g * (math.Exp(v-lse) - y[j])
		}
	})
	if err != nil {
		return nil, err
	}
	return denseOf(dt, out, op.n, op.k), nil
}

func hashOf(s fmt.Stringer) uint32 {
	h := fnv.New32a()
	fmt.Fprint(h, s.String())
	return h.Sum32()
}

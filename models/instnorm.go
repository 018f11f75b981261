package models

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// instNormEps is the ε of instance normalisation, PyTorch's default.
const instNormEps = 1e-5

// instNormOp is instance normalisation without affine parameters
// (PyTorch's InstanceNorm2d) of n×c×h×w inputs: every plane x (one image,
// one channel, m = h·w pixels) is standardised with its own mean and biased
// variance,
//
//	μ = (1/m) Σ x_k,   σ² = (1/m) Σ (x_k − μ)²,   s = √(σ² + ε),   y = (x − μ)/s.
//
// With grad set it is its gradient, from the inputs x and ∂y to
//
//	∂x = (1/s) (∂y − mean(∂y) − y ⊙ mean(∂y ⊙ y)).
//
// Means and variances are accumulated in float64 for either dtype.
type instNormOp struct {
	n, c, h, w int
	eps        float64
	grad       bool
}

// instanceNorm adds the instance normalisation of the n×C×H×W node x.
func instanceNorm(x *gorgonia.Node) (*gorgonia.Node, error) {
	s := x.Shape()
	if len(s) != 4 {
		return nil, fmt.Errorf("instance normalisation of %v, want n×C×H×W", s)
	}
	return gorgonia.ApplyOp(instNormOp{n: s[0], c: s[1], h: s[2], w: s[3], eps: instNormEps}, x)
}

func (op instNormOp) Arity() int {
	if op.grad {
		return 2
	}
	return 1
}

func (op instNormOp) Type() hm.Type {
	t4 := gorgonia.TensorType{Dims: 4, Of: hm.TypeVariable('a')}
	if op.grad {
		return hm.NewFnType(t4, t4, t4)
	}
	return hm.NewFnType(t4, t4)
}

func (op instNormOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.n, op.c, op.h, op.w}, nil
}

func (op instNormOp) ReturnsPtr() bool      { return false }
func (op instNormOp) CallsExtern() bool     { return false }
func (op instNormOp) OverwritesInput() int  { return -1 }
func (op instNormOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op instNormOp) Hashcode() uint32      { return hashOf(op) }
func (op instNormOp) String() string {
	return fmt.Sprintf("models.InstanceNorm{n=%d,c=%d,h=%d,w=%d,eps=%g,grad=%v}", op.n, op.c, op.h, op.w, op.eps, op.grad)
}

func (op instNormOp) DiffWRT(int) []bool {
	if op.grad {
		return []bool{false, false}
	}
	return []bool{true}
}

func (op instNormOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.grad {
		return nil, fmt.Errorf("models: %v is not differentiable", op)
	}
	g := op
	g.grad = true
	dx, err := gorgonia.ApplyOp(g, in[0], grad)
	return gorgonia.Nodes{dx}, err
}

func (op instNormOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vals) != op.Arity() {
		return nil, fmt.Errorf("models: %v: %d inputs: %w", op, len(vals), ErrDim)
	}
	switch vals[0].Dtype() {
	case tensor.Float64:
		return instNormRun[float64](op, vals)
	case tensor.Float32:
		return instNormRun[float32](op, vals)
	}
	return nil, fmt.Errorf("models: %v: dtype %v: %w", op, vals[0].Dtype(), ErrParam)
}

func instNormRun[F float32 | float64](op instNormOp, vals []gorgonia.Value) (gorgonia.Value, error) {
	size := op.n * op.c * op.h * op.w
	in := make([][]F, len(vals))
	for i, v := range vals {
		t, ok := v.(tensor.Tensor)
		if !ok {
			return nil, fmt.Errorf("models: %v: input %d is a %T: %w", op, i, v, ErrParam)
		}
		d, ok := t.Data().([]F)
		if !ok || len(d) != size || t.Shape().TotalSize() != size {
			return nil, fmt.Errorf("models: %v: input %d of shape %v and dtype %v, want %d values: %w", op, i, t.Shape(), t.Dtype(), size, ErrDim)
		}
		in[i] = d
	}
	out := make([]F, size)
	instNormDo(op, in, out)
	return tensor.New(tensor.WithShape(op.n, op.c, op.h, op.w), tensor.WithBacking(out)), nil
}

func instNormDo[F float32 | float64](op instNormOp, in [][]F, out []F) {
	m := op.h * op.w
	planes := op.n * op.c
	inv := 1 / float64(m)
	parallelFor(planes, planes*m >= 1<<15, func(p int) {
		x, y := in[0][p*m:(p+1)*m], out[p*m:(p+1)*m]
		mu := 0.0
		for _, v := range x {
			mu += float64(v)
		}
		mu *= inv
		v2 := 0.0
		for _, v := range x {
			d := float64(v) - mu
			v2 += d * d
		}
		r := 1 / math.Sqrt(v2*inv+op.eps) // 1/s
		if !op.grad {
			for k, v := range x {
				y[k] = F((float64(v) - mu) * r)
			}
			return
		}
		dy := in[1][p*m : (p+1)*m]
		sg, sgy := 0.0, 0.0 // Σ ∂y, Σ ∂y ⊙ y
		for k, g := range dy {
			sg += float64(g)
			sgy += float64(g) * (float64(x[k]) - mu) * r
		}
		sg *= inv
		sgy *= inv
		for k, g := range dy {
			y[k] = F(r * (float64(g) - sg - (float64(x[k])-mu)*r*sgy))
		}
	})
}

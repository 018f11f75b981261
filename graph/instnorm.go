package graph

import (
	"fmt"
	"math"

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
	opBase
	n, c, h, w int
	eps        float64
	grad       bool
}

func newInstNormOp(n, c, h, w int, eps float64, grad bool) instNormOp {
	name := fmt.Sprintf("InstanceNorm{n=%d,c=%d,h=%d,w=%d,eps=%g,grad=%v}", n, c, h, w, eps, grad)
	b := newOpBase(name, []int{4}, 4, tensor.Shape{n, c, h, w}, []bool{true})
	if grad {
		b = newOpBase(name, []int{4, 4}, 4, tensor.Shape{n, c, h, w}, nil)
	}
	return instNormOp{b, n, c, h, w, eps, grad}
}

// InstanceNorm adds the instance normalisation without affine parameters
// (PyTorch's InstanceNorm2d, ε = 10⁻⁵) of the n×C×H×W node x: every image
// and channel standardised over its pixels with its own mean and biased
// variance.
func InstanceNorm(x *gorgonia.Node) (*gorgonia.Node, error) {
	s := x.Shape()
	if len(s) != 4 {
		return nil, fmt.Errorf("graph: instance normalisation of %s of shape %v, want n×C×H×W: %w", x.Name(), s, ErrShape)
	}
	return gorgonia.ApplyOp(newInstNormOp(s[0], s[1], s[2], s[3], instNormEps, false), x)
}

// PlainInstanceNorm is InstanceNorm of planes planes of m values in x, in
// plain Go, for reference evaluations.
func PlainInstanceNorm(x []float64, planes, m int) []float64 {
	out := make([]float64, len(x))
	for p := 0; p < planes; p++ {
		v := x[p*m : (p+1)*m]
		mu, s2 := 0.0, 0.0
		for _, t := range v {
			mu += t
		}
		mu /= float64(m)
		for _, t := range v {
			s2 += (t - mu) * (t - mu)
		}
		s := math.Sqrt(s2/float64(m) + instNormEps)
		for k, t := range v {
			out[p*m+k] = (t - mu) / s
		}
	}
	return out
}

func (op instNormOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.grad {
		return nil, op.notDifferentiable()
	}
	dx, err := gorgonia.ApplyOp(newInstNormOp(op.n, op.c, op.h, op.w, op.eps, true), in[0], grad)
	return gorgonia.Nodes{dx}, err
}

func (op instNormOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	size := op.n * op.c * op.h * op.w
	want := []int{size, size}[:op.Arity()]
	return doTyped(op, vals, want, op.shape,
		func(in [][]float64, out []float64) { instNormDo(op, in, out) },
		func(in [][]float32, out []float32) { instNormDo(op, in, out) })
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

package graph

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wowflow/wowflow/internal/kern"
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
		// One pass about the first value (as ConvBlocks' normalisation).
		s1, s2 := kern.Moments(x)
		d := s1 * inv
		mu := float64(x[0]) + d
		r := 1 / math.Sqrt(max(0, s2*inv-d*d)+op.eps) // 1/s
		if !op.grad {
			for k, v := range x {
				y[k] = F((float64(v) - mu) * r)
			}
			return
		}
		dy := in[1][p*m : (p+1)*m]
		sg, sgx := gradSums(dy, x, mu) // Σ ∂y, Σ ∂y ⊙ (x − μ)
		sg *= inv
		sgy := sgx * r * inv // mean(∂y ⊙ y)
		for k, g := range dy {
			y[k] = F(r * (float64(g) - sg - (float64(x[k])-mu)*r*sgy))
		}
	})
}

// gradSums returns Σ g and Σ g·(x − μ) over the values of g and x, in
// float64, with four accumulators of each (one chain waits on every
// addition).
func gradSums[F float32 | float64](g, x []F, mu float64) (sg, sgx float64) {
	var a0, a1, a2, a3, b0, b1, b2, b3 float64
	x = x[:len(g)]
	for len(g) >= 4 {
		gg, xx := g[:4:4], x[:4:4]
		g0, g1, g2, g3 := float64(gg[0]), float64(gg[1]), float64(gg[2]), float64(gg[3])
		a0, a1, a2, a3 = a0+g0, a1+g1, a2+g2, a3+g3
		b0 += g0 * (float64(xx[0]) - mu)
		b1 += g1 * (float64(xx[1]) - mu)
		b2 += g2 * (float64(xx[2]) - mu)
		b3 += g3 * (float64(xx[3]) - mu)
		g, x = g[4:], x[4:]
	}
	for k, v := range g {
		a0 += float64(v)
		b0 += float64(v) * (float64(x[k]) - mu)
	}
	return (a0 + a1) + (a2 + a3), (b0 + b1) + (b2 + b3)
}

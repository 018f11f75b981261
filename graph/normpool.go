package graph

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wowflow/wowflow/internal/kern"
)

// normPoolOp is instance normalisation (no affine parameters, ε = 10⁻⁵),
// ReLU and 2×2 average pooling of n×c×h×w inputs in one op: per plane x of
// m = h·w pixels,
//
//	z = (x − μ)/s,   y[i, j] = ¼ Σ_{a,b<2} max(z[2i+a, 2j+b], 0),
//
// μ, s as in instNormOp (a last odd row or column is dropped by the pool).
// With grad set it is its gradient, from x and ∂y to
//
//	g = ¼ ∂y[⌊·/2⌋] ⊙ [z > 0] (0 outside the pooled rows and columns),
//	∂x = (1/s) (g − mean(g) − z ⊙ mean(g ⊙ z)).
//
// It is the composition InstanceNorm → Rectify → AvgPool2 without the two
// full-size intermediate tensors (and their gradients) that the tape would
// allocate on every run. Statistics and the gradient's sums are float64.
type normPoolOp struct {
	opBase
	n, c, h, w int
	grad       bool
}

func newNormPoolOp(n, c, h, w int, grad bool) normPoolOp {
	name := fmt.Sprintf("NormReLUPool{n=%d,c=%d,h=%d,w=%d,grad=%v}", n, c, h, w, grad)
	b := newOpBase(name, []int{4}, 4, tensor.Shape{n, c, h / 2, w / 2}, []bool{true})
	if grad {
		b = newOpBase(name, []int{4, 4}, 4, tensor.Shape{n, c, h, w}, nil)
	}
	return normPoolOp{b, n, c, h, w, grad}
}

// NormReLUPool adds InstanceNorm, ReLU and AvgPool2 of the n×C×H×W node x
// (H, W ≥ 2) as one op: the n×C×⌊H/2⌋×⌊W/2⌋ node of the pooled, rectified,
// standardised planes. It equals the three ops composed, up to rounding,
// and so does its gradient.
func NormReLUPool(x *gorgonia.Node) (*gorgonia.Node, error) {
	s := x.Shape()
	if len(s) != 4 || s[2] < 2 || s[3] < 2 {
		return nil, fmt.Errorf("graph: normalisation and pooling of %s of shape %v, want n×C×H×W with H, W ≥ 2: %w", x.Name(), s, ErrShape)
	}
	return gorgonia.ApplyOp(newNormPoolOp(s[0], s[1], s[2], s[3], false), x)
}

func (op normPoolOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.grad {
		return nil, op.notDifferentiable()
	}
	dx, err := gorgonia.ApplyOp(newNormPoolOp(op.n, op.c, op.h, op.w, true), in[0], grad)
	return gorgonia.Nodes{dx}, err
}

func (op normPoolOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	size := op.n * op.c * op.h * op.w
	want := []int{size}
	if op.grad {
		want = append(want, op.n*op.c*(op.h/2)*(op.w/2))
	}
	return doTyped(op, vals, want, op.shape,
		func(in [][]float64, out []float64) { normPoolDo(op, in, out) },
		func(in [][]float32, out []float32) { normPoolDo(op, in, out) })
}

func normPoolDo[F float32 | float64](op normPoolOp, in [][]F, out []F) {
	h, w := op.h, op.w
	m, ph, pw := h*w, h/2, w/2
	planes := op.n * op.c
	inv := 1 / float64(m)
	parallelFor(planes, planes*m >= 1<<15, func(p int) {
		x := in[0][p*m : (p+1)*m]
		s1, s2 := kern.Moments(x)
		d := s1 * inv
		mu := float64(x[0]) + d
		r := 1 / math.Sqrt(max(0, s2*inv-d*d)+instNormEps) // 1/s
		if !op.grad {
			// ¼ Σ max((x − μ)·r, 0) = (r/4) Σ max(x − μ, 0).
			kern.ReluPool(x, w, ph, pw, F(mu), F(r/4), out[p*ph*pw:][:ph*pw])
			return
		}
		dy, dx := in[1][p*ph*pw:][:ph*pw], out[p*m:][:m]
		// g at pixel (i, j) of the pooled region: ¼ ∂y of its window where
		// z > 0; the first pass sums g and g·z, the second writes ∂x.
		var sg, sgz float64
		for i := 0; i < 2*ph; i++ {
			row, dyr := x[i*w:][:2*pw], dy[(i/2)*pw:][:pw]
			for j, v := range row {
				if z := (float64(v) - mu) * r; z > 0 {
					g := float64(dyr[j/2]) / 4
					sg += g
					sgz += g * z
				}
			}
		}
		sg *= inv
		sgz *= inv
		for i := 0; i < h; i++ {
			row, dxr := x[i*w:][:w], dx[i*w:][:w]
			for j, v := range row {
				z := (float64(v) - mu) * r
				g := 0.0
				if z > 0 && i < 2*ph && j < 2*pw {
					g = float64(dy[(i/2)*pw+j/2]) / 4
				}
				dxr[j] = F(r * (g - sg - z*sgz))
			}
		}
	})
}

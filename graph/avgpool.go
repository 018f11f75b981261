package graph

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// avgPoolOp is 2×2 average pooling with stride 2 of n×c×h×w inputs:
//
//	out[i, j] = ¼ (x[2i, 2j] + x[2i, 2j+1] + x[2i+1, 2j] + x[2i+1, 2j+1]),
//	i < ⌊h/2⌋, j < ⌊w/2⌋,
//
// so a last odd row or column is dropped (PyTorch's AvgPool2d(2) in floor
// mode) and receives a zero gradient. With grad set it is its gradient,
// from ∂out alone (the map is linear) to ∂x: ∂x[2i+a, 2j+b] = ¼ ∂out[i, j].
type avgPoolOp struct {
	opBase
	n, c, h, w int
	grad       bool
}

func newAvgPoolOp(n, c, h, w int, grad bool) avgPoolOp {
	name := fmt.Sprintf("AvgPool2{n=%d,c=%d,h=%d,w=%d,grad=%v}", n, c, h, w, grad)
	b := newOpBase(name, []int{4}, 4, tensor.Shape{n, c, h / 2, w / 2}, []bool{true})
	if grad {
		b = newOpBase(name, []int{4}, 4, tensor.Shape{n, c, h, w}, nil)
	}
	return avgPoolOp{b, n, c, h, w, grad}
}

// AvgPool2 adds the 2×2 average pooling with stride 2 of the n×C×H×W node x
// (H, W ≥ 2): the n×C×⌊H/2⌋×⌊W/2⌋ node of the means of the windows, a last
// odd row or column dropped (PyTorch's AvgPool2d(2)).
func AvgPool2(x *gorgonia.Node) (*gorgonia.Node, error) {
	s := x.Shape()
	if len(s) != 4 || s[2] < 2 || s[3] < 2 {
		return nil, fmt.Errorf("graph: average pooling of %s of shape %v, want n×C×H×W with H, W ≥ 2: %w", x.Name(), s, ErrShape)
	}
	return gorgonia.ApplyOp(newAvgPoolOp(s[0], s[1], s[2], s[3], false), x)
}

// PlainAvgPool2 is AvgPool2 of planes h×w planes x in plain Go, for
// reference evaluations.
func PlainAvgPool2(x []float64, planes, h, w int) []float64 {
	ph, pw := h/2, w/2
	out := make([]float64, planes*ph*pw)
	for p := 0; p < planes; p++ {
		for i := 0; i < ph; i++ {
			for j := 0; j < pw; j++ {
				s := 0.0
				for a := 0; a < 2; a++ {
					for b := 0; b < 2; b++ {
						s += x[(p*h+2*i+a)*w+2*j+b]
					}
				}
				out[(p*ph+i)*pw+j] = s / 4
			}
		}
	}
	return out
}

func (op avgPoolOp) SymDiff(_ gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.grad {
		return nil, op.notDifferentiable()
	}
	dx, err := gorgonia.ApplyOp(newAvgPoolOp(op.n, op.c, op.h, op.w, true), grad)
	return gorgonia.Nodes{dx}, err
}

func (op avgPoolOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in := op.n * op.c * op.h * op.w
	if op.grad {
		in = op.n * op.c * (op.h / 2) * (op.w / 2)
	}
	return doTyped(op, vals, []int{in}, op.shape,
		func(in [][]float64, out []float64) { avgPoolDo(op, in[0], out) },
		func(in [][]float32, out []float32) { avgPoolDo(op, in[0], out) })
}

func avgPoolDo[F float32 | float64](op avgPoolOp, in, out []F) {
	ph, pw, hw := op.h/2, op.w/2, op.h*op.w
	planes := op.n * op.c
	parallelFor(planes, planes*hw >= 1<<15, func(m int) {
		if op.grad {
			dout, dx := in[m*ph*pw:(m+1)*ph*pw], out[m*hw:(m+1)*hw]
			for i := 0; i < ph; i++ {
				r0, r1 := dx[2*i*op.w:][:op.w], dx[(2*i+1)*op.w:][:op.w]
				for j, g := range dout[i*pw : (i+1)*pw] {
					g /= 4
					r0[2*j], r0[2*j+1], r1[2*j], r1[2*j+1] = g, g, g, g
				}
			}
			return
		}
		x, y := in[m*hw:(m+1)*hw], out[m*ph*pw:(m+1)*ph*pw]
		for i := 0; i < ph; i++ {
			r0, r1 := x[2*i*op.w:][:op.w], x[(2*i+1)*op.w:][:op.w]
			for j := range y[i*pw : (i+1)*pw] {
				y[i*pw+j] = (r0[2*j] + r0[2*j+1] + r1[2*j] + r1[2*j+1]) / 4
			}
		}
	})
}

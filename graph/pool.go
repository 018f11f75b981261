package graph

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// poolOp is 2×2 max pooling with stride 2 of n×c×h×w inputs, dropping a
// last odd row or column (PyTorch's MaxPool2d(2) in floor mode); with grad
// set it is its gradient, from the inputs x and ∂out to ∂x, which routes
// each window's gradient to its first maximum in row-major order. It
// replaces gorgonia.MaxPool2D, which is single-threaded.
type poolOp struct {
	opBase
	n, c, h, w int
	grad       bool
}

func newPoolOp(n, c, h, w int, grad bool) poolOp {
	name := fmt.Sprintf("MaxPool2{n=%d,c=%d,h=%d,w=%d,grad=%v}", n, c, h, w, grad)
	b := newOpBase(name, []int{4}, 4, tensor.Shape{n, c, h / 2, w / 2}, []bool{true})
	if grad {
		b = newOpBase(name, []int{4, 4}, 4, tensor.Shape{n, c, h, w}, nil)
	}
	return poolOp{b, n, c, h, w, grad}
}

// MaxPool2 adds the 2×2 max pooling with stride 2 of the n×C×H×W node x
// (H, W ≥ 2): the n×C×⌊H/2⌋×⌊W/2⌋ node of the maxima of the windows, a
// last odd row or column dropped (PyTorch's MaxPool2d(2)). Its gradient
// goes to the first maximum of each window in row-major order.
func MaxPool2(x *gorgonia.Node) (*gorgonia.Node, error) {
	s := x.Shape()
	if len(s) != 4 || s[2] < 2 || s[3] < 2 {
		return nil, fmt.Errorf("graph: max pooling of %s of shape %v, want n×C×H×W with H, W ≥ 2: %w", x.Name(), s, ErrShape)
	}
	return gorgonia.ApplyOp(newPoolOp(s[0], s[1], s[2], s[3], false), x)
}

// PlainMaxPool2 is MaxPool2 of planes h×w planes x in plain Go, for
// reference evaluations.
func PlainMaxPool2(x []float64, planes, h, w int) []float64 {
	ph, pw := h/2, w/2
	out := make([]float64, planes*ph*pw)
	for ch := 0; ch < planes; ch++ {
		for i := 0; i < ph; i++ {
			for j := 0; j < pw; j++ {
				m := math.Inf(-1)
				for a := 0; a < 2; a++ {
					for b := 0; b < 2; b++ {
						m = math.Max(m, x[(ch*h+2*i+a)*w+2*j+b])
					}
				}
				out[(ch*ph+i)*pw+j] = m
			}
		}
	}
	return out
}

func (op poolOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.grad {
		return nil, op.notDifferentiable()
	}
	dx, err := gorgonia.ApplyOp(newPoolOp(op.n, op.c, op.h, op.w, true), in[0], grad)
	return gorgonia.Nodes{dx}, err
}

func (op poolOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	want := []int{op.n * op.c * op.h * op.w, op.n * op.c * (op.h / 2) * (op.w / 2)}[:op.Arity()]
	return doTyped(op, vals, want, op.shape,
		func(in [][]float64, out []float64) { poolDo(op, in, out) },
		func(in [][]float32, out []float32) { poolDo(op, in, out) })
}

func poolDo[F float32 | float64](op poolOp, in [][]F, out []F) {
	x := in[0]
	ph, pw, hw := op.h/2, op.w/2, op.h*op.w
	planes := op.n * op.c
	parallelFor(planes, planes*hw >= 1<<15, func(m int) {
		plane := x[m*hw : (m+1)*hw]
		for i := 0; i < ph; i++ {
			r0, r1 := plane[2*i*op.w:][:op.w], plane[(2*i+1)*op.w:][:op.w]
			for j := 0; j < pw; j++ {
				// The first maximum in row-major order; a NaN wins.
				best, v := 0, r0[2*j]
				if c := r0[2*j+1]; c > v || c != c {
					best, v = 1, c
				}
				if c := r1[2*j]; c > v || c != c {
					best, v = op.w, c
				}
				if c := r1[2*j+1]; c > v || c != c {
					best, v = op.w+1, c
				}
				o := (m*ph+i)*pw + j
				if op.grad {
					out[m*hw+2*i*op.w+2*j+best] = in[1][o] // windows do not overlap
				} else {
					out[o] = v
				}
			}
		}
	})
}

// parallelFor calls f(i) for i in [0, n), on GOMAXPROCS goroutines if par.
// The calls must be independent.
func parallelFor(n int, par bool, f func(i int)) {
	if !par {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	parallel(n, func() any { return nil }, func(i int, _ any) { f(i) })
}

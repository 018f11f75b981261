package models

import (
	"fmt"
	"hash"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// poolOp is 2×2 max pooling with stride 2 of n×c×h×w inputs, dropping a
// last odd row or column (PyTorch's MaxPool2d(2) in floor mode); with grad
// set it is its gradient, from the inputs x and ∂out to ∂x, which routes
// each window's gradient to its first maximum in row-major order. It
// replaces gorgonia.MaxPool2D, which is single-threaded.
type poolOp struct {
	n, c, h, w int
	grad       bool
}

func maxPool2(x *gorgonia.Node) (*gorgonia.Node, error) {
	s := x.Shape()
	if len(s) != 4 || s[2] < 2 || s[3] < 2 {
		return nil, fmt.Errorf("max pooling of %v, want n×C×H×W with H, W ≥ 2", s)
	}
	return gorgonia.ApplyOp(poolOp{n: s[0], c: s[1], h: s[2], w: s[3]}, x)
}

func (op poolOp) Arity() int {
	if op.grad {
		return 2
	}
	return 1
}

func (op poolOp) Type() hm.Type {
	t4 := gorgonia.TensorType{Dims: 4, Of: hm.TypeVariable('a')}
	if op.grad {
		return hm.NewFnType(t4, t4, t4)
	}
	return hm.NewFnType(t4, t4)
}

func (op poolOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	if op.grad {
		return tensor.Shape{op.n, op.c, op.h, op.w}, nil
	}
	return tensor.Shape{op.n, op.c, op.h / 2, op.w / 2}, nil
}

func (op poolOp) ReturnsPtr() bool      { return false }
func (op poolOp) CallsExtern() bool     { return false }
func (op poolOp) OverwritesInput() int  { return -1 }
func (op poolOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op poolOp) Hashcode() uint32      { return hashOf(op) }
func (op poolOp) String() string {
	return fmt.Sprintf("models.MaxPool2{n=%d,c=%d,h=%d,w=%d,grad=%v}", op.n, op.c, op.h, op.w, op.grad)
}

func (op poolOp) DiffWRT(int) []bool {
	if op.grad {
		return []bool{false, false}
	}
	return []bool{true}
}

func (op poolOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.grad {
		return nil, fmt.Errorf("models: %v is not differentiable", op)
	}
	g := op
	g.grad = true
	dx, err := gorgonia.ApplyOp(g, in[0], grad)
	return gorgonia.Nodes{dx}, err
}

func (op poolOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vals) != op.Arity() {
		return nil, fmt.Errorf("models: %v: %d inputs: %w", op, len(vals), ErrDim)
	}
	shape, _ := op.InferShape()
	switch vals[0].Dtype() {
	case tensor.Float64:
		return typedDo(shape, func() ([][]float64, error) { return poolData[float64](op, vals) }, func(in [][]float64, out []float64) { poolDo(op, in, out) })
	case tensor.Float32:
		return typedDo(shape, func() ([][]float32, error) { return poolData[float32](op, vals) }, func(in [][]float32, out []float32) { poolDo(op, in, out) })
	}
	return nil, fmt.Errorf("models: %v: dtype %v: %w", op, vals[0].Dtype(), ErrParam)
}

func poolData[F float32 | float64](op poolOp, vals []gorgonia.Value) ([][]F, error) {
	want := []int{op.n * op.c * op.h * op.w, op.n * op.c * (op.h / 2) * (op.w / 2)}
	res := make([][]F, len(vals))
	for i, v := range vals {
		t, ok := v.(tensor.Tensor)
		if !ok {
			return nil, fmt.Errorf("models: %v: input %d is a %T: %w", op, i, v, ErrParam)
		}
		d, ok := t.Data().([]F)
		if !ok || len(d) != want[i] || t.Shape().TotalSize() != want[i] {
			return nil, fmt.Errorf("models: %v: input %d of shape %v and dtype %v, want %d values: %w", op, i, t.Shape(), t.Dtype(), want[i], ErrDim)
		}
		res[i] = d
	}
	return res, nil
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
	workers := min(n, runtime.GOMAXPROCS(0))
	if !par || workers < 2 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		}()
	}
	wg.Wait()
}

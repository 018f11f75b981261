package models

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
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
	n, c, h, w int
	grad       bool
}

// avgPool2 adds the 2×2 average pooling of the n×C×H×W node x.
func avgPool2(x *gorgonia.Node) (*gorgonia.Node, error) {
	s := x.Shape()
	if len(s) != 4 || s[2] < 2 || s[3] < 2 {
		return nil, fmt.Errorf("average pooling of %v, want n×C×H×W with H, W ≥ 2", s)
	}
	return gorgonia.ApplyOp(avgPoolOp{n: s[0], c: s[1], h: s[2], w: s[3]}, x)
}

func (op avgPoolOp) Arity() int { return 1 }

func (op avgPoolOp) Type() hm.Type {
	t4 := gorgonia.TensorType{Dims: 4, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t4, t4)
}

func (op avgPoolOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	if op.grad {
		return tensor.Shape{op.n, op.c, op.h, op.w}, nil
	}
	return tensor.Shape{op.n, op.c, op.h / 2, op.w / 2}, nil
}

func (op avgPoolOp) ReturnsPtr() bool      { return false }
func (op avgPoolOp) CallsExtern() bool     { return false }
func (op avgPoolOp) OverwritesInput() int  { return -1 }
func (op avgPoolOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op avgPoolOp) Hashcode() uint32      { return hashOf(op) }
func (op avgPoolOp) String() string {
	return fmt.Sprintf("models.AvgPool2{n=%d,c=%d,h=%d,w=%d,grad=%v}", op.n, op.c, op.h, op.w, op.grad)
}

func (op avgPoolOp) DiffWRT(int) []bool { return []bool{!op.grad} }

func (op avgPoolOp) SymDiff(_ gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.grad {
		return nil, fmt.Errorf("models: %v is not differentiable", op)
	}
	g := op
	g.grad = true
	dx, err := gorgonia.ApplyOp(g, grad)
	return gorgonia.Nodes{dx}, err
}

func (op avgPoolOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vals) != 1 {
		return nil, fmt.Errorf("models: %v: %d inputs: %w", op, len(vals), ErrDim)
	}
	in, out := op.n*op.c*(op.h/2)*(op.w/2), op.n*op.c*op.h*op.w
	if !op.grad {
		in, out = out, in
	}
	switch vals[0].Dtype() {
	case tensor.Float64:
		return runPlanes[float64](op, vals[0], in, out, avgPoolDo[float64])
	case tensor.Float32:
		return runPlanes[float32](op, vals[0], in, out, avgPoolDo[float32])
	}
	return nil, fmt.Errorf("models: %v: dtype %v: %w", op, vals[0].Dtype(), ErrParam)
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

// runPlanes checks that v holds in values of dtype F, and returns a tensor
// of shape op.InferShape() whose data do(op, data of v, out) fills from zero.
func runPlanes[F float32 | float64, O interface {
	InferShape(...gorgonia.DimSizer) (tensor.Shape, error)
	String() string
}](op O, v gorgonia.Value, in, out int, do func(O, []F, []F)) (gorgonia.Value, error) {
	t, ok := v.(tensor.Tensor)
	if !ok {
		return nil, fmt.Errorf("models: %v: input is a %T: %w", op, v, ErrParam)
	}
	d, ok := t.Data().([]F)
	if !ok || len(d) != in || t.Shape().TotalSize() != in {
		return nil, fmt.Errorf("models: %v: input of shape %v and dtype %v, want %d values: %w", op, t.Shape(), t.Dtype(), in, ErrDim)
	}
	shape, _ := op.InferShape()
	res := make([]F, out)
	do(op, d, res)
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(res)), nil
}

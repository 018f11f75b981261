package graph

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Columns returns the contiguous n×(hi−lo) copy of columns lo … hi−1 of the
// n×d float64 matrix x (gorgonia's column slices are strided views, which
// the ops of this package do not take). Its gradient scatters the upstream
// gradient back into those columns, zero elsewhere.
func Columns(x *gorgonia.Node, lo, hi int) (*gorgonia.Node, error) {
	if len(x.Shape()) != 2 || x.Dtype() != tensor.Float64 {
		return nil, fmt.Errorf("graph: Columns of a %v %v, want a float64 matrix: %w", x.Dtype(), x.Shape(), ErrShape)
	}
	n, d := x.Shape()[0], x.Shape()[1]
	if lo < 0 || hi > d || lo >= hi {
		return nil, fmt.Errorf("graph: columns [%d, %d) of a matrix with %d: %w", lo, hi, d, ErrShape)
	}
	name := fmt.Sprintf("Columns{%d×%d,%d:%d}", n, d, lo, hi)
	return gorgonia.ApplyOp(columnsOp{newOpBase(name, []int{2}, 2, tensor.Shape{n, hi - lo}, []bool{true}), n, d, lo, hi, newOutBuffer()}, x)
}

type columnsOp struct {
	opBase
	n, d, lo, hi int
	out          outBuffer
}

func (op columnsOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := inputs[float64](op, vals, op.n*op.d)
	if err != nil {
		return nil, err
	}
	w := op.hi - op.lo
	out := op.out.get(op.n * w)
	for i := 0; i < op.n; i++ {
		copy(out[i*w:(i+1)*w], in[0][i*op.d+op.lo:i*op.d+op.hi])
	}
	return tensor.New(tensor.WithShape(op.n, w), tensor.WithBacking(out)), nil
}

func (op columnsOp) SymDiff(in gorgonia.Nodes, out, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	name := fmt.Sprintf("ColumnsGrad{%d×%d,%d:%d}", op.n, op.d, op.lo, op.hi)
	g, err := gorgonia.ApplyOp(columnsGradOp{newOpBase(name, []int{2}, 2, tensor.Shape{op.n, op.d}, nil), op, newOutBuffer()}, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}

type columnsGradOp struct {
	opBase
	c   columnsOp
	out outBuffer
}

func (op columnsGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	c := op.c
	w := c.hi - c.lo
	in, err := inputs[float64](op, vals, c.n*w)
	if err != nil {
		return nil, err
	}
	out := op.out.get(c.n * c.d)
	clear(out)
	for i := 0; i < c.n; i++ {
		copy(out[i*c.d+c.lo:i*c.d+c.hi], in[0][i*w:(i+1)*w])
	}
	return tensor.New(tensor.WithShape(c.n, c.d), tensor.WithBacking(out)), nil
}

func (op columnsGradOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, op.notDifferentiable()
}

package graph

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Add returns a + b for two float64 matrices of one shape. Unlike
// gorgonia.Add, which allocates a new tensor every run, it reuses its
// output from run to run (outBuffer): where fresh memory is expensive that
// matters for large operands — adding the noise to Hua et al.'s 2000×790
// particles cost 3 100 page faults (12 MB of fresh memory) every step.
// Its gradient passes the upstream gradient to both inputs.
func Add(a, b *gorgonia.Node) (*gorgonia.Node, error) {
	if len(a.Shape()) != 2 || a.Dtype() != tensor.Float64 || !a.Shape().Eq(b.Shape()) || b.Dtype() != tensor.Float64 {
		return nil, fmt.Errorf("graph: Add of a %v %v and a %v %v, want two float64 matrices of one shape: %w", a.Dtype(), a.Shape(), b.Dtype(), b.Shape(), ErrShape)
	}
	n, d := a.Shape()[0], a.Shape()[1]
	name := fmt.Sprintf("Add{%d×%d}", n, d)
	return gorgonia.ApplyOp(addOp{newOpBase(name, []int{2, 2}, 2, tensor.Shape{n, d}, []bool{true, true}), n * d, newOutBuffer()}, a, b)
}

type addOp struct {
	opBase
	size int
	out  outBuffer
}

func (op addOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := inputs[float64](op, vals, op.size, op.size)
	if err != nil {
		return nil, err
	}
	out := op.out.get(op.size)
	for i, v := range in[0] {
		out[i] = v + in[1][i]
	}
	return tensor.New(tensor.WithShape(op.shape...), tensor.WithBacking(out)), nil
}

func (op addOp) SymDiff(_ gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	return gorgonia.Nodes{grad, grad}, nil
}

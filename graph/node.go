package graph

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Node is a labeled dataset on a graph: one packed n×d matrix node whose rows
// are grouped by class as described by Layout.
type Node struct {
	X      *gorgonia.Node
	Layout Layout
}

// NewNode adds to g an input matrix node named name holding a copy of ds's
// points in dtype dt (Float64 or Float32). The name must be unique in g:
// gorgonia merges unnamed or equally named inputs of equal shape.
func NewNode(g *gorgonia.ExprGraph, ds *Dataset, dt tensor.Dtype, name string) (Node, error) {
	if err := ds.Validate(); err != nil {
		return Node{}, err
	}
	if dt != tensor.Float64 && dt != tensor.Float32 {
		return Node{}, fmt.Errorf("graph: dtype %v, want float64 or float32: %w", dt, ErrOption)
	}
	if name == "" {
		return Node{}, fmt.Errorf("graph: a dataset node needs a unique name: %w", ErrOption)
	}
	val := denseFrom(dt, append([]float64(nil), ds.Data...), ds.Len(), ds.D)
	x := gorgonia.NewMatrix(g, dt, gorgonia.WithShape(ds.Len(), ds.D), gorgonia.WithName(name), gorgonia.WithValue(val))
	return Node{X: x, Layout: ds.Layout()}, nil
}

// Class returns the n_c×d node of the rows of class c.
func (n Node) Class(c int) (*gorgonia.Node, error) {
	if c < 0 || c >= n.Layout.NumClasses() {
		return nil, fmt.Errorf("graph: class %d out of range [0, %d)", c, n.Layout.NumClasses())
	}
	lo, hi := n.Layout.Offsets[c], n.Layout.Offsets[c+1]
	s, err := gorgonia.Slice(n.X, gorgonia.S(lo, hi))
	if err != nil {
		return nil, err
	}
	if hi-lo == 1 { // gorgonia drops the dimension of a one-row slice
		return gorgonia.Reshape(s, tensor.Shape{1, n.Layout.D})
	}
	return s, nil
}

// DenseFrom returns a dense tensor of dtype dt (Float64 or Float32) with the
// given shape holding v (copied when converting to float32, shared otherwise).
func DenseFrom(dt tensor.Dtype, v []float64, shape ...int) *tensor.Dense {
	return denseFrom(dt, v, shape...)
}

// Float64s returns the values of a float64 or float32 tensor as float64s
// (shared for float64, converted for float32).
func Float64s(v gorgonia.Value) ([]float64, error) {
	return asFloat64s(v, v.Shape().TotalSize())
}

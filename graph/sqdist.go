package graph

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// SqDist returns the n×m matrix of squared Euclidean distances
// D_ij = |x_i − y_j|² between the rows of x (n×d) and y (m×d), float64, by
// one Gram product (negative rounding clipped to 0). It is differentiable in
// both inputs: for an upstream gradient G,
//
//	∂/∂x_i = 2 (Σ_j G_ij) x_i − 2 (G y)_i,   ∂/∂y_j = 2 (Σ_i G_ij) y_j − 2 (Gᵀ x)_j.
//
// x and y may be the same node (the gradients of both arguments add up).
func SqDist(x, y *gorgonia.Node) (*gorgonia.Node, error) {
	if len(x.Shape()) != 2 || len(y.Shape()) != 2 || x.Shape()[1] != y.Shape()[1] {
		return nil, fmt.Errorf("graph: SqDist of shapes %v and %v, want n×d and m×d: %w", x.Shape(), y.Shape(), ErrShape)
	}
	if x.Dtype() != tensor.Float64 || y.Dtype() != tensor.Float64 {
		return nil, fmt.Errorf("graph: SqDist is float64 only (got %v, %v): %w", x.Dtype(), y.Dtype(), ErrOption)
	}
	n, m, d := x.Shape()[0], y.Shape()[0], x.Shape()[1]
	name := fmt.Sprintf("SqDist{%d×%d,%d×%d}", n, d, m, d)
	return gorgonia.ApplyOp(sqDistOp{newOpBase(name, []int{2, 2}, 2, tensor.Shape{n, m}, []bool{true, true}), n, m, d, newOutBuffer()}, x, y)
}

type sqDistOp struct {
	opBase
	n, m, d int
	out     outBuffer
}

func (op sqDistOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := inputs[float64](op, vals, op.n*op.d, op.m*op.d)
	if err != nil {
		return nil, err
	}
	out := op.out.get(op.n * op.m)
	sqDist(in[0], in[1], op.n, op.m, op.d, out)
	return tensor.New(tensor.WithShape(op.n, op.m), tensor.WithBacking(out)), nil
}

// sqDist fills out (n×m) with |x_i − y_j|².
func sqDist(x, y []float64, n, m, d int, out []float64) {
	blas64.Gemm(blas.NoTrans, blas.Trans, -2,
		blas64.General{Rows: n, Cols: d, Stride: d, Data: x},
		blas64.General{Rows: m, Cols: d, Stride: d, Data: y}, 0,
		blas64.General{Rows: n, Cols: m, Stride: m, Data: out})
	nx, ny := rowNorms(x, n, d), rowNorms(y, m, d)
	for i := 0; i < n; i++ {
		row := out[i*m : (i+1)*m]
		for j := range row {
			row[j] = max(0, row[j]+nx[i]+ny[j])
		}
	}
}

func rowNorms(x []float64, n, d int) []float64 {
	s := make([]float64, n)
	for i := range s {
		for _, v := range x[i*d : (i+1)*d] {
			s[i] += v * v
		}
	}
	return s
}

func (op sqDistOp) SymDiff(in gorgonia.Nodes, out, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	res := make(gorgonia.Nodes, 2)
	for w := 0; w < 2; w++ {
		rows := op.n
		if w == 1 {
			rows = op.m
		}
		name := fmt.Sprintf("SqDistGrad{%d×%d,%d×%d,wrt=%d}", op.n, op.d, op.m, op.d, w)
		g, err := gorgonia.ApplyOp(sqDistGradOp{newOpBase(name, []int{2, 2, 2}, 2, tensor.Shape{rows, op.d}, nil), op.n, op.m, op.d, w, newOutBuffer()}, in[0], in[1], grad)
		if err != nil {
			return nil, err
		}
		res[w] = g
	}
	return res, nil
}

type sqDistGradOp struct {
	opBase
	n, m, d, wrt int
	out          outBuffer
}

func (op sqDistGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := inputs[float64](op, vals, op.n*op.d, op.m*op.d, op.n*op.m)
	if err != nil {
		return nil, err
	}
	x, y, g := in[0], in[1], in[2]
	n, m, d := op.n, op.m, op.d
	G := blas64.General{Rows: n, Cols: m, Stride: m, Data: g}
	if op.wrt == 0 {
		out := op.out.get(n * d)
		// out = −2 G y + 2 diag(G 1) x
		blas64.Gemm(blas.NoTrans, blas.NoTrans, -2, G, blas64.General{Rows: m, Cols: d, Stride: d, Data: y}, 0,
			blas64.General{Rows: n, Cols: d, Stride: d, Data: out})
		for i := 0; i < n; i++ {
			s := 0.0
			for _, v := range g[i*m : (i+1)*m] {
				s += v
			}
			for k := 0; k < d; k++ {
				out[i*d+k] += 2 * s * x[i*d+k]
			}
		}
		return tensor.New(tensor.WithShape(n, d), tensor.WithBacking(out)), nil
	}
	out := op.out.get(m * d)
	blas64.Gemm(blas.Trans, blas.NoTrans, -2, G, blas64.General{Rows: n, Cols: d, Stride: d, Data: x}, 0,
		blas64.General{Rows: m, Cols: d, Stride: d, Data: out})
	col := make([]float64, m)
	for i := 0; i < n; i++ {
		for j, v := range g[i*m : (i+1)*m] {
			col[j] += v
		}
	}
	for j := 0; j < m; j++ {
		for k := 0; k < d; k++ {
			out[j*d+k] += 2 * col[j] * y[j*d+k]
		}
	}
	return tensor.New(tensor.WithShape(m, d), tensor.WithBacking(out)), nil
}

func (op sqDistGradOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, op.notDifferentiable()
}

package graph

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Resample adds the sparse linear map of the rows of x (n×in) given by a
// tap table: output value p of every row is
//
//	y[i, p] = Σ_t wts[p, t] · x[i, idx[p, t]],   t < T,
//
// with idx and wts of shape out×T (the indices stored as exact integers in
// the graph's dtype, a weight of 0 for an unused tap). A bilinear
// resampling of images (rotation, scaling, translation) is such a map with
// T = 4: it costs 2·T·n·out operations where the dense matrix product costs
// 2·n·in·out. It is differentiable with respect to x,
//
//	∂x[i, idx[p, t]] += wts[p, t] · ∂y[i, p],
//
// summed in the order of p and t; the table has no gradient. The indices
// are checked at every evaluation: one outside [0, in) is an error.
func Resample(x, idx, wts *gorgonia.Node) (*gorgonia.Node, error) {
	s, si := x.Shape(), idx.Shape()
	if len(s) != 2 || len(si) != 2 || !wts.Shape().Eq(si) || si[0] < 1 || si[1] < 1 {
		return nil, fmt.Errorf("graph: resample %s of shape %v with a tap table of shapes %v and %v, want n×in and two equal out×T: %w",
			x.Name(), s, si, wts.Shape(), ErrShape)
	}
	return gorgonia.ApplyOp(newResampleOp(s[0], s[1], si[0], si[1], false), x, idx, wts)
}

type resampleOp struct {
	opBase
	n, in, out, taps int
	grad             bool // ∂y, idx, wts → ∂x
}

func newResampleOp(n, in, out, taps int, grad bool) resampleOp {
	name := fmt.Sprintf("Resample{n=%d,in=%d,out=%d,taps=%d,grad=%v}", n, in, out, taps, grad)
	shape := tensor.Shape{n, out}
	diff := []bool{true, false, false}
	if grad {
		shape, diff = tensor.Shape{n, in}, nil
	}
	return resampleOp{newOpBase(name, []int{2, 2, 2}, 2, shape, diff), n, in, out, taps, grad}
}

func (op resampleOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.grad {
		return nil, op.notDifferentiable()
	}
	dx, err := gorgonia.ApplyOp(newResampleOp(op.n, op.in, op.out, op.taps, true), grad, in[1], in[2])
	return gorgonia.Nodes{dx, nil, nil}, err
}

func (op resampleOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	first := op.n * op.in
	if op.grad {
		first = op.n * op.out
	}
	want := []int{first, op.out * op.taps, op.out * op.taps}
	var bad error
	v, err := doTyped(op, vals, want, op.shape,
		func(in [][]float64, out []float64) { bad = resampleDo(op, in, out) },
		func(in [][]float32, out []float32) { bad = resampleDo(op, in, out) })
	if err != nil {
		return nil, err
	}
	return v, bad
}

func resampleDo[F float32 | float64](op resampleOp, in [][]F, out []F) error {
	idx, wts := in[1], in[2]
	at := make([]int, len(idx))
	for k, v := range idx {
		j := int(v)
		if F(j) != v || j < 0 || j >= op.in {
			return fmt.Errorf("graph: %v: tap %d of output %d reads %v, not an index in [0, %d): %w", op, k%op.taps, k/op.taps, v, op.in, ErrShape)
		}
		at[k] = j
	}
	rowIn, rowOut := op.in, op.out
	if op.grad {
		rowIn, rowOut = op.out, op.in
	}
	parallelFor(op.n, op.n*len(idx) >= 1<<15, func(i int) {
		src, dst := in[0][i*rowIn:(i+1)*rowIn], out[i*rowOut:(i+1)*rowOut]
		for p := 0; p < op.out; p++ {
			k := p * op.taps
			if op.grad {
				g := src[p]
				for t := k; t < k+op.taps; t++ {
					dst[at[t]] += wts[t] * g
				}
				continue
			}
			s := F(0)
			for t := k; t < k+op.taps; t++ {
				s += wts[t] * src[at[t]]
			}
			dst[p] = s
		}
	})
	return nil
}

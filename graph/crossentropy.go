package graph

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// CrossEntropy returns the scalar node Σ_i w_i · (−log softmax(z_i)[y_i]) of
// the n×K logits z, labels y and row weights w, computed stably (log-sum-exp
// with the row maximum subtracted, accumulated in float64). Its gradient is
// w_i · (softmax(z_i) − e_{y_i}). With w_i = 1/n it is the mean cross-entropy;
// with w_i = a_c/n_c for row i of class c it is the classifier loss of a
// labeled dataset. (gorgonia's own LogSoftMax hashes like SoftMax — its
// isLog flag is not in the op hash — so the two would be merged in a graph.)
func CrossEntropy(logits *gorgonia.Node, labels []int, weights []float64) (*gorgonia.Node, error) {
	s := logits.Shape()
	if len(s) != 2 {
		return nil, fmt.Errorf("graph: cross-entropy logits %s have shape %v, want n×K: %w", logits.Name(), s, ErrShape)
	}
	n, K := s[0], s[1]
	if len(labels) != n || len(weights) != n {
		return nil, fmt.Errorf("graph: cross-entropy of %d rows with %d labels and %d weights: %w", n, len(labels), len(weights), ErrShape)
	}
	h := fnv.New64a()
	var b [8]byte
	for i, y := range labels {
		if y < 0 || y >= K {
			return nil, fmt.Errorf("graph: cross-entropy label %d at row %d is outside [0, %d): %w", y, i, K, ErrShape)
		}
		if math.IsNaN(weights[i]) || math.IsInf(weights[i], 0) {
			return nil, fmt.Errorf("graph: cross-entropy weight %v at row %d: %w", weights[i], i, ErrNonFinite)
		}
		binary.LittleEndian.PutUint64(b[:], uint64(y))
		h.Write(b[:])
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(weights[i]))
		h.Write(b[:])
	}
	name := fmt.Sprintf("CrossEntropy{n=%d,K=%d,labels+weights=%x}", n, K, h.Sum64()) // the digest names every label and weight
	op := &xentOp{opBase: newOpBase(name, []int{2}, 0, tensor.ScalarShape(), []bool{true}),
		n: n, k: K, labels: append([]int(nil), labels...), weights: append([]float64(nil), weights...)}
	return gorgonia.ApplyOp(op, logits)
}

// MeanCrossEntropy returns the scalar node
//
//	(1/n) Σ_i [log Σ_k exp z_ik − Σ_k y_ik z_ik]
//
// of the n×K logits z and the n×K label rows y (one-hot, or any
// distributions), an input node, so that one graph serves every mini-batch
// (CrossEntropy fixes its labels in the op). It is computed stably; its
// gradient with respect to z is (softmax(z_i) − y_i)/n, and y gets none.
func MeanCrossEntropy(z, y *gorgonia.Node) (*gorgonia.Node, error) {
	s := z.Shape()
	if len(s) != 2 || !s.Eq(y.Shape()) {
		return nil, fmt.Errorf("graph: cross-entropy of logits %v and labels %v: %w", s, y.Shape(), ErrShape)
	}
	name := fmt.Sprintf("MeanCrossEntropy{n=%d,K=%d}", s[0], s[1])
	op := &xentOp{opBase: newOpBase(name, []int{2, 2}, 0, tensor.ScalarShape(), []bool{true, false}), n: s[0], k: s[1]}
	return gorgonia.ApplyOp(op, z, y)
}

// xentOp is the cross-entropy of n×K logits, against labels fixed in the op
// with row weights (CrossEntropy: Σ_i w_i [log Σ_k exp z_ik − z_iy_i]) or
// against label rows, its second input, averaged over the rows
// (MeanCrossEntropy).
type xentOp struct {
	opBase
	n, k    int
	labels  []int     // the fixed labels; nil: the labels are the second input
	weights []float64 // the row weights of the fixed labels
}

// rows calls f(i, z_i, y_i) with each row of the logits and, for label
// rows, of the labels (else nil) as float64s, and returns the logits' dtype.
func (op *xentOp) rows(vals []gorgonia.Value, f func(i int, z, y []float64)) (tensor.Dtype, error) {
	if len(vals) != op.Arity() {
		return tensor.Dtype{}, fmt.Errorf("graph: %v: %d inputs: %w", op, len(vals), ErrShape)
	}
	ts := make([]tensor.Tensor, len(vals))
	for j, v := range vals {
		t, ok := v.(tensor.Tensor)
		if !ok || t.Shape().TotalSize() != op.n*op.k {
			return tensor.Dtype{}, fmt.Errorf("graph: %v: input %d of shape %v: %w", op, j, v.Shape(), ErrShape)
		}
		if _, ok := t.Data().([]float64); !ok {
			if _, ok := t.Data().([]float32); !ok {
				return tensor.Dtype{}, fmt.Errorf("graph: %v: unsupported dtype %v", op, t.Dtype())
			}
		}
		ts[j] = t
	}
	row := make([][]float64, 2) // z_i, y_i
	buf := [2][]float64{make([]float64, op.k), make([]float64, op.k)}
	for i := 0; i < op.n; i++ {
		for j, t := range ts {
			switch d := t.Data().(type) {
			case []float64:
				row[j] = d[i*op.k : (i+1)*op.k]
			case []float32:
				for c := range buf[j] {
					buf[j][c] = float64(d[i*op.k+c])
				}
				row[j] = buf[j]
			}
		}
		f(i, row[0], row[1])
	}
	return ts[0].Dtype(), nil
}

// LogSumExp returns log Σ_j exp(z_j), computed with the maximum subtracted.
func LogSumExp(z []float64) float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, v)
	}
	s := 0.0
	for _, v := range z {
		s += math.Exp(v - m)
	}
	return m + math.Log(s)
}

func (op *xentOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	total := 0.0
	dt, err := op.rows(vals, func(i int, z, y []float64) {
		if op.labels != nil {
			total += op.weights[i] * (LogSumExp(z) - z[op.labels[i]])
			return
		}
		total += LogSumExp(z)
		for j, v := range z {
			total -= y[j] * v
		}
	})
	if err != nil {
		return nil, err
	}
	if op.labels == nil {
		total /= float64(op.n)
	}
	if dt == tensor.Float32 {
		return gorgonia.NewF32(float32(total)), nil
	}
	return gorgonia.NewF64(total), nil
}

func (op *xentOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	gop := &xentGradOp{newOpBase("Grad"+op.name, append(op.in[:len(op.in):len(op.in)], 0), 2, tensor.Shape{op.n, op.k}, nil), op}
	g, err := gorgonia.ApplyOp(gop, append(in[:len(in):len(in)], grad)...)
	ret := make(gorgonia.Nodes, len(in)) // the labels get none
	ret[0] = g
	return ret, err
}

// xentGradOp computes g·w_i·(softmax(z_i) − y_i) (w_i = 1/n for label rows)
// from the inputs of its xentOp and the incoming scalar gradient g.
type xentGradOp struct {
	opBase
	x *xentOp
}

func (op *xentGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	x := op.x
	if len(vals) != op.Arity() {
		return nil, fmt.Errorf("graph: %v: %d inputs: %w", op, len(vals), ErrShape)
	}
	g, err := scalarValue(vals[len(vals)-1])
	if err != nil {
		return nil, fmt.Errorf("graph: %v: incoming gradient: %w", op, err)
	}
	if x.labels == nil {
		g /= float64(x.n)
	}
	out := make([]float64, x.n*x.k)
	dt, err := x.rows(vals[:len(vals)-1], func(i int, z, y []float64) {
		lse := LogSumExp(z)
		row := out[i*x.k : (i+1)*x.k]
		if x.labels != nil {
			for j, v := range z {
				row[j] = g * x.weights[i] * math.Exp(v-lse)
			}
			row[x.labels[i]] -= g * x.weights[i]
			return
		}
		for j, v := range z {
			row[j] = g * (math.Exp(v-lse) - y[j])
		}
	})
	if err != nil {
		return nil, err
	}
	return denseFrom(dt, out, x.n, x.k), nil
}

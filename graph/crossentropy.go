package graph

import (
	"encoding/binary"
	"fmt"
	"hash"
	"hash/fnv"
	"math"

	"github.com/chewxy/hm"
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
	op := &xentOp{labels: append([]int(nil), labels...), weights: append([]float64(nil), weights...), digest: h.Sum64(), k: K}
	return gorgonia.ApplyOp(op, logits)
}

type xentOp struct {
	labels  []int
	weights []float64
	digest  uint64 // hash of labels and weights: equal ops must hash equal, different ones differently
	k       int
}

func (op *xentOp) Arity() int { return 1 }
func (op *xentOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(gorgonia.TensorType{Dims: 2, Of: a}, a)
}
func (op *xentOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.ScalarShape(), nil
}
func (op *xentOp) ReturnsPtr() bool      { return false }
func (op *xentOp) CallsExtern() bool     { return false }
func (op *xentOp) OverwritesInput() int  { return -1 }
func (op *xentOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *xentOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}
func (op *xentOp) String() string {
	return fmt.Sprintf("CrossEntropy{n=%d,K=%d,labels+weights=%x}", len(op.labels), op.k, op.digest)
}

// rows calls f(i, z_i) with each row of the logits as float64s.
func (op *xentOp) rows(v gorgonia.Value, f func(i int, z []float64)) (tensor.Dtype, error) {
	t, ok := v.(tensor.Tensor)
	if !ok || t.Shape().TotalSize() != len(op.labels)*op.k {
		return tensor.Dtype{}, fmt.Errorf("graph: %v: input %v", op, v.Shape())
	}
	z := make([]float64, op.k)
	switch d := t.Data().(type) {
	case []float64:
		for i := range op.labels {
			f(i, d[i*op.k:(i+1)*op.k])
		}
	case []float32:
		for i := range op.labels {
			for j := range z {
				z[j] = float64(d[i*op.k+j])
			}
			f(i, z)
		}
	default:
		return tensor.Dtype{}, fmt.Errorf("graph: %v: dtype %v", op, t.Dtype())
	}
	return t.Dtype(), nil
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
	dt, err := op.rows(vals[0], func(i int, z []float64) {
		total += op.weights[i] * (LogSumExp(z) - z[op.labels[i]])
	})
	if err != nil {
		return nil, err
	}
	if dt == tensor.Float32 {
		return gorgonia.NewF32(float32(total)), nil
	}
	return gorgonia.NewF64(total), nil
}

func (op *xentOp) DiffWRT(int) []bool { return []bool{true} }
func (op *xentOp) SymDiff(in gorgonia.Nodes, out, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	g, err := gorgonia.ApplyOp(&xentGradOp{op}, in[0], grad)
	return gorgonia.Nodes{g}, err
}

type xentGradOp struct{ *xentOp }

func (op *xentGradOp) Arity() int { return 2 }
func (op *xentGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	m := gorgonia.TensorType{Dims: 2, Of: a}
	return hm.NewFnType(m, a, m)
}
func (op *xentGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{len(op.labels), op.k}, nil
}
func (op *xentGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *xentGradOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}
func (op *xentGradOp) String() string { return "Grad" + op.xentOp.String() }

func (op *xentGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	var g float64
	switch s := vals[1].(type) {
	case *gorgonia.F64:
		g = float64(*s)
	case *gorgonia.F32:
		g = float64(*s)
	default:
		gs, err := asFloat64s(vals[1], 1)
		if err != nil {
			return nil, fmt.Errorf("graph: %v: incoming gradient: %w", op, err)
		}
		g = gs[0]
	}
	out := make([]float64, len(op.labels)*op.k)
	dt, err := op.rows(vals[0], func(i int, z []float64) {
		lse := LogSumExp(z)
		row := out[i*op.k : (i+1)*op.k]
		for j, v := range z {
			row[j] = g * op.weights[i] * math.Exp(v-lse)
		}
		row[op.labels[i]] -= g * op.weights[i]
	})
	if err != nil {
		return nil, err
	}
	return denseFrom(dt, out, len(op.labels), op.k), nil
}

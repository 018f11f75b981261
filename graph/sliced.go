package graph

import (
	"errors"
	"fmt"
	"hash"
	"slices"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Projected is a projected dataset on a graph: an n×L node whose rows are the
// points of the classes described by Layout, projected on L directions.
type Projected struct {
	Node   *gorgonia.Node
	Layout Layout
}

// SlicedOptions configures the Sliced op.
type SlicedOptions struct {
	// P is the transport cost exponent: 2 gives SW_2², 1 gives SW_1.
	// Zero means 2.
	P int
	// SkipTargetBlock leaves the block between the classes of the second input
	// at zero instead of computing it (the target–target block of an MMD,
	// constant for the gradient). Ignored with a single input.
	SkipTargetBlock bool
	// Quantiles, when positive, replaces the exact 1-D transport by the
	// paper code's percentile estimator: each class's sorted projections are
	// summarised by Quantiles interpolated quantiles, interpolated again at
	// Quantiles random levels given per direction by Levels (an L×Quantiles
	// node of values in [0,1], redrawn each step by the caller); the cost is
	// the mean of |difference|^p over those levels. An approximation, noisy
	// even with many directions; offered for comparison with the paper's code.
	Quantiles int
	Levels    *gorgonia.Node
}

// ErrOption reports an invalid option value.
var ErrOption = errors.New("graph: invalid option")

// Sliced returns a G×G node, G the total number of classes of the inputs (one
// or two projected datasets, classes of the first then of the second), whose
// entry (g, h) is S_p(μ_g, μ_h) = (1/L) Σ_l W_p^p of the projections of classes
// g and h on direction l, computed exactly by sorting. The matrix is symmetric
// with a zero diagonal. It is differentiable with respect to every input; the
// gradient is the closed-form monotone transport map (see the package doc).
func Sliced(opt SlicedOptions, inputs ...Projected) (*gorgonia.Node, error) {
	if opt.P == 0 {
		opt.P = 2
	}
	if opt.P != 1 && opt.P != 2 {
		return nil, fmt.Errorf("graph: sliced cost exponent p=%d, want 1 or 2: %w", opt.P, ErrOption)
	}
	if len(inputs) < 1 || len(inputs) > 2 {
		return nil, fmt.Errorf("graph: Sliced takes 1 or 2 projected datasets, got %d: %w", len(inputs), ErrShape)
	}
	op := &slicedOp{p: opt.P, skipBB: opt.SkipTargetBlock && len(inputs) == 2, quant: opt.Quantiles}
	if opt.Quantiles < 0 || opt.Quantiles == 1 {
		return nil, fmt.Errorf("graph: %d quantiles, want 0 (exact) or at least 2: %w", opt.Quantiles, ErrOption)
	}
	nodes := make([]*gorgonia.Node, len(inputs))
	L := -1
	for i, in := range inputs {
		shp := in.Node.Shape()
		if len(shp) != 2 {
			return nil, fmt.Errorf("graph: Sliced input %d (%s) has shape %v, want n×L: %w", i, in.Node.Name(), shp, ErrShape)
		}
		if shp[0] != in.Layout.Len() {
			return nil, fmt.Errorf("graph: Sliced input %d (%s) has %d rows, layout has %d points: %w", i, in.Node.Name(), shp[0], in.Layout.Len(), ErrShape)
		}
		if L >= 0 && shp[1] != L {
			return nil, fmt.Errorf("graph: Sliced inputs have %d and %d directions: %w", L, shp[1], ErrShape)
		}
		L = shp[1]
		for c := 0; c < in.Layout.NumClasses(); c++ {
			if in.Layout.ClassSize(c) <= 0 {
				return nil, fmt.Errorf("graph: Sliced input %d, class %d: %w", i, c, ErrEmptyClass)
			}
		}
		op.layouts = append(op.layouts, in.Layout)
		nodes[i] = in.Node
	}
	op.eng = newSlicer(op.p, op.skipBB, op.layouts...)
	op.eng.quant = op.quant
	if op.quant > 0 {
		if opt.Levels == nil {
			return nil, fmt.Errorf("graph: the percentile estimator needs a Levels node: %w", ErrOption)
		}
		if s := opt.Levels.Shape(); len(s) != 2 || s[0] != L || s[1] != op.quant {
			return nil, fmt.Errorf("graph: levels %s have shape %v, want %d×%d: %w", opt.Levels.Name(), opt.Levels.Shape(), L, op.quant, ErrShape)
		}
		nodes = append(nodes, opt.Levels)
	}
	return gorgonia.ApplyOp(op, nodes...)
}

// SW returns the scalar node S_p(μ, ν) between two single-class projected
// point clouds (n×L and m×L nodes): a building block for user-written
// interaction energies.
func SW(p int, mu, nu *gorgonia.Node) (*gorgonia.Node, error) {
	if len(mu.Shape()) != 2 || len(nu.Shape()) != 2 {
		return nil, fmt.Errorf("graph: SW needs n×L projected clouds, got %v and %v: %w", mu.Shape(), nu.Shape(), ErrShape)
	}
	s, err := Sliced(SlicedOptions{P: p},
		Projected{mu, Layout{Offsets: []int{0, mu.Shape()[0]}}},
		Projected{nu, Layout{Offsets: []int{0, nu.Shape()[0]}}})
	if err != nil {
		return nil, err
	}
	return gorgonia.Slice(s, gorgonia.S(0), gorgonia.S(1))
}

type slicedOp struct {
	pure
	p       int
	skipBB  bool
	quant   int
	layouts []Layout
	eng     *slicer
}

// Arity counts the projected datasets and, with the percentile estimator,
// the levels node (last).
func (op *slicedOp) Arity() int {
	if op.quant > 0 {
		return len(op.layouts) + 1
	}
	return len(op.layouts)
}

func (op *slicedOp) Type() hm.Type { return fnType(slices.Repeat([]int{2}, op.Arity()), 2) }

func (op *slicedOp) numGroups() int {
	G := 0
	for _, l := range op.layouts {
		G += l.NumClasses()
	}
	return G
}

func (op *slicedOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	G := op.numGroups()
	return tensor.Shape{G, G}, nil
}

func (op *slicedOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vals) != op.Arity() {
		return nil, fmt.Errorf("graph: %v got %d inputs", op, len(vals))
	}
	if op.quant > 0 {
		lv, err := asFloat64s(vals[len(vals)-1], vals[len(vals)-1].Shape().TotalSize())
		if err != nil {
			return nil, fmt.Errorf("graph: %v levels: %w", op, err)
		}
		for i, u := range lv {
			if !(u >= 0 && u <= 1) {
				return nil, fmt.Errorf("graph: %v: level %d is %v, want a value in [0,1]", op, i, u)
			}
		}
		op.eng.levels = append(op.eng.levels[:0], lv...)
		vals = vals[:len(vals)-1]
	}
	ms := make([]matrix, len(vals))
	var dt tensor.Dtype
	for i, v := range vals {
		m, d, err := asMatrix(v, op.layouts[i].Len())
		if err != nil {
			return nil, fmt.Errorf("graph: %v input %d: %w", op, i, err)
		}
		ms[i], dt = m, d
	}
	out := op.eng.forward(ms, ms[0].L)
	G := op.numGroups()
	return denseFrom(dt, out, G, G), nil
}

func (op *slicedOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *slicedOp) Hashcode() uint32      { return hashString(op.String()) }

func (op *slicedOp) String() string {
	s := fmt.Sprintf("Sliced{p=%d,skipTarget=%v,quantiles=%d", op.p, op.skipBB, op.quant)
	for _, l := range op.layouts {
		s += ",classes=" + l.key()
	}
	return s + "}"
}

func (op *slicedOp) DiffWRT(n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = i < len(op.layouts) // not the levels
	}
	return out
}

func (op *slicedOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	ret := make(gorgonia.Nodes, len(inputs))
	for t := range op.layouts {
		args := append(append(gorgonia.Nodes{}, inputs...), grad)
		n, err := gorgonia.ApplyOp(&slicedGradOp{parent: op, wrt: t}, args...)
		if err != nil {
			return nil, err
		}
		ret[t] = n
	}
	return ret, nil
}

// slicedGradOp computes the gradient of a slicedOp's output, contracted with
// the incoming gradient, with respect to input wrt. Its inputs are the
// parent's inputs then the incoming gradient; it reuses the parent's sort.
type slicedGradOp struct {
	pure
	parent *slicedOp
	wrt    int
	out    *tensor.Dense // reused across evaluations
}

func (op *slicedGradOp) Arity() int { return op.parent.Arity() + 1 }

func (op *slicedGradOp) Type() hm.Type { return fnType(slices.Repeat([]int{2}, op.Arity()), 2) }

func (op *slicedGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, ok := in[op.wrt].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("graph: %v: input %d has no shape", op, op.wrt)
	}
	return s.Clone(), nil
}

func (op *slicedGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vals) != op.Arity() {
		return nil, fmt.Errorf("graph: %v got %d inputs", op, len(vals))
	}
	eng := op.parent.eng
	G := op.parent.numGroups()
	dout, err := asFloat64s(vals[len(vals)-1], G*G)
	if err != nil {
		return nil, fmt.Errorf("graph: %v incoming gradient: %w", op, err)
	}
	x, ok := vals[op.wrt].(tensor.Tensor)
	if !ok {
		return nil, fmt.Errorf("graph: %v: input is not a tensor", op)
	}
	n := op.parent.layouts[op.wrt].Len()
	L := eng.L
	if x.Shape().TotalSize() != n*L {
		return nil, fmt.Errorf("graph: %v: input shape %v does not match the last forward pass (%d×%d)", op, x.Shape(), n, L)
	}
	if op.out == nil || op.out.Dtype() != x.Dtype() || !op.out.Shape().Eq(tensor.Shape{n, L}) {
		op.out = tensor.New(tensor.Of(x.Dtype()), tensor.WithShape(n, L))
	}
	switch d := op.out.Data().(type) {
	case []float64:
		eng.backward(op.wrt, dout, matrix{f64: d, L: L})
	case []float32:
		eng.backward(op.wrt, dout, matrix{f32: d, L: L})
	default:
		return nil, fmt.Errorf("graph: %v: unsupported dtype %v", op, x.Dtype())
	}
	return op.out, nil
}

func (op *slicedGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *slicedGradOp) Hashcode() uint32      { return hashString(op.String()) }
func (op *slicedGradOp) String() string {
	return fmt.Sprintf("SlicedGrad{wrt=%d,%v}", op.wrt, op.parent)
}

func asMatrix(v gorgonia.Value, rows int) (matrix, tensor.Dtype, error) {
	t, ok := v.(tensor.Tensor)
	if !ok || t.Shape().Dims() != 2 {
		return matrix{}, tensor.Dtype{}, fmt.Errorf("want an n×L matrix, got %v: %w", v.Shape(), ErrShape)
	}
	if t.Shape()[0] != rows {
		return matrix{}, tensor.Dtype{}, fmt.Errorf("got %d rows, want %d: %w", t.Shape()[0], rows, ErrShape)
	}
	if !t.IsNativelyAccessible() || t.DataOrder().IsColMajor() {
		return matrix{}, tensor.Dtype{}, fmt.Errorf("want a row-major dense matrix")
	}
	L := t.Shape()[1]
	switch d := t.Data().(type) {
	case []float64:
		return matrix{f64: d, L: L}, t.Dtype(), nil
	case []float32:
		return matrix{f32: d, L: L}, t.Dtype(), nil
	}
	return matrix{}, tensor.Dtype{}, fmt.Errorf("unsupported dtype %v", t.Dtype())
}

// scalarValue returns the value of a scalar: a *gorgonia.F64 or F32 or a
// tensor of one element (an upstream gradient).
func scalarValue(v gorgonia.Value) (float64, error) {
	switch u := v.(type) {
	case *gorgonia.F64:
		return float64(*u), nil
	case *gorgonia.F32:
		return float64(*u), nil
	}
	uv, err := asFloat64s(v, 1)
	if err != nil {
		return 0, err
	}
	return uv[0], nil
}

func asFloat64s(v gorgonia.Value, n int) ([]float64, error) {
	t, ok := v.(tensor.Tensor)
	if !ok {
		return nil, fmt.Errorf("not a tensor")
	}
	if t.Shape().TotalSize() != n {
		return nil, fmt.Errorf("%d values, want %d: %w", t.Shape().TotalSize(), n, ErrShape)
	}
	switch d := t.Data().(type) {
	case []float64:
		return d, nil
	case []float32:
		out := make([]float64, len(d))
		for i, x := range d {
			out[i] = float64(x)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported dtype %v", t.Dtype())
}

func denseFrom(dt tensor.Dtype, v []float64, shape ...int) *tensor.Dense {
	if dt == tensor.Float32 {
		f := make([]float32, len(v))
		for i, x := range v {
			f[i] = float32(x)
		}
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(f))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
}

package graph

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// pure is embedded by every custom op of this package: none returns a
// pointer to its input, calls extern code or overwrites an input.
type pure struct{}

func (pure) ReturnsPtr() bool     { return false }
func (pure) CallsExtern() bool    { return false }
func (pure) OverwritesInput() int { return -1 }

// opBase is embedded by the custom ops of this package, which set it when
// they are made (newOpBase) and then state only their own methods: Do, and
// SymDiff if differentiable, and InferShape if the output shape depends on
// the inputs'. From a name, a signature, an output shape and the inputs with
// a gradient, opBase supplies the rest of gorgonia.Op and DiffWRT.
//
// The name is the op's String and its hash, so it must name every
// parameter of the op: gorgonia merges nodes whose op hashes are equal.
type opBase struct {
	pure
	name  string
	in    []int        // the dimensions of each input, 0 for a scalar
	out   int          // the dimensions of the output, 0 for a scalar
	shape tensor.Shape // the output shape (nil for an op with its own InferShape)
	diff  []bool       // the inputs with a gradient (nil: none)
}

// newOpBase returns the base of an op named name (naming every parameter)
// whose inputs have the dimensions in, whose output has dimensions out and
// the given shape (nil if the op infers it), and which is differentiable with
// respect to the inputs marked in diff (nil: none).
func newOpBase(name string, in []int, out int, shape tensor.Shape, diff []bool) opBase {
	return opBase{name: name, in: in, out: out, shape: shape, diff: diff}
}

func (o opBase) Arity() int { return len(o.in) }

func (o opBase) Type() hm.Type { return fnType(o.in, o.out) }

// fnType is the type of an op whose inputs have the dimensions in and whose
// output has dimensions out, all of one type variable: a tensor of d > 0
// dimensions or, for d = 0, a scalar.
func fnType(in []int, out int) hm.Type {
	a := hm.TypeVariable('a')
	of := func(d int) hm.Type {
		if d == 0 {
			return a
		}
		return gorgonia.TensorType{Dims: d, Of: a}
	}
	ts := make(hm.Types, 0, len(in)+1)
	for _, d := range in {
		ts = append(ts, of(d))
	}
	return hm.NewFnType(append(ts, of(out))...)
}

func (o opBase) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	if o.shape == nil {
		return nil, fmt.Errorf("graph: %s has no fixed output shape", o.name)
	}
	return o.shape.Clone(), nil
}

func (o opBase) DiffWRT(int) []bool {
	if o.diff == nil {
		return make([]bool, len(o.in))
	}
	return append([]bool(nil), o.diff...)
}

func (o opBase) String() string        { return o.name }
func (o opBase) WriteHash(h hash.Hash) { fmt.Fprint(h, o.name) }
func (o opBase) Hashcode() uint32      { return hashString(o.name) }
func (o opBase) notDifferentiable() error {
	return fmt.Errorf("graph: %s is not differentiable", o.name)
}

// outBuffer is an op's output backing, reused from one run of the graph to
// the next: on the project's VMs a fresh buffer of several megabytes costs
// about 1 ms per MB in page faults, ten times filling one already mapped.
// The op must write every element of it on every run (gorgonia may have
// added into the previous value in place), and the value is valid until the
// next run, as for gorgonia's preallocated values. Each op made gets its
// own (newOutBuffer).
type outBuffer struct{ b *[]float64 }

func newOutBuffer() outBuffer { return outBuffer{new([]float64)} }

// get returns the buffer, of n values, reallocated if its length differs.
func (o outBuffer) get(n int) []float64 {
	if len(*o.b) != n {
		*o.b = make([]float64, n)
	}
	return *o.b
}

// hashString is the op hash of an op named s: FNV-1a of s.
func hashString(s string) uint32 {
	h := fnv.New32a()
	fmt.Fprint(h, s)
	return h.Sum32()
}

// inputs returns the contiguous data of the op's inputs vals as []F,
// checking that input i is a tensor of dtype F holding want[i] values.
func inputs[F float32 | float64](op fmt.Stringer, vals []gorgonia.Value, want ...int) ([][]F, error) {
	if len(vals) != len(want) {
		return nil, fmt.Errorf("graph: %v: %d inputs, want %d: %w", op, len(vals), len(want), ErrShape)
	}
	res := make([][]F, len(vals))
	for i, v := range vals {
		t, ok := v.(tensor.Tensor)
		if !ok {
			return nil, fmt.Errorf("graph: %v: input %d is a %T: %w", op, i, v, ErrShape)
		}
		d, ok := t.Data().([]F)
		if !ok || len(d) != want[i] || t.Shape().TotalSize() != want[i] {
			return nil, fmt.Errorf("graph: %v: input %d of shape %v and dtype %v, want %d values: %w", op, i, t.Shape(), t.Dtype(), want[i], ErrShape)
		}
		res[i] = d
	}
	return res, nil
}

// doTyped is the Do of an op on float64 or float32 tensors (the dtype of
// the first input): it checks the inputs (input i holding want[i] values),
// fills a new output of the given shape, from zero, with run64 or run32 and
// returns it.
func doTyped(op fmt.Stringer, vals []gorgonia.Value, want []int, shape tensor.Shape, run64 func(in [][]float64, out []float64), run32 func(in [][]float32, out []float32)) (gorgonia.Value, error) {
	if len(vals) == 0 {
		return nil, fmt.Errorf("graph: %v: no inputs: %w", op, ErrShape)
	}
	switch vals[0].Dtype() {
	case tensor.Float64:
		return runTyped(op, vals, want, shape, run64)
	case tensor.Float32:
		return runTyped(op, vals, want, shape, run32)
	}
	return nil, fmt.Errorf("graph: %v: unsupported dtype %v", op, vals[0].Dtype())
}

func runTyped[F float32 | float64](op fmt.Stringer, vals []gorgonia.Value, want []int, shape tensor.Shape, run func(in [][]F, out []F)) (gorgonia.Value, error) {
	in, err := inputs[F](op, vals, want...)
	if err != nil {
		return nil, err
	}
	out := make([]F, shape.TotalSize())
	run(in, out)
	return tensor.New(tensor.WithShape(shape.Clone()...), tensor.WithBacking(out)), nil
}

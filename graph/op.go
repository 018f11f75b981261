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

// hashString is the op hash of an op named s: FNV-1a of s.
func hashString(s string) uint32 {
	h := fnv.New32a()
	fmt.Fprint(h, s)
	return h.Sum32()
}

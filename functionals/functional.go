package functionals

import (
	"fmt"
	"strings"

	"github.com/wowflow/wowflow/graph"
	"gorgonia.org/gorgonia"
)

// A Functional adds to env's graph the nodes computing the scalar F(P) of the
// dataset x. Build must not modify x, and every input node it creates must
// have a unique name (use env.Input / env.Constant / env.UniqueName).
type Functional interface {
	Build(env *Env, x graph.Node) (*gorgonia.Node, error)
	// String names the functional and every parameter; it is stable and used
	// in logs and result manifests.
	String() string
}

// Referencer is implemented by functionals with a plain-Go evaluation, used
// by tests to check the graph: the value of F at x with the given projection
// directions theta (d×L row-major, unit columns).
type Referencer interface {
	Reference(x *graph.Dataset, theta []float64, L int) (float64, error)
}

// Term is one weighted functional of a Sum.
type Term struct {
	Weight float64
	F      Functional
}

// Sum is the functional Σ_i Weight_i F_i.
type Sum []Term

// Build implements Functional.
func (s Sum) Build(env *Env, x graph.Node) (*gorgonia.Node, error) {
	if len(s) == 0 {
		return nil, fmt.Errorf("functionals: empty sum: %w", ErrParam)
	}
	var total *gorgonia.Node
	for i, t := range s {
		if t.F == nil {
			return nil, fmt.Errorf("functionals: term %d of the sum is nil: %w", i, ErrParam)
		}
		v, err := t.F.Build(env, x)
		if err != nil {
			return nil, fmt.Errorf("functionals: term %d (%v): %w", i, t.F, err)
		}
		if total, err = addScaled(env, total, v, t.Weight); err != nil {
			return nil, err
		}
	}
	return total, nil
}

func (s Sum) String() string {
	parts := make([]string, len(s))
	for i, t := range s {
		parts[i] = fmt.Sprintf("%g*%v", t.Weight, t.F)
	}
	return "Sum(" + strings.Join(parts, " + ") + ")"
}

// Reference implements Referencer when every term does.
func (s Sum) Reference(x *graph.Dataset, theta []float64, L int) (float64, error) {
	total := 0.0
	for i, t := range s {
		r, ok := t.F.(Referencer)
		if !ok {
			return 0, fmt.Errorf("functionals: term %d (%v) has no reference evaluation", i, t.F)
		}
		v, err := r.Reference(x, theta, L)
		if err != nil {
			return 0, err
		}
		total += t.Weight * v
	}
	return total, nil
}

var (
	_ Functional = Sum{}
	_ Referencer = Sum{}
)

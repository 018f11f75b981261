package functionals

import (
	"fmt"

	"github.com/wowflow/wowflow/graph"
	"gorgonia.org/gorgonia"
)

// ClassFunc is a user-written graph function of one class: the n_c×d node of
// class c's points.
type ClassFunc func(env *Env, class *gorgonia.Node, c int) (*gorgonia.Node, error)

// PairFunc is a user-written graph function of two classes (c and k, possibly
// equal, in which case mu and nu are the same node).
type PairFunc func(env *Env, mu, nu *gorgonia.Node, c, k int) (*gorgonia.Node, error)

// Potential is the potential energy V(P) = ∫F(μ)dP(μ) = Σ_c a_c F(μ_c) for a
// user-written F.
type Potential struct {
	Name string // names F in String(); required
	F    ClassFunc
	// Ref, optional, is a plain-Go evaluation of F(μ_c) for Reference
	// (points: n_c×d row-major; theta: the d×L directions, column l is θ_l).
	Ref func(points []float64, n, d, c int, theta []float64, L int) float64
}

// Build implements Functional.
func (p Potential) Build(env *Env, x graph.Node) (*gorgonia.Node, error) {
	if p.F == nil {
		return nil, fmt.Errorf("functionals: potential %q has no function: %w", p.Name, ErrParam)
	}
	var total *gorgonia.Node
	for c := 0; c < x.Layout.NumClasses(); c++ {
		xc, err := x.Class(c)
		if err != nil {
			return nil, err
		}
		v, err := p.F(env, xc, c)
		if err != nil {
			return nil, fmt.Errorf("functionals: potential %q, class %d: %w", p.Name, c, err)
		}
		if !v.IsScalar() {
			return nil, fmt.Errorf("functionals: potential %q, class %d: F returned shape %v, want a scalar: %w", p.Name, c, v.Shape(), ErrParam)
		}
		if total, err = addScaled(env, total, v, x.Layout.Weights[c]); err != nil {
			return nil, err
		}
	}
	return total, nil
}

func (p Potential) String() string { return fmt.Sprintf("potential(%s)", p.Name) }

// Reference implements Referencer when Ref is set.
func (p Potential) Reference(x *graph.Dataset, theta []float64, L int) (float64, error) {
	if p.Ref == nil {
		return 0, fmt.Errorf("functionals: potential %q has no reference function", p.Name)
	}
	v := 0.0
	for c := 0; c < x.NumClasses(); c++ {
		v += x.Weight(c) * p.Ref(x.Class(c), x.ClassSize(c), x.D, c, theta, L)
	}
	return v, nil
}

// Interaction is the interaction energy W(P) = ½∫∫W(μ,ν)dP(μ)dP(ν)
// = ½ Σ_c Σ_k a_c a_k W(μ_c, μ_k) for a user-written symmetric W. When
// Symmetric is true, W(μ_c, μ_k) is built once per unordered pair.
type Interaction struct {
	Name      string
	W         PairFunc
	Symmetric bool
	// Ref, optional, is a plain-Go evaluation of W(μ_c, μ_k) (mu: n×d and
	// nu: m×d row-major; theta: the d×L directions, column l is θ_l;
	// graph.ReferenceSliced gives the sliced costs).
	Ref func(mu []float64, n int, nu []float64, m int, d, c, k int, theta []float64, L int) float64
}

// Build implements Functional.
func (it Interaction) Build(env *Env, x graph.Node) (*gorgonia.Node, error) {
	if it.W == nil {
		return nil, fmt.Errorf("functionals: interaction %q has no function: %w", it.Name, ErrParam)
	}
	C := x.Layout.NumClasses()
	classes := make([]*gorgonia.Node, C)
	for c := range classes {
		var err error
		if classes[c], err = x.Class(c); err != nil {
			return nil, err
		}
	}
	var total *gorgonia.Node
	for c := 0; c < C; c++ {
		for k := 0; k < C; k++ {
			if it.Symmetric && k < c {
				continue
			}
			v, err := it.W(env, classes[c], classes[k], c, k)
			if err != nil {
				return nil, fmt.Errorf("functionals: interaction %q, classes %d and %d: %w", it.Name, c, k, err)
			}
			if !v.IsScalar() {
				return nil, fmt.Errorf("functionals: interaction %q, classes %d and %d: W returned shape %v, want a scalar: %w", it.Name, c, k, v.Shape(), ErrParam)
			}
			w := 0.5 * x.Layout.Weights[c] * x.Layout.Weights[k]
			if it.Symmetric && k != c {
				w *= 2
			}
			if total, err = addScaled(env, total, v, w); err != nil {
				return nil, err
			}
		}
	}
	return total, nil
}

func (it Interaction) String() string { return fmt.Sprintf("interaction(%s)", it.Name) }

// Reference implements Referencer when Ref is set.
func (it Interaction) Reference(x *graph.Dataset, theta []float64, L int) (float64, error) {
	if it.Ref == nil {
		return 0, fmt.Errorf("functionals: interaction %q has no reference function", it.Name)
	}
	v := 0.0
	for c := 0; c < x.NumClasses(); c++ {
		for k := 0; k < x.NumClasses(); k++ {
			v += 0.5 * x.Weight(c) * x.Weight(k) * it.Ref(x.Class(c), x.ClassSize(c), x.Class(k), x.ClassSize(k), x.D, c, k, theta, L)
		}
	}
	return v, nil
}

var (
	_ Functional = Potential{}
	_ Functional = Interaction{}
)

// addScaled returns total + w·v (w·v when total is nil), a scalar node.
func addScaled(env *Env, total, v *gorgonia.Node, w float64) (*gorgonia.Node, error) {
	var err error
	if w != 1 {
		if v, err = gorgonia.Mul(v, env.Scalar(w)); err != nil {
			return nil, err
		}
	}
	if total == nil {
		return v, nil
	}
	return gorgonia.Add(total, v)
}

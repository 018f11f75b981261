package functionals

import (
	"fmt"

	"github.com/wowflow/wowflow/graph"
	"gorgonia.org/gorgonia"
)

// MeanMatching is the distribution-matching objective of Zhao & Bilen (2023)
// (DM), the baseline of dataset distillation:
//
//	F(P) = Σ_c ‖ mean(μ_c) − mean(ν_c) ‖²
//
// class c of the flowed dataset P = (μ_c) matched to class c of the target
// Q = (ν_c) (both must have the same number of classes). It compares first
// moments only; through a Pushforward (a random network φ redrawn every step)
// it compares mean embeddings, which is DM. Class weights are ignored: DM
// sums over classes.
type MeanMatching struct {
	// Target is Q.
	Target *graph.Dataset
	// Batch, when positive, draws that many points per target class at every
	// evaluation, as MMD.Batch.
	Batch int

	targetMap MapFunc // set by Pushforward through WithMap
}

// Build implements Functional.
func (m MeanMatching) Build(env *Env, x graph.Node) (*gorgonia.Node, error) {
	if m.Target == nil {
		return nil, fmt.Errorf("functionals: mean matching has no target: %w", ErrParam)
	}
	if err := m.Target.Validate(); err != nil {
		return nil, fmt.Errorf("functionals: mean matching target: %w", err)
	}
	if m.Batch < 0 {
		return nil, fmt.Errorf("functionals: mean matching batch %d must be ≥ 0: %w", m.Batch, ErrParam)
	}
	if c, k := x.Layout.NumClasses(), m.Target.NumClasses(); c != k {
		return nil, fmt.Errorf("functionals: mean matching pairs class c with class c: the flowed dataset has %d classes, the target %d: %w", c, k, ErrParam)
	}
	if m.targetMap == nil && m.Target.D != x.Layout.D {
		return nil, fmt.Errorf("functionals: mean matching target has dimension %d, the flowed dataset %d: %w", m.Target.D, x.Layout.D, ErrParam)
	}
	y, err := referenceNode(env, m.Target, m.Batch, m.targetMap, x.Layout.D)
	if err != nil {
		return nil, err
	}
	mx, err := classMeans(env, x)
	if err != nil {
		return nil, err
	}
	my, err := classMeans(env, y)
	if err != nil {
		return nil, err
	}
	diff, err := gorgonia.Sub(mx, my)
	if err != nil {
		return nil, err
	}
	sq, err := gorgonia.Square(diff)
	if err != nil {
		return nil, err
	}
	return gorgonia.Sum(sq)
}

// classMeans returns the C×d node of the class means of x: A·x with A the
// constant C×n averaging matrix of x's layout.
func classMeans(env *Env, x graph.Node) (*gorgonia.Node, error) {
	C, n := x.Layout.NumClasses(), x.Layout.Len()
	a := make([]float64, C*n)
	for c := 0; c < C; c++ {
		nc := x.Layout.ClassSize(c)
		for i := x.Layout.Offsets[c]; i < x.Layout.Offsets[c+1]; i++ {
			a[c*n+i] = 1 / float64(nc)
		}
	}
	an, err := env.Constant("class_means", C, n, a)
	if err != nil {
		return nil, err
	}
	return gorgonia.Mul(an, x.X)
}

// WithMap implements Mappable: the target goes through φ too.
func (m MeanMatching) WithMap(_ string, f MapFunc) Functional {
	m.targetMap = f
	return m
}

func (m MeanMatching) String() string {
	s := "mean-matching("
	if m.Target != nil {
		s += fmt.Sprintf("target=%d classes×%d points,d=%d", m.Target.NumClasses(), m.Target.Len(), m.Target.D)
	}
	if m.Batch > 0 {
		s += fmt.Sprintf(",batch=%d", m.Batch)
	}
	return s + ")"
}

// Reference evaluates F(P) in plain Go on the whole target, without a map.
func (m MeanMatching) Reference(x *graph.Dataset) (float64, error) {
	if m.Target == nil || x == nil || x.NumClasses() != m.Target.NumClasses() || x.D != m.Target.D {
		return 0, fmt.Errorf("functionals: mean matching reference needs a target with the dataset's classes and dimension: %w", ErrParam)
	}
	s := 0.0
	for c := 0; c < x.NumClasses(); c++ {
		a, b := x.Class(c), m.Target.Class(c)
		na, nb := float64(x.ClassSize(c)), float64(m.Target.ClassSize(c))
		for k := 0; k < x.D; k++ {
			ma, mb := 0.0, 0.0
			for i := k; i < len(a); i += x.D {
				ma += a[i]
			}
			for i := k; i < len(b); i += x.D {
				mb += b[i]
			}
			d := ma/na - mb/nb
			s += d * d
		}
	}
	return s, nil
}

// Compose returns the map x ↦ φ_k(…φ_2(φ_1(x))): maps applied in order,
// e.g. a random augmentation followed by a random network.
func Compose(maps ...MapFunc) MapFunc {
	return func(env *Env, x *gorgonia.Node) (*gorgonia.Node, error) {
		if len(maps) == 0 {
			return nil, fmt.Errorf("functionals: compose of no maps: %w", ErrParam)
		}
		var err error
		for i, f := range maps {
			if f == nil {
				return nil, fmt.Errorf("functionals: compose: map %d is nil: %w", i, ErrParam)
			}
			if x, err = f(env, x); err != nil {
				return nil, err
			}
		}
		return x, nil
	}
}

var (
	_ Functional = MeanMatching{}
	_ Mappable   = MeanMatching{}
)

package functionals

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/wowflow/wowflow/graph"
	"gorgonia.org/gorgonia"
)

// MapFunc is a differentiable map φ applied to every point: it adds to the
// graph the n×d' node φ(x) of the n×d node x, row by row. It may be called
// several times on one Env (for the flowed dataset and for a target); maps
// with random parameters must then use the same parameter nodes (see
// RandomFeatures), so that both datasets go through one φ per step.
type MapFunc func(env *Env, x *gorgonia.Node) (*gorgonia.Node, error)

// Mappable is implemented by functionals that compare the particles with a
// reference dataset (MMD's target): WithMap returns a copy that applies φ to
// the reference too.
type Mappable interface {
	WithMap(name string, m MapFunc) Functional
}

// Pushforward is the functional P ↦ F(φ#P): F evaluated after the map φ is
// applied to every particle (and, for Mappable functionals such as MMD, to
// the target as well). φ may be redrawn every step — a random network
// embedding, a random augmentation — through Env inputs.
type Pushforward struct {
	Name string  // names φ in String()
	Map  MapFunc // φ
	F    Functional
}

// Build implements Functional.
func (p Pushforward) Build(env *Env, x graph.Node) (*gorgonia.Node, error) {
	if p.Map == nil || p.F == nil {
		return nil, fmt.Errorf("functionals: pushforward %q needs a map and a functional: %w", p.Name, ErrParam)
	}
	y, err := p.Map(env, x.X)
	if err != nil {
		return nil, fmt.Errorf("functionals: pushforward %q: %w", p.Name, err)
	}
	if s := y.Shape(); len(s) != 2 || s[0] != x.Layout.Len() {
		return nil, fmt.Errorf("functionals: pushforward %q maps %d points to shape %v, want %d×d': %w", p.Name, x.Layout.Len(), y.Shape(), x.Layout.Len(), ErrParam)
	}
	lay := x.Layout
	lay.D = y.Shape()[1]
	f := p.F
	if m, ok := f.(Mappable); ok {
		f = m.WithMap(p.Name, p.Map)
	}
	return f.Build(env, graph.Node{X: y, Layout: lay})
}

func (p Pushforward) String() string { return fmt.Sprintf("pushforward(%s, %v)", p.Name, p.F) }

// WithMap implements Mappable: the target goes through φ too.
func (m MMD) WithMap(name string, f MapFunc) Functional {
	m.targetMap, m.targetMapName = f, name
	return m
}

// RandomFeatures returns the map φ(x) = ReLU(x W / sqrt(d)), W a d×Out matrix of
// standard normal entries redrawn at every step (one draw per step shared by
// every dataset mapped on the same Env): a random one-layer network
// embedding, the simplest instance of the random embeddings of dataset
// distillation.
func RandomFeatures(out int) MapFunc {
	return func(env *Env, x *gorgonia.Node) (*gorgonia.Node, error) {
		if out <= 0 {
			return nil, fmt.Errorf("functionals: random features of width %d: %w", out, ErrParam)
		}
		d := x.Shape()[1]
		name := fmt.Sprintf("random_features_%dx%d", d, out)
		v, err := env.Shared(name, func() (any, error) {
			return env.Input(name, d, out, func(rng *rand.Rand, dst []float64) error {
				s := 1 / math.Sqrt(float64(d))
				for i := range dst {
					dst[i] = s * rng.NormFloat64()
				}
				return nil
			})
		})
		if err != nil {
			return nil, err
		}
		w := v.(*gorgonia.Node)
		if w.Shape()[0] != d {
			return nil, fmt.Errorf("functionals: random features drawn for dimension %d, applied to %d: %w", w.Shape()[0], d, ErrParam)
		}
		z, err := gorgonia.Mul(x, w)
		if err != nil {
			return nil, err
		}
		return gorgonia.Rectify(z)
	}
}

var (
	_ Functional = Pushforward{}
	_ Mappable   = MMD{}
)

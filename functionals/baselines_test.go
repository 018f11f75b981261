package functionals_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/internal/gradcheck"
	"gorgonia.org/tensor"
)

// productSet returns C classes of n rows [x (f), μ (2), Σ (4, SPD)].
func productSet(r *rand.Rand, C, n, f int) *graph.Dataset {
	d := f + graph.GaussCols
	var classes [][]float64
	for c := 0; c < C; c++ {
		mu := []float64{r.NormFloat64(), r.NormFloat64()}
		a, b, e := 0.5+r.Float64(), 0.3*r.NormFloat64(), 0.5+r.Float64()
		rows := make([]float64, n*d)
		for i := 0; i < n; i++ {
			row := rows[i*d : (i+1)*d]
			for k := 0; k < f; k++ {
				row[k] = r.NormFloat64() + float64(c)
			}
			copy(row[f:], []float64{mu[0], mu[1], a*a + b*b, b * e, b * e, e * e})
		}
		classes = append(classes, rows)
	}
	ds, err := graph.FromClasses(d, classes...)
	if err != nil {
		panic(err)
	}
	return ds
}

// Gradient checks of the baselines' functionals (float64, central
// differences of step 1e-6): the OTDD entropic cost with a converged
// Sinkhorn and fixed scale and ε (the envelope gradient is exact at the
// optimum), and the product-kernel MMD without noise.
func TestBaselineFunctionalsGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(181, 182))
	const f = 3
	x, y := productSet(r, 2, 3, f), productSet(r, 2, 2, f)
	cases := []struct {
		name string
		F    functionals.Functional
	}{
		{"otdd", functionals.OTDD{Target: y, Features: f, Sinkhorn: graph.EntropicOptions{Scale: 5, Epsilon: 0.1, Tol: 1e-13, MaxIter: 100000}}},
		{"product-mmd", functionals.ProductMMD{Target: y, Features: f, H: 2, HMu: 1.5, HSigma: 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env, err := functionals.NewEnv(tensor.Float64, 1)
			if err != nil {
				t.Fatal(err)
			}
			node, err := graph.NewNode(env.G, x, tensor.Float64, env.UniqueName("x"))
			if err != nil {
				t.Fatal(err)
			}
			loss, err := c.F.Build(env, node)
			if err != nil {
				t.Fatal(err)
			}
			if err := env.Update(rand.New(rand.NewPCG(1, 2))); err != nil {
				t.Fatal(err)
			}
			res, err := gradcheck.Check(env.G, loss, node.X, x.Data, 1e-6, 1e-4)
			if err != nil {
				t.Fatal(err)
			}
			if res.MaxRelErr > 1e-5 { // gonum's fd tolerance
				t.Errorf("coordinate %d: gradient %v, central difference %v (relative error %.3g)", res.Index, res.Analytic, res.Numeric, res.MaxRelErr)
			}
			if res.Analytic == 0 && res.Numeric == 0 {
				t.Error("zero gradient everywhere")
			}
			if pm, ok := c.F.(functionals.ProductMMD); ok {
				want, err := pm.Reference(x, nil, 0)
				if err != nil {
					t.Fatal(err)
				}
				got, err := functionals.ScalarValue(loss)
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(got-want) > 1e-12 {
					t.Errorf("graph value %v, plain Go %v", got, want)
				}
			}
		})
	}
}

// The product MMD of a dataset against itself is 0; bad parameters are
// errors naming the functional.
func TestProductMMDContract(t *testing.T) {
	r := rand.New(rand.NewPCG(183, 184))
	x := productSet(r, 2, 4, 2)
	p := functionals.DefaultProductMMD(x, 2)
	p.Noise = 0
	v, err := p.Reference(x, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(v) > 1e-15 {
		t.Errorf("MMD(P, P) = %v", v)
	}
	bad := p
	bad.H = 0
	if _, err := bad.Reference(x, nil, 0); err == nil {
		t.Error("h = 0 accepted")
	}
	if _, err := (functionals.ProductMMD{Target: x, Features: 3, H: 1, HMu: 1, HSigma: 1}).Reference(x, nil, 0); err == nil {
		t.Error("wrong feature count accepted")
	}
}

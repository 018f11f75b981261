package functionals_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/internal/gradcheck"
	"github.com/wowflow/wowflow/optim"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// linear is a fixed linear classifier z = xW + b (W d×K).
type linear struct {
	W, B []float64
	d, K int
}

func (m linear) Classes() int   { return m.K }
func (m linear) String() string { return fmt.Sprintf("linear(%d→%d)", m.d, m.K) }
func (m linear) Logits(x *gorgonia.Node) (*gorgonia.Node, error) {
	g, dt := x.Graph(), x.Dtype()
	w := gorgonia.NewMatrix(g, dt, gorgonia.WithShape(m.d, m.K), gorgonia.WithName(fmt.Sprintf("linW%p", &m.W[0])),
		gorgonia.WithValue(graph.DenseFrom(dt, append([]float64(nil), m.W...), m.d, m.K)))
	n := x.Shape()[0]
	bias := make([]float64, n*m.K)
	for i := 0; i < n; i++ {
		copy(bias[i*m.K:], m.B)
	}
	b := gorgonia.NewMatrix(g, dt, gorgonia.WithShape(n, m.K), gorgonia.WithName(fmt.Sprintf("linB%p", &m.B[0])),
		gorgonia.WithValue(graph.DenseFrom(dt, bias, n, m.K)))
	z, err := gorgonia.Mul(x, w)
	if err != nil {
		return nil, err
	}
	return gorgonia.Add(z, b)
}
func (m linear) LogitsOf(x []float64, n int) ([]float64, error) {
	z := make([]float64, n*m.K)
	for i := 0; i < n; i++ {
		for k := 0; k < m.K; k++ {
			z[i*m.K+k] = m.B[k]
			for j := 0; j < m.d; j++ {
				z[i*m.K+k] += x[i*m.d+j] * m.W[j*m.K+k]
			}
		}
	}
	return z, nil
}

// A 2-D toy: class 0 should be where x₁ < 0, class 1 where x₁ > 0; both
// classes start on the wrong side. Flowing the classifier loss alone must
// bring every particle onto its class's side.
func TestClassifierLossMovesParticlesToTheirSide(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	h := linear{W: []float64{-2, 2, 0, 0}, B: []float64{0, 0}, d: 2, K: 2}
	mk := func(cx float64) []float64 {
		x := make([]float64, 2*40)
		for i := 0; i < 40; i++ {
			x[2*i], x[2*i+1] = cx+0.3*r.NormFloat64(), r.NormFloat64()
		}
		return x
	}
	src, err := graph.FromClasses(2, mk(1), mk(-1)) // class 0 right, class 1 left: wrong sides
	if err != nil {
		t.Fatal(err)
	}
	fl, err := flows.New(src, functionals.ClassifierLoss{Model: h}, flows.Config{Steps: 300, Directions: 4,
		Optimizer: &optim.Momentum{Tau: 0.01}})
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	res, err := fl.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < res.X.Len(); i++ {
		c, x1 := res.X.ClassOf(i), res.X.Data[2*i]
		if (c == 0 && x1 >= 0) || (c == 1 && x1 <= 0) {
			t.Errorf("particle %d of class %d ends at x₁ = %v, on the wrong side", i, c, x1)
		}
	}
	// Relabelled: with Labels {1, 0} the classes are already on their sides
	// and the loss is small from the start.
	v, _, err := func() (float64, []float64, error) {
		fl, err := flows.New(src, functionals.ClassifierLoss{Model: h, Labels: []int{1, 0}}, flows.Config{Directions: 4})
		if err != nil {
			return 0, nil, err
		}
		defer fl.Close()
		return fl.Evaluate()
	}()
	if err != nil || !(v < 0.1) {
		t.Errorf("relabelled loss %v (%v), want < 0.1", v, err)
	}
}

func TestClassifierLossGradientAndReference(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	h := linear{W: randSlice(r, 3*4), B: randSlice(r, 4), d: 3, K: 4}
	x := randDataset(r, 3, 1, 5, 3, 4)
	x.Weights = []float64{0.5, 0.2, 0.3}
	f := functionals.Sum{{Weight: 1, F: functionals.ClassifierLoss{Model: h, Labels: []int{2, 0, 3}}},
		{Weight: 0.5, F: functionals.MMD{Target: randDataset(r, 3, 1, 4, 4)}}}
	theta := randTheta(r, 3, 5)
	env, xn, loss := build(t, f, x, theta, 5)
	res, err := gradcheck.Check(env.G, loss, xn.X, x.Data, 1e-6, 1e-4)
	if err != nil {
		t.Fatal(err)
	}
	if res.MaxRelErr > 1e-5 {
		t.Errorf("gradient at %d: %v vs finite difference %v", res.Index, res.Analytic, res.Numeric)
	}
	v := value(t, f, x, theta, 5)
	ref, err := f.Reference(x, theta, 5)
	if err != nil || math.Abs(v-ref) > 1e-12 {
		t.Errorf("graph %v, reference %v (%v)", v, ref, err)
	}
	for name, bad := range map[string]functionals.ClassifierLoss{
		"no model":     {},
		"label range":  {Model: h, Labels: []int{0, 1, 4}},
		"label length": {Model: h, Labels: []int{0}},
	} {
		env, _ := functionals.NewEnv(tensor.Float64, 4)
		xn, _ := graph.NewNode(env.G, x, tensor.Float64, "x")
		if _, err := bad.Build(env, xn); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func randSlice(r *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return v
}

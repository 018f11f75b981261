package functionals_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/internal/gradcheck"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func randDataset(r *rand.Rand, d int, shift float64, sizes ...int) *graph.Dataset {
	var classes [][]float64
	for c, n := range sizes {
		x := make([]float64, n*d)
		for i := range x {
			x[i] = r.NormFloat64()*0.5 + shift*float64(c)
		}
		classes = append(classes, x)
	}
	ds, err := graph.FromClasses(d, classes...)
	if err != nil {
		panic(err)
	}
	return ds
}

func randTheta(r *rand.Rand, d, L int) []float64 {
	th := make([]float64, L*d)
	if err := (functionals.RandomDirections{}).Draw(r, d, L, th); err != nil {
		panic(err)
	}
	return th // d×L
}

// build returns env, x node and loss of f on a fresh graph with fixed
// directions theta, its inputs filled.
func build(t *testing.T, f functionals.Functional, x *graph.Dataset, theta []float64, L int) (*functionals.Env, graph.Node, *gorgonia.Node) {
	t.Helper()
	env, err := functionals.NewEnv(tensor.Float64, L)
	if err != nil {
		t.Fatal(err)
	}
	env.Directions = functionals.FixedDirections{Theta: theta, L: L}
	xn, err := graph.NewNode(env.G, x, tensor.Float64, "x")
	if err != nil {
		t.Fatal(err)
	}
	loss, err := f.Build(env, xn)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Update(rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	return env, xn, loss
}

func value(t *testing.T, f functionals.Functional, x *graph.Dataset, theta []float64, L int) float64 {
	t.Helper()
	env, _, loss := build(t, f, x, theta, L)
	m := gorgonia.NewTapeMachine(env.G)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	v, err := functionals.ScalarValue(loss)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// mmdAsEnergies expresses ½MMD_K²(·, target) as an interaction energy with
// W = K(SW) plus a potential energy F(μ) = −Σ_k b_k K(μ, ν_k) + ½ΣΣ b b' K(ν,ν'),
// written by a user with graph.SW.
func mmdAsEnergies(k functionals.Kernel, target *graph.Dataset) functionals.Functional {
	pairK := func(env *functionals.Env, mu, nu *gorgonia.Node) (*gorgonia.Node, error) {
		pm, err := env.Project(mu)
		if err != nil {
			return nil, err
		}
		pn, err := env.Project(nu)
		if err != nil {
			return nil, err
		}
		s, err := graph.SW(k.Order(), pm, pn)
		if err != nil {
			return nil, err
		}
		return k.Apply(env, s)
	}
	targetsOf := map[*functionals.Env][]*gorgonia.Node{} // one set of target nodes per graph
	interaction := functionals.Interaction{
		Name: "K(SW)",
		W: func(env *functionals.Env, mu, nu *gorgonia.Node, c, j int) (*gorgonia.Node, error) {
			return pairK(env, mu, nu)
		},
	}
	potential := functionals.Potential{
		Name: "-Σ_k b_k K(·,ν_k) + const",
		F: func(env *functionals.Env, mu *gorgonia.Node, c int) (*gorgonia.Node, error) {
			targets := targetsOf[env]
			if targets == nil {
				for j := 0; j < target.NumClasses(); j++ {
					n, err := env.Constant("nu", target.ClassSize(j), target.D, target.Class(j))
					if err != nil {
						return nil, err
					}
					targets = append(targets, n)
				}
				targetsOf[env] = targets
			}
			var total *gorgonia.Node
			for j, nu := range targets {
				kv, err := pairK(env, mu, nu)
				if err != nil {
					return nil, err
				}
				if kv, err = gorgonia.Mul(kv, env.Scalar(-target.Weight(j))); err != nil {
					return nil, err
				}
				for j2, nu2 := range targets {
					kk, err := pairK(env, nu, nu2)
					if err != nil {
						return nil, err
					}
					if kk, err = gorgonia.Mul(kk, env.Scalar(0.5*target.Weight(j)*target.Weight(j2))); err != nil {
						return nil, err
					}
					if kv, err = gorgonia.Add(kv, kk); err != nil {
						return nil, err
					}
				}
				if total == nil {
					total = kv
				} else if total, err = gorgonia.Add(total, kv); err != nil {
					return nil, err
				}
			}
			return total, nil
		},
	}
	return functionals.Sum{{Weight: 1, F: interaction}, {Weight: 1, F: potential}}
}

var kernels = []functionals.Kernel{
	functionals.Gaussian{H: 0.5},
	functionals.Riesz{},
	functionals.Riesz{R: 1.5},
	functionals.Laplace{H: 0.5},
	functionals.IMQ{H: 1},
}

// The contract every MMD functional satisfies: finite, equal to its plain-Go
// reference, invariant to reordering points within a class, zero against
// itself; and its gradient matches central differences.
func TestMMDContract(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	d, L := 3, 7
	x := randDataset(r, d, 1, 5, 4, 6)
	y := randDataset(r, d, 1.5, 4, 4)
	y.Weights = []float64{0.3, 0.7}
	theta := randTheta(r, d, L)
	for _, k := range kernels {
		for _, skip := range []bool{false, true} {
			f := functionals.MMD{Target: y, Kernel: k, SkipConstant: skip}
			t.Run(f.String(), func(t *testing.T) {
				v := value(t, f, x, theta, L)
				ref, err := f.Reference(x, theta, L)
				if err != nil {
					t.Fatal(err)
				}
				if math.IsNaN(v) || math.Abs(v-ref) > 1e-12*math.Max(1, math.Abs(ref)) {
					t.Errorf("graph value %v, reference %v", v, ref)
				}
				// Reverse the points of every class: same measures, same value.
				rev := x.Clone()
				for c := 0; c < rev.NumClasses(); c++ {
					cl := rev.Class(c)
					n := rev.ClassSize(c)
					for i := 0; i < n/2; i++ {
						for j := 0; j < d; j++ {
							cl[i*d+j], cl[(n-1-i)*d+j] = cl[(n-1-i)*d+j], cl[i*d+j]
						}
					}
				}
				if v2 := value(t, f, rev, theta, L); math.Abs(v2-v) > 1e-12 {
					t.Errorf("reordering points within classes changed the value: %v → %v", v, v2)
				}
				if !skip {
					if self := value(t, functionals.MMD{Target: y, Kernel: k}, y, theta, L); math.Abs(self) > 1e-12 {
						t.Errorf("MMD(Q, Q) = %v, want 0", self)
					}
				}
				env, xn, loss := build(t, f, x, theta, L)
				res, err := gradcheck.Check(env.G, loss, xn.X, x.Data, 1e-6, 1e-4)
				if err != nil {
					t.Fatal(err)
				}
				// h=1e-6 central differences of O(1) values: ~1e-9 truncation + rounding.
				if res.MaxRelErr > 1e-5 {
					t.Errorf("gradient at %d: autodiff %v, finite difference %v", res.Index, res.Analytic, res.Numeric)
				}
			})
		}
	}
}

func TestMMDExpressedAsEnergies(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	d, L := 2, 6
	x := randDataset(r, d, 1, 4, 5)
	y := randDataset(r, d, 1.2, 3, 4, 5)
	theta := randTheta(r, d, L)
	for _, k := range kernels {
		t.Run(k.String(), func(t *testing.T) {
			mmd := functionals.MMD{Target: y, Kernel: k}
			energies := mmdAsEnergies(k, y)
			v1, v2 := value(t, mmd, x, theta, L), value(t, energies, x, theta, L)
			if math.Abs(v1-v2) > 1e-12 {
				t.Errorf("MMD %v, interaction + potential %v", v1, v2)
			}
			var grads [2][]float64
			for i, f := range []functionals.Functional{mmd, energies} {
				env, xn, loss := build(t, f, x, theta, L)
				g, err := gorgonia.Grad(loss, xn.X)
				if err != nil {
					t.Fatal(err)
				}
				m := gorgonia.NewTapeMachine(env.G)
				if err := m.RunAll(); err != nil {
					t.Fatal(err)
				}
				grads[i] = slices.Clone(g[0].Value().Data().([]float64))
				m.Close()
			}
			for i := range grads[0] {
				if math.Abs(grads[0][i]-grads[1][i]) > 1e-12 {
					t.Fatalf("gradient %d: MMD %v, energies %v", i, grads[0][i], grads[1][i])
				}
			}
		})
	}
}

// A flowed class that sits exactly on its target (SW = 0) must give a
// finite, zero Riesz gradient, in float64 and float32.
func TestRieszGradientFiniteAtZero(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	y := randDataset(r, 2, 2, 4, 4)
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		env, err := functionals.NewEnv(dt, 10)
		if err != nil {
			t.Fatal(err)
		}
		xn, err := graph.NewNode(env.G, y, dt, "x")
		if err != nil {
			t.Fatal(err)
		}
		loss, err := functionals.MMD{Target: y}.Build(env, xn)
		if err != nil {
			t.Fatal(err)
		}
		g, err := gorgonia.Grad(loss, xn.X)
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Update(r); err != nil {
			t.Fatal(err)
		}
		m := gorgonia.NewTapeMachine(env.G)
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		gv, _ := graph.Float64s(g[0].Value())
		for i, v := range gv {
			if v != 0 {
				t.Fatalf("%v: gradient[%d] = %v at P = Q, want 0", dt, i, v)
			}
		}
		m.Close()
	}
}

func TestSumAndWeights(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	x := randDataset(r, 2, 1, 4, 4)
	y := randDataset(r, 2, 1, 4, 4)
	theta := randTheta(r, 2, 5)
	a := functionals.MMD{Target: y, Kernel: functionals.Gaussian{H: 1}}
	b := functionals.MMD{Target: y}
	s := functionals.Sum{{Weight: 2, F: a}, {Weight: -0.5, F: b}}
	got := value(t, s, x, theta, 5)
	want := 2*value(t, a, x, theta, 5) - 0.5*value(t, b, x, theta, 5)
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("sum %v, want %v", got, want)
	}
	ref, err := s.Reference(x, theta, 5)
	if err != nil || math.Abs(ref-want) > 1e-12 {
		t.Errorf("sum reference %v (%v), want %v", ref, err, want)
	}
}

func TestBadParameters(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	x := randDataset(r, 2, 1, 3)
	y3 := randDataset(r, 3, 1, 3)
	for name, f := range map[string]functionals.Functional{
		"no target":       functionals.MMD{},
		"dimension":       functionals.MMD{Target: y3},
		"gaussian h=0":    functionals.MMD{Target: x, Kernel: functionals.Gaussian{}},
		"riesz r=2":       functionals.MMD{Target: x, Kernel: functionals.Riesz{R: 2}},
		"laplace h<0":     functionals.MMD{Target: x, Kernel: functionals.Laplace{H: -1}},
		"imq NaN":         functionals.MMD{Target: x, Kernel: functionals.IMQ{H: math.NaN()}},
		"negative batch":  functionals.MMD{Target: x, Batch: -1},
		"empty sum":       functionals.Sum{},
		"nil potential":   functionals.Potential{Name: "p"},
		"nil interaction": functionals.Interaction{Name: "w"},
	} {
		env, _ := functionals.NewEnv(tensor.Float64, 4)
		xn, err := graph.NewNode(env.G, x, tensor.Float64, "x")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Build(env, xn); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := functionals.KernelByName("cosine", 1); err == nil {
		t.Error("unknown kernel: no error")
	}
}

func TestTargetBatchIsASampleWithoutReplacement(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	y := randDataset(r, 1, 10, 20, 7)
	x := randDataset(r, 1, 10, 3, 3)
	env, _ := functionals.NewEnv(tensor.Float64, 3)
	xn, _ := graph.NewNode(env.G, x, tensor.Float64, "x")
	if _, err := (functionals.MMD{Target: y, Batch: 5}).Build(env, xn); err != nil {
		t.Fatal(err)
	}
	var batch *gorgonia.Node
	for _, n := range env.G.AllNodes() {
		if n.Name() == "mmd_target_batch" {
			batch = n
		}
	}
	if batch == nil || !slices.Equal([]int(batch.Shape()), []int{10, 1}) {
		t.Fatalf("batch node %v", batch)
	}
	for step := 0; step < 5; step++ {
		if err := env.Update(r); err != nil {
			t.Fatal(err)
		}
		v := slices.Clone(batch.Value().Data().([]float64))
		for c, part := range [][]float64{v[:5], v[5:]} {
			seen := map[float64]bool{}
			for _, p := range part {
				if seen[p] || !slices.Contains(y.Class(c), p) {
					t.Fatalf("step %d class %d: batch %v is not a sample without replacement", step, c, part)
				}
				seen[p] = true
			}
		}
	}
}

// The percentile estimator: a noisy approximation of the exact value (its
// own value and gradient are checked in package graph); with 100 quantiles
// and L = 400 the MMD is within 5% of the exact one on this problem.
func TestMMDPercentileEstimator(t *testing.T) {
	r := rand.New(rand.NewPCG(71, 72))
	x, y := randDataset(r, 2, 1, 40, 40), randDataset(r, 2, 1.5, 40, 40)
	theta := randTheta(r, 2, 400)
	exact := value(t, functionals.MMD{Target: y}, x, theta, 400)
	approx := value(t, functionals.MMD{Target: y, Quantiles: 100}, x, theta, 400)
	if math.Abs(approx-exact) > 0.05*exact {
		t.Errorf("percentile estimator %v, exact %v", approx, exact)
	}
	env, _ := functionals.NewEnv(tensor.Float64, 4)
	xn, _ := graph.NewNode(env.G, x, tensor.Float64, "x")
	if _, err := (functionals.MMD{Target: y, Quantiles: 1}).Build(env, xn); err == nil {
		t.Error("1 quantile: no error")
	}
}

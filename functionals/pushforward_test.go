package functionals_test

import (
	"context"
	"errors"
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

// linearMap is the fixed map φ(x) = x A (A d×e).
func linearMap(A []float64, d, e int) functionals.MapFunc {
	return func(env *functionals.Env, x *gorgonia.Node) (*gorgonia.Node, error) {
		a, err := env.Constant("A", d, e, A)
		if err != nil {
			return nil, err
		}
		return gorgonia.Mul(x, a)
	}
}

func mapDataset(ds *graph.Dataset, A []float64, e int) *graph.Dataset {
	out := &graph.Dataset{D: e, Offsets: ds.Offsets, Weights: ds.Weights, Data: make([]float64, ds.Len()*e)}
	for i := 0; i < ds.Len(); i++ {
		for k := 0; k < e; k++ {
			for j := 0; j < ds.D; j++ {
				out.Data[i*e+k] += ds.Data[i*ds.D+j] * A[j*e+k]
			}
		}
	}
	return out
}

// F(φ#P) with MMD maps the target too: it equals the MMD between the mapped
// datasets, and its gradient matches finite differences.
func TestPushforwardOfMMD(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	d, e, L := 4, 3, 6
	x, y := randDataset(r, d, 1, 5, 6), randDataset(r, d, 1, 4, 4)
	A := randSlice(r, d*e)
	theta := randTheta(r, e, L) // directions live in the mapped space
	for _, k := range []functionals.Kernel{functionals.Riesz{}, functionals.Gaussian{H: 1}} {
		mmd := functionals.MMD{Target: y, Kernel: k}
		pf := functionals.Pushforward{Name: "xA", Map: linearMap(A, d, e), F: mmd}
		got := value(t, pf, x, theta, L)
		want, err := functionals.MMD{Target: mapDataset(y, A, e), Kernel: k}.Reference(mapDataset(x, A, e), theta, L)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("%v: pushforward %v, MMD of mapped datasets %v", k, got, want)
		}
		env, xn, loss := build(t, pf, x, theta, L)
		res, err := gradcheck.Check(env.G, loss, xn.X, x.Data, 1e-6, 1e-4)
		if err != nil {
			t.Fatal(err)
		}
		if res.MaxRelErr > 1e-5 {
			t.Errorf("%v: gradient at %d: %v vs finite difference %v", k, res.Index, res.Analytic, res.Numeric)
		}
	}
}

// One random draw per step is shared by the particles and the target: the
// pushforward MMD of a dataset against itself is 0 at every step, and a flow
// through random features decreases the (feature-space) loss.
func TestRandomFeaturesSharedAndFlow(t *testing.T) {
	r := rand.New(rand.NewPCG(53, 54))
	x, y := randDataset(r, 5, 1, 10, 10), randDataset(r, 5, 2, 10, 10)
	self := functionals.Pushforward{Name: "relu-features", Map: functionals.RandomFeatures(16), F: functionals.MMD{Target: x}}
	fl, err := flows.New(x, self, flows.Config{Directions: 20, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		v, _, err := fl.Evaluate()
		if err != nil || math.Abs(v) > 1e-12 {
			t.Errorf("step %d: MMD(φ#P, φ#P) = %v (%v), want 0", i, v, err)
		}
	}
	fl.Close()
	pf := functionals.Pushforward{Name: "relu-features", Map: functionals.RandomFeatures(32), F: functionals.MMD{Target: y}}
	fl, err = flows.New(x, pf, flows.Config{Steps: 150, Directions: 50, Seed: 2, Optimizer: &optim.Momentum{Tau: 0.05, M: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	first, _, _ := fl.Evaluate()
	res, err := fl.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !(res.Loss < 0.5*first) {
		t.Errorf("pushforward flow: loss %v → %v", first, res.Loss)
	}
	if _, err := flows.New(x, functionals.Pushforward{Name: "none", F: functionals.MMD{Target: y}}, flows.Config{}); err == nil {
		t.Error("pushforward without a map: no error")
	}
}

// DM's mean matching: value equals the plain-Go reference, the gradient
// matches finite differences (with and without a map), the composed map is
// the map of the composition, and a flow drives the class means together.
func TestMeanMatching(t *testing.T) {
	r := rand.New(rand.NewPCG(55, 56))
	d, e, L := 4, 3, 6
	x, y := randDataset(r, d, 1, 3, 5), randDataset(r, d, 2, 4, 6)
	theta := randTheta(r, d, L)
	mm := functionals.MeanMatching{Target: y}
	want, err := mm.Reference(x)
	if err != nil {
		t.Fatal(err)
	}
	if got := value(t, mm, x, theta, L); math.Abs(got-want) > 1e-12*max(1, want) {
		t.Errorf("mean matching %v, reference %v", got, want)
	}
	A, B := randSlice(r, d*e), randSlice(r, e*e)
	AB := make([]float64, d*e)
	for i := 0; i < d; i++ {
		for k := 0; k < e; k++ {
			for j := 0; j < e; j++ {
				AB[i*e+k] += A[i*e+j] * B[j*e+k]
			}
		}
	}
	composed := functionals.Pushforward{Name: "xAB", Map: functionals.Compose(linearMap(A, d, e), linearMap(B, e, e)), F: mm}
	wantMapped, err := functionals.MeanMatching{Target: mapDataset(y, AB, e)}.Reference(mapDataset(x, AB, e))
	if err != nil {
		t.Fatal(err)
	}
	if got := value(t, composed, x, randTheta(r, e, L), L); math.Abs(got-wantMapped) > 1e-10*max(1, wantMapped) {
		t.Errorf("composed pushforward %v, reference of the mapped datasets %v", got, wantMapped)
	}
	for _, f := range []functionals.Functional{mm, functionals.Pushforward{Name: "relu-features", Map: functionals.RandomFeatures(5), F: mm}} {
		env, xn, loss := build(t, f, x, theta, L)
		res, err := gradcheck.Check(env.G, loss, xn.X, x.Data, 1e-6, 1e-4)
		if err != nil {
			t.Fatal(err)
		}
		if res.MaxRelErr > 1e-5 {
			t.Errorf("%v: gradient at %d: %v vs finite difference %v", f, res.Index, res.Analytic, res.Numeric)
		}
	}
	fl, err := flows.New(x, mm, flows.Config{Steps: 200, Directions: 4, Seed: 1, Optimizer: &optim.Euler{Tau: 0.05}})
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	out, err := fl.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if end, _ := mm.Reference(out.X); !(end < 1e-6*want) {
		t.Errorf("mean matching after 200 steps %v (start %v)", end, want)
	}
	for _, bad := range []functionals.Functional{
		functionals.MeanMatching{},
		functionals.MeanMatching{Target: y, Batch: -1},
		functionals.MeanMatching{Target: randDataset(r, d, 0, 2, 2, 2)},
		functionals.MeanMatching{Target: randDataset(r, d+1, 0, 2, 2)},
	} {
		env, err := functionals.NewEnv(tensor.Float64, L)
		if err != nil {
			t.Fatal(err)
		}
		xn, err := graph.NewNode(env.G, x, tensor.Float64, "x")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bad.Build(env, xn); !errors.Is(err, functionals.ErrParam) {
			t.Errorf("%v: error %v, want ErrParam", bad, err)
		}
	}
}

// Through the distillation embedding (augmentation + random ConvNet) the
// target takes the forward-only path and the particles the differentiable
// one: the two agree (a dataset against itself has ½MMD² ≈ 0), and the
// gradient matches finite differences.
func TestPushforwardThroughRandomConvNet(t *testing.T) {
	r := rand.New(rand.NewPCG(55, 56))
	const s, width, depth, L = 8, 3, 2, 5
	aug, err := functionals.RandomAffine(s, s, functionals.DefaultAffine)
	if err != nil {
		t.Fatal(err)
	}
	net, err := functionals.RandomConvNet(s, s, width, depth)
	if err != nil {
		t.Fatal(err)
	}
	phi := functionals.Compose(aug, net)
	x, y := randDataset(r, s*s, 1, 4, 5), randDataset(r, s*s, 2, 5, 3)
	theta := randTheta(r, width*(s>>depth)*(s>>depth), L)
	self := functionals.Pushforward{Name: "embed", Map: phi, F: functionals.MMD{Target: x, Kernel: functionals.Gaussian{H: 1}}}
	if v := value(t, self, x, theta, L); math.Abs(v) > 1e-12 {
		t.Errorf("½MMD² of a dataset against itself through the embedding: %v, want 0 up to rounding", v)
	}
	pf := functionals.Pushforward{Name: "embed", Map: phi, F: functionals.MMD{Target: y}}
	env, xn, loss := build(t, pf, x, theta, L)
	res, err := gradcheck.Check(env.G, loss, xn.X, x.Data, 1e-6, 1e-4)
	if err != nil {
		t.Fatal(err)
	}
	if res.MaxRelErr > 1e-5 {
		t.Errorf("gradient at %d: %v vs finite difference %v", res.Index, res.Analytic, res.Numeric)
	}
}

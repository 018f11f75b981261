package flows_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/optim"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// blobs returns C classes of n 2-D Gaussian points, class c centred at centre(c).
func blobs(r *rand.Rand, n int, sd float64, centres ...[2]float64) *graph.Dataset {
	var classes [][]float64
	for _, m := range centres {
		x := make([]float64, 2*n)
		for i := 0; i < n; i++ {
			x[2*i] = m[0] + sd*r.NormFloat64()
			x[2*i+1] = m[1] + sd*r.NormFloat64()
		}
		classes = append(classes, x)
	}
	ds, err := graph.FromClasses(2, classes...)
	if err != nil {
		panic(err)
	}
	return ds
}

func problem() (source, target *graph.Dataset) {
	r := rand.New(rand.NewPCG(1, 2))
	target = blobs(r, 30, 0.2, [2]float64{-1, 0}, [2]float64{1, 0}, [2]float64{0, 1.5})
	source = blobs(r, 30, 0.1, [2]float64{0, -0.5}, [2]float64{0.1, -0.5}, [2]float64{-0.1, -0.5})
	return source, target
}

// A few hundred steps on a small 2-D problem: the loss decreases on average
// (each block of 50 steps below the previous one) and ends below 1% of its start.
func TestFlowDecreasesLoss(t *testing.T) {
	src, tgt := problem()
	for _, k := range []functionals.Kernel{functionals.Gaussian{H: 0.5}, functionals.Riesz{}} {
		t.Run(k.String(), func(t *testing.T) {
			var losses []float64
			fl, err := flows.New(src, functionals.MMD{Target: tgt, Kernel: k}, flows.Config{
				Steps: 300, Directions: 100, Seed: 3,
				Optimizer: &optim.Momentum{Tau: 0.1},
				Recorder:  flows.RecorderFunc(func(s flows.StepInfo) error { losses = append(losses, s.Loss); return nil }),
			})
			if err != nil {
				t.Fatal(err)
			}
			defer fl.Close()
			res, err := fl.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != flows.Finished || res.Steps != 300 || len(losses) != 300 {
				t.Fatalf("status %v after %d steps, %d records", res.Status, res.Steps, len(losses))
			}
			mean := func(v []float64) float64 {
				s := 0.0
				for _, x := range v {
					s += x
				}
				return s / float64(len(v))
			}
			for b := 50; b < 300; b += 50 {
				if prev, cur := mean(losses[b-50:b]), mean(losses[b:b+50]); cur >= prev {
					t.Errorf("mean loss of steps %d–%d is %v ≥ %v of the previous block", b, b+50, cur, prev)
				}
			}
			if res.Loss > 0.01*losses[0] {
				t.Errorf("final loss %v is not below 1%% of the initial %v", res.Loss, losses[0])
			}
		})
	}
}

// The WoW gradient is n_c/a_c times the autodiff gradient.
func TestWoWRescaling(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 5))
	src := blobs(r, 7, 0.3, [2]float64{0, 0}, [2]float64{1, 1})
	// Unequal sizes and weights.
	src.Offsets = []int{0, 5, 14}
	src.Weights = []float64{0.25, 0.75}
	tgt := blobs(r, 6, 0.3, [2]float64{2, 0}, [2]float64{0, 2})
	f := functionals.MMD{Target: tgt, Kernel: functionals.Gaussian{H: 1}}
	theta := []float64{ // d×L: the directions (1, 0), (0.6, 0.8), (−0.8, 0.6) as columns
		1, 0.6, -0.8,
		0, 0.8, 0.6,
	}
	dirs := functionals.FixedDirections{Theta: theta, L: 3}
	var grads [2][]float64
	for i, euclid := range []bool{false, true} {
		fl, err := flows.New(src, f, flows.Config{DirectionSource: dirs, Directions: 3, Euclidean: euclid})
		if err != nil {
			t.Fatal(err)
		}
		_, g, err := fl.Evaluate()
		if err != nil {
			t.Fatal(err)
		}
		grads[i] = g
		fl.Close()
	}
	for i := range grads[0] {
		row := i / 2
		scale := 5 / 0.25
		if row >= 5 {
			scale = 9 / 0.75
		}
		if math.Abs(grads[0][i]-scale*grads[1][i]) > 1e-12 {
			t.Errorf("row %d: WoW gradient %v, want %v × %v", row, grads[0][i], scale, grads[1][i])
		}
	}
}

func runFlow(t *testing.T, src, tgt *graph.Dataset, cfg flows.Config) *graph.Dataset {
	t.Helper()
	fl, err := flows.New(src, functionals.MMD{Target: tgt, Batch: 10}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	res, err := fl.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res.X
}

// The same seed gives bit-identical particles, on one core or two.
func TestFlowDeterminism(t *testing.T) {
	src, tgt := problem()
	cfg := func() flows.Config {
		return flows.Config{Steps: 20, Directions: 64, Seed: 9, Optimizer: &optim.Momentum{Tau: 0.1, M: 0.9}}
	}
	a := runFlow(t, src, tgt, cfg())
	b := runFlow(t, src, tgt, cfg())
	prev := runtime.GOMAXPROCS(1)
	c := runFlow(t, src, tgt, cfg())
	runtime.GOMAXPROCS(prev)
	if !slices.Equal(a.Data, b.Data) || !slices.Equal(a.Data, c.Data) {
		t.Error("same seed, different particles")
	}
	other := cfg()
	other.Seed = 10
	if d := runFlow(t, src, tgt, other); slices.Equal(a.Data, d.Data) {
		t.Error("different seeds, identical particles")
	}
	// Large enough (600 rows × d=64 × L=128) for the matrix products to be
	// split over goroutines in the OpenBLAS build.
	r := rand.New(rand.NewPCG(8, 8))
	big := func(shift float64) *graph.Dataset {
		classes := make([][]float64, 3)
		for c := range classes {
			classes[c] = make([]float64, 200*64)
			for i := range classes[c] {
				classes[c][i] = r.NormFloat64() + shift
			}
		}
		ds, _ := graph.FromClasses(64, classes...)
		return ds
	}
	bx, by := big(0), big(1)
	bcfg := func() flows.Config {
		return flows.Config{Steps: 3, Directions: 128, Seed: 2, Optimizer: &optim.Momentum{Tau: 0.1, M: 0.9}}
	}
	e := runFlow(t, bx, by, bcfg())
	prev = runtime.GOMAXPROCS(1)
	f := runFlow(t, bx, by, bcfg())
	runtime.GOMAXPROCS(prev)
	if !slices.Equal(e.Data, f.Data) {
		t.Error("large flow: GOMAXPROCS=1 and GOMAXPROCS=2 give different particles")
	}
}

func TestFlowFloat32(t *testing.T) {
	src, tgt := problem()
	cfg := flows.Config{Steps: 100, Directions: 64, Seed: 1, Dtype: tensor.Float32}
	fl, err := flows.New(src, functionals.MMD{Target: tgt}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	first, _, err := fl.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	res, err := fl.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !(res.Loss < 0.2*first) {
		t.Errorf("float32 flow: loss %v → %v", first, res.Loss)
	}
}

// A functional whose value turns NaN stops the run with status Diverged.
func TestFlowDiverges(t *testing.T) {
	src, _ := problem()
	logOfNegative := functionals.Potential{Name: "log(-|x|²)", F: func(env *functionals.Env, x *gorgonia.Node, c int) (*gorgonia.Node, error) {
		s, err := gorgonia.Sum(must(gorgonia.Square(x)))
		if err != nil {
			return nil, err
		}
		return gorgonia.Log(must(gorgonia.Neg(s)))
	}}
	fl, err := flows.New(src, logOfNegative, flows.Config{Steps: 5, Directions: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	res, err := fl.Run(context.Background())
	if !errors.Is(err, flows.ErrDiverged) || res.Status != flows.Diverged {
		t.Fatalf("status %v, error %v; want diverged", res.Status, err)
	}
	if !slices.Equal(res.X.Data, src.Data) {
		t.Error("particles moved by a diverged step")
	}
}

func TestRecorderStopsAndContextCancels(t *testing.T) {
	src, tgt := problem()
	stop := errors.New("enough")
	fl, err := flows.New(src, functionals.MMD{Target: tgt}, flows.Config{Steps: 50, Directions: 8,
		Recorder: flows.RecorderFunc(func(s flows.StepInfo) error {
			if s.Step == 3 {
				return stop
			}
			return nil
		})})
	if err != nil {
		t.Fatal(err)
	}
	res, err := fl.Run(context.Background())
	if !errors.Is(err, stop) || res.Status != flows.Stopped || res.Steps != 3 {
		t.Errorf("recorder stop: status %v, steps %d, error %v", res.Status, res.Steps, err)
	}
	fl.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fl, _ = flows.New(src, functionals.MMD{Target: tgt}, flows.Config{Steps: 50, Directions: 8})
	defer fl.Close()
	if res, err := fl.Run(ctx); res.Status != flows.Canceled || err == nil {
		t.Errorf("canceled context: status %v, error %v", res.Status, err)
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	src, tgt := problem()
	bad := src.Clone()
	bad.Data[7] = math.Inf(1)
	for name, tc := range map[string]struct {
		x   *graph.Dataset
		f   functionals.Functional
		cfg flows.Config
	}{
		"no functional":  {src, nil, flows.Config{}},
		"inf particle":   {bad, functionals.MMD{Target: tgt}, flows.Config{}},
		"negative steps": {src, functionals.MMD{Target: tgt}, flows.Config{Steps: -1}},
		"negative L":     {src, functionals.MMD{Target: tgt}, flows.Config{Directions: -5}},
		"int dtype":      {src, functionals.MMD{Target: tgt}, flows.Config{Dtype: tensor.Int}},
	} {
		if fl, err := flows.New(tc.x, tc.f, tc.cfg); err == nil {
			fl.Close()
			t.Errorf("%s: no error", name)
		}
	}
}

func must(n *gorgonia.Node, err error) *gorgonia.Node {
	if err != nil {
		panic(err)
	}
	return n
}

// k = 1 (issue 10): every flowed class collapses onto a single target image,
// so SW → 0 between a flowed class and its target. In float32 the Riesz
// gradient must stay finite for thousands of steps (the sliced costs are
// accumulated in float64 from exact differences, never by a Gram form).
func TestOneShotFlowFloat32StaysFinite(t *testing.T) {
	steps := 3000
	if testing.Short() {
		steps = 500
	}
	r := rand.New(rand.NewPCG(31, 32))
	d, C := 16, 4
	mk := func(n int, scale float64) *graph.Dataset {
		classes := make([][]float64, C)
		for c := range classes {
			classes[c] = make([]float64, n*d)
			for i := range classes[c] {
				classes[c][i] = r.Float64()*scale + float64(c)
			}
		}
		ds, _ := graph.FromClasses(d, classes...)
		return ds
	}
	src, tgt := mk(20, 1), mk(1, 1)
	fl, err := flows.New(src, functionals.MMD{Target: tgt}, flows.Config{Steps: steps, Directions: 100, Seed: 3,
		Dtype: tensor.Float32, Optimizer: &optim.Momentum{Tau: 0.05, M: 0.9}})
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	res, err := fl.Run(context.Background())
	if err != nil {
		t.Fatalf("after %d steps: %v", res.Steps, err)
	}
	if !(res.Loss < 1e-3) {
		t.Errorf("final ½MMD² %v: the classes did not collapse onto their targets", res.Loss)
	}
}

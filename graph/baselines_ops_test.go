package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wowflow/wowflow/internal/bures"
	"github.com/wowflow/wowflow/internal/gradcheck"
	"github.com/wowflow/wowflow/ot"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// randGauss returns n rows [μ, Σ] with Σ = A Aᵀ + 0.2 I (SPD).
func randGauss(r *rand.Rand, n int) []float64 {
	out := make([]float64, n*GaussCols)
	for i := 0; i < n; i++ {
		p := out[i*GaussCols:]
		p[0], p[1] = r.NormFloat64(), r.NormFloat64()
		a, b, c, d := r.NormFloat64(), r.NormFloat64(), r.NormFloat64(), r.NormFloat64()
		p[2], p[3], p[4], p[5] = a*a+b*b+0.2, a*c+b*d, a*c+b*d, c*c+d*d+0.2
	}
	return out
}

func matNode(g *gorgonia.ExprGraph, name string, v []float64, rows, cols int) *gorgonia.Node {
	return gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(rows, cols), gorgonia.WithName(name),
		gorgonia.WithValue(tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(append([]float64(nil), v...)))))
}

// fdCheck fails t unless the gradient of loss with respect to node (at v)
// matches float64 central differences of step 1e-6 to gonum's fd tolerance
// (relative 1e-5) and is not zero everywhere; what names the case.
func fdCheck(t *testing.T, g *gorgonia.ExprGraph, loss, node *gorgonia.Node, v []float64, what string) {
	t.Helper()
	res, err := gradcheck.Check(g, loss, node, v, 1e-6, 1e-4)
	if err != nil {
		t.Fatal(err)
	}
	if res.MaxRelErr > 1e-5 {
		t.Errorf("%scoordinate %d: gradient %v, central difference %v (relative error %.3g)", what, res.Index, res.Analytic, res.Numeric, res.MaxRelErr)
	}
	if res.Analytic == 0 && res.Numeric == 0 {
		t.Errorf("%szero gradient everywhere", what)
	}
}

// Gradient checks (float64, central differences of step 1e-6, as gonum's
// fd) of the pairwise ops with respect to each input, through a random
// weighted sum of their outputs.
func TestBaselineOpsGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(171, 172))
	type build func(g *gorgonia.ExprGraph, a, b *gorgonia.Node) (*gorgonia.Node, error)
	cases := []struct {
		name       string
		n, m, cols int
		data       func(n int) []float64
		op         build
	}{
		{"SqDist", 4, 3, 5, func(n int) []float64 { return randSlice(r, n*5) }, func(_ *gorgonia.ExprGraph, a, b *gorgonia.Node) (*gorgonia.Node, error) { return SqDist(a, b) }},
		{"SqDist/self", 4, 4, 3, func(n int) []float64 { return randSlice(r, n*3) }, func(_ *gorgonia.ExprGraph, a, _ *gorgonia.Node) (*gorgonia.Node, error) { return SqDist(a, a) }},
		{"BuresCost", 4, 3, GaussCols, func(n int) []float64 { return randGauss(r, n) }, func(_ *gorgonia.ExprGraph, a, b *gorgonia.Node) (*gorgonia.Node, error) { return BuresCost(a, b) }},
		{"Add/pair", 4, 4, 5, func(n int) []float64 { return randSlice(r, n*5) }, func(_ *gorgonia.ExprGraph, a, b *gorgonia.Node) (*gorgonia.Node, error) { return Add(a, b) }},
		{"Columns", 4, 3, 5, func(n int) []float64 { return randSlice(r, n*5) }, func(_ *gorgonia.ExprGraph, a, _ *gorgonia.Node) (*gorgonia.Node, error) { return Columns(a, 1, 4) }},
		{"BuresCost/self", 3, 3, GaussCols, func(n int) []float64 { return randGauss(r, n) }, func(_ *gorgonia.ExprGraph, a, _ *gorgonia.Node) (*gorgonia.Node, error) { return BuresCost(a, a) }},
	}
	for _, c := range cases {
		for wrt := 0; wrt < 2; wrt++ {
			if wrt == 1 && (c.name[len(c.name)-4:] == "self" || c.name == "Columns") {
				continue // one input
			}
			t.Run(c.name+map[int]string{0: "/wrt=x", 1: "/wrt=y"}[wrt], func(t *testing.T) {
				av, bv := c.data(c.n), c.data(c.m)
				g := gorgonia.NewGraph()
				a, b := matNode(g, "a", av, c.n, c.cols), matNode(g, "b", bv, c.m, c.cols)
				y, err := c.op(g, a, b)
				if err != nil {
					t.Fatal(err)
				}
				loss := weightedSum(t, y, r)
				node, v := a, av
				if wrt == 1 {
					node, v = b, bv
				}
				fdCheck(t, g, loss, node, v, "")
			})
		}
	}
}

// The ops' values against plain loops: SqDist against the definition,
// BuresCost against bures.W2Sq (eigendecomposition).
func TestBaselineOpsValue(t *testing.T) {
	r := rand.New(rand.NewPCG(173, 174))
	const n, m, d = 5, 4, 3
	x, y := randSlice(r, n*d), randSlice(r, m*d)
	ga, gb := randGauss(r, n), randGauss(r, m)
	g := gorgonia.NewGraph()
	sd := must(SqDist(matNode(g, "x", x, n, d), matNode(g, "y", y, m, d)))
	bc := must(BuresCost(matNode(g, "ga", ga, n, GaussCols), matNode(g, "gb", gb, m, GaussCols)))
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	sv, bv := sd.Value().Data().([]float64), bc.Value().Data().([]float64)
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			want := 0.0
			for k := 0; k < d; k++ {
				want += (x[i*d+k] - y[j*d+k]) * (x[i*d+k] - y[j*d+k])
			}
			if math.Abs(sv[i*m+j]-want) > 1e-12*(1+want) {
				t.Errorf("SqDist[%d,%d] = %v, want %v", i, j, sv[i*m+j], want)
			}
			p, q := ga[i*GaussCols:(i+1)*GaussCols], gb[j*GaussCols:(j+1)*GaussCols]
			w, err := bures.W2Sq(p[:2], p[2:], q[:2], q[2:], 2)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(bv[i*m+j]-w) > 1e-9*(1+w) {
				t.Errorf("BuresCost[%d,%d] = %v, bures.W2Sq %v", i, j, bv[i*m+j], w)
			}
		}
	}
}

// A covariance that is not SPD is an error naming the row, not a NaN.
func TestBuresCostNotSPD(t *testing.T) {
	r := rand.New(rand.NewPCG(175, 176))
	a := randGauss(r, 3)
	a[1*GaussCols+2], a[1*GaussCols+5] = 1, -1 // row 1: Σ = [[1, ·], [·, −1]]
	g := gorgonia.NewGraph()
	must(BuresCost(matNode(g, "a", a, 3, GaussCols), matNode(g, "b", randGauss(r, 2), 2, GaussCols)))
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	err := vm.RunAll()
	if err == nil || !containsStr(err.Error(), bures.ErrNotSPD.Error()) { // gorgonia's VM does not wrap
		t.Fatalf("error %v, want bures.ErrNotSPD", err)
	}
	if want := "row 1"; !containsStr(err.Error(), want) {
		t.Errorf("error %q does not name %q", err, want)
	}
}

func containsStr(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func entropicGraph(t *testing.T, c []float64, n, m int, opt EntropicOptions) (*gorgonia.ExprGraph, *gorgonia.Node, *gorgonia.Node, *SinkhornStats) {
	t.Helper()
	g := gorgonia.NewGraph()
	cn := matNode(g, "c", c, n, m)
	v, st, err := EntropicOT(cn, opt)
	if err != nil {
		t.Fatal(err)
	}
	return g, cn, v, st
}

// The envelope-theorem gradient P*/s of the entropic cost against central
// differences, with the scale and ε fixed (a converged solve: tol 1e-12).
func TestEntropicOTGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(177, 178))
	const n, m = 5, 4
	c := make([]float64, n*m)
	for i := range c {
		c[i] = 1 + r.Float64()
	}
	for _, eps := range []float64{0.5, 0.05} {
		g, cn, v, _ := entropicGraph(t, c, n, m, EntropicOptions{Scale: 1.3, Epsilon: eps, Tol: 1e-13, MaxIter: 100000})
		res, err := gradcheck.Check(g, v, cn, c, 1e-6, 1e-4)
		if err != nil {
			t.Fatal(err)
		}
		if res.MaxRelErr > 1e-5 {
			t.Errorf("ε=%v, entry %d: gradient %v, central difference %v (relative error %.3g)", eps, res.Index, res.Analytic, res.Numeric, res.MaxRelErr)
		}
	}
}

// With ε → 0 the entropic cost tends to the exact transport cost (ot.EMD)
// of the scaled cost; with the default options the scale is the mean cost
// and ε = 0.05 × std of the scaled cost (ott-jax's PointCloud default); the
// gradient is then the fixed-option gradient at those values.
func TestEntropicOTValueAndDefaults(t *testing.T) {
	r := rand.New(rand.NewPCG(179, 180))
	const n, m = 6, 4
	c := make([]float64, n*m)
	for i := range c {
		c[i] = r.Float64() * 3
	}
	a, b := make([]float64, n), make([]float64, m)
	for i := range a {
		a[i] = 1.0 / n
	}
	for j := range b {
		b[j] = 1.0 / m
	}
	_, exact, err := ot.EMD(a, b, c)
	if err != nil {
		t.Fatal(err)
	}
	g, _, v, _ := entropicGraph(t, c, n, m, EntropicOptions{Scale: 1, Epsilon: 1e-3, Tol: 1e-10, MaxIter: 1000000})
	vm := gorgonia.NewTapeMachine(g)
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	got := v.Value().Data().(float64)
	vm.Close()
	// OT_ε − OT_0 ∈ [0, ε log(nm)] for the KL-regularised problem.
	if got < exact-1e-9 || got > exact+1e-3*math.Log(n*m) {
		t.Errorf("entropic cost at ε=1e-3 is %v, exact %v", got, exact)
	}

	// Defaults: the stats report the scale and ε used.
	g, cn, v, st := entropicGraph(t, c, n, m, EntropicOptions{})
	grads, err := gorgonia.Grad(v, cn)
	if err != nil {
		t.Fatal(err)
	}
	vm = gorgonia.NewTapeMachine(g)
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	auto := append([]float64(nil), grads[0].Value().Data().([]float64)...)
	vm.Close()
	mean, sq := 0.0, 0.0
	for _, x := range c {
		mean += x / float64(n*m)
		sq += x * x / float64(n*m)
	}
	wantEps := 0.05 * math.Sqrt(sq/(mean*mean)-1)
	if math.Abs(st.LastScale-mean) > 1e-12 || math.Abs(st.LastEpsilon-wantEps) > 1e-12 {
		t.Fatalf("default scale %v, ε %v; want mean %v, 0.05·std %v", st.LastScale, st.LastEpsilon, mean, wantEps)
	}
	g, cn, v, _ = entropicGraph(t, c, n, m, EntropicOptions{Scale: mean, Epsilon: wantEps})
	grads, err = gorgonia.Grad(v, cn)
	if err != nil {
		t.Fatal(err)
	}
	vm = gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	for i, x := range grads[0].Value().Data().([]float64) {
		if math.Abs(x-auto[i]) > 1e-9*(1+math.Abs(x)) {
			t.Fatalf("gradient %d: default options %v, fixed %v", i, auto[i], x)
		}
	}
}

// A non-finite cost or an ε too small for float64 is an error, never a NaN.
func TestEntropicOTBadInput(t *testing.T) {
	c := []float64{0, 1, 1, 0}
	c2 := append([]float64(nil), c...)
	c2[1] = math.NaN()
	for name, tc := range map[string]struct {
		c   []float64
		opt EntropicOptions
	}{
		"NaN cost": {c2, EntropicOptions{}},
		"tiny ε":   {c, EntropicOptions{Epsilon: 1e-320, Scale: 1}},
		"constant": {[]float64{1, 1, 1, 1}, EntropicOptions{}},
	} {
		t.Run(name, func(t *testing.T) {
			g, _, _, _ := entropicGraph(t, tc.c, 2, 2, tc.opt)
			vm := gorgonia.NewTapeMachine(g)
			defer vm.Close()
			if err := vm.RunAll(); err == nil || !containsStr(err.Error(), ErrSinkhorn.Error()) { // gorgonia's VM does not wrap
				t.Errorf("error %v, want ErrSinkhorn", err)
			}
		})
	}
}

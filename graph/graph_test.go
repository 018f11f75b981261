package graph

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/wowflow/wowflow/internal/gradcheck"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// bruteCost integrates |F_a^{-1} − F_b^{-1}|^p over [0,1] with the midpoint
// rule on cells of width 1/(n·m·3), on which both quantile functions are
// constant, so the rule is exact up to rounding.
func bruteCost(a, b []float64, p int) float64 {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	K := len(a) * len(b) * 3
	s := 0.0
	for k := 0; k < K; k++ {
		t := (float64(k) + 0.5) / float64(K)
		d := math.Abs(a[int(t*float64(len(a)))] - b[int(t*float64(len(b)))])
		s += math.Pow(d, float64(p))
	}
	return s / float64(K)
}

func randSlice(r *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	return x
}

func TestCost1DAgainstQuantileIntegral(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ n, m, p int }{
		{5, 5, 2}, {5, 5, 1}, {3, 7, 2}, {7, 3, 1}, {4, 6, 2}, {1, 9, 2}, {12, 8, 1},
	} {
		a, b := randSlice(r, tc.n), randSlice(r, tc.m)
		want := bruteCost(a, b, tc.p)
		slices.Sort(a)
		slices.Sort(b)
		got := Cost1D(a, b, tc.p)
		if math.Abs(got-want) > 1e-12*math.Max(1, want) {
			t.Errorf("n=%d m=%d p=%d: Cost1D=%v, quantile integral=%v", tc.n, tc.m, tc.p, got, want)
		}
	}
}

// slicedGraph builds S = Sliced(X·Θ, Y·Θ) and loss = Σ W ⊙ S for a random
// weight matrix W, with X the differentiated input.
type slicedGraph struct {
	g          *gorgonia.ExprGraph
	x, s, loss *gorgonia.Node
}

func buildSliced(t *testing.T, dt tensor.Dtype, lx, ly Layout, theta, y []float64, L, p int, w []float64, self bool) slicedGraph {
	t.Helper()
	g := gorgonia.NewGraph()
	d := lx.D
	x := gorgonia.NewMatrix(g, dt, gorgonia.WithShape(lx.Len(), d), gorgonia.WithName("x"))
	th := gorgonia.NewMatrix(g, dt, gorgonia.WithShape(d, L), gorgonia.WithName("theta"), gorgonia.WithValue(denseFrom(dt, theta, d, L)))
	px := must(gorgonia.Mul(x, th))
	ins := []Projected{{px, lx}}
	if !self {
		yn := gorgonia.NewMatrix(g, dt, gorgonia.WithShape(ly.Len(), d), gorgonia.WithName("y"), gorgonia.WithValue(denseFrom(dt, y, ly.Len(), d)))
		ins = append(ins, Projected{must(gorgonia.Mul(yn, th)), ly})
	}
	s, err := Sliced(SlicedOptions{P: p}, ins...)
	if err != nil {
		t.Fatal(err)
	}
	G := s.Shape()[0]
	wn := gorgonia.NewMatrix(g, dt, gorgonia.WithShape(G, G), gorgonia.WithName("w"), gorgonia.WithValue(denseFrom(dt, w, G, G)))
	loss := must(gorgonia.Sum(must(gorgonia.HadamardProd(s, wn))))
	return slicedGraph{g, x, s, loss}
}

func must(n *gorgonia.Node, err error) *gorgonia.Node {
	if err != nil {
		panic(err)
	}
	return n
}

func randDirections(r *rand.Rand, d, L int) []float64 {
	th := make([]float64, d*L) // d×L, unit columns
	for l := 0; l < L; l++ {
		nrm := 0.0
		for k := 0; k < d; k++ {
			v := r.NormFloat64()
			th[k*L+l] = v
			nrm += v * v
		}
		for k := 0; k < d; k++ {
			th[k*L+l] /= math.Sqrt(nrm)
		}
	}
	return th
}

func layoutOf(d int, sizes ...int) Layout {
	l := Layout{D: d, Offsets: []int{0}}
	for _, n := range sizes {
		l.Offsets = append(l.Offsets, l.Offsets[len(l.Offsets)-1]+n)
	}
	return l
}

// directSliced computes the sliced cost matrix with plain loops.
func directSliced(x, y []float64, lx, ly Layout, theta []float64, L, p int) []float64 {
	var classes [][]float64 // per class, L×n projections
	add := func(data []float64, l Layout) {
		for c := 0; c < l.NumClasses(); c++ {
			n := l.ClassSize(c)
			pr := make([]float64, L*n)
			for i := 0; i < n; i++ {
				row := data[(l.Offsets[c]+i)*l.D : (l.Offsets[c]+i+1)*l.D]
				for k := 0; k < L; k++ {
					v := 0.0
					for j, xv := range row {
						v += xv * theta[j*L+k]
					}
					pr[k*n+i] = v
				}
			}
			classes = append(classes, pr)
		}
	}
	add(x, lx)
	if y != nil {
		add(y, ly)
	}
	G := len(classes)
	out := make([]float64, G*G)
	for g := range classes {
		for h := range classes {
			ng, nh := len(classes[g])/L, len(classes[h])/L
			for k := 0; k < L; k++ {
				out[g*G+h] += bruteCost(classes[g][k*ng:(k+1)*ng], classes[h][k*nh:(k+1)*nh], p) / float64(L)
			}
		}
	}
	return out
}

func TestSlicedValueAndGradient(t *testing.T) {
	cases := []struct {
		name   string
		xs, ys []int
		d, L   int
		p      int
		self   bool
	}{
		{"equal/p2", []int{4, 4}, []int{4, 4, 4}, 3, 5, 2, false},
		{"equal/p1", []int{4, 4}, []int{4, 4}, 3, 5, 1, false},
		{"unequal/p2", []int{3, 5}, []int{4, 2}, 2, 6, 2, false},
		{"unequal/p1", []int{3, 5}, []int{7}, 2, 4, 1, false},
		{"self/p2", []int{3, 4, 5}, nil, 3, 5, 2, true},
		{"self/p1", []int{3, 3}, nil, 2, 5, 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, uint64(len(tc.name))))
			lx, ly := layoutOf(tc.d, tc.xs...), layoutOf(tc.d, tc.ys...)
			x := randSlice(r, lx.Len()*tc.d)
			var y []float64
			if !tc.self {
				y = randSlice(r, ly.Len()*tc.d)
			}
			theta := randDirections(r, tc.d, tc.L)
			G := lx.NumClasses()
			if !tc.self {
				G += ly.NumClasses()
			}
			w := randSlice(r, G*G)
			sg := buildSliced(t, tensor.Float64, lx, ly, theta, y, tc.L, tc.p, w, tc.self)
			res, err := gradcheck.Check(sg.g, sg.loss, sg.x, x, 1e-6, 1e-3)
			if err != nil {
				t.Fatal(err)
			}
			// Central differences with h=1e-6 on O(1) values: about 1e-8 accuracy.
			if res.MaxRelErr > 1e-5 {
				t.Errorf("gradient mismatch at %d: autodiff %v, finite difference %v (rel %v)", res.Index, res.Analytic, res.Numeric, res.MaxRelErr)
			}
			want := directSliced(x, y, lx, ly, theta, tc.L, tc.p)
			got := sg.s.Value().Data().([]float64)
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-12*math.Max(1, math.Abs(want[i])) {
					t.Fatalf("S[%d] = %v, direct computation %v", i, got[i], want[i])
				}
			}
		})
	}
}

// In d = 1 every direction is ±1 and SW_2² is the exact W_2² of the sorted
// samples.
func TestSlicedInDimensionOneIsW2(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x, y := randSlice(r, 6), randSlice(r, 9)
	lx, ly := layoutOf(1, 6), layoutOf(1, 9)
	theta := []float64{1, -1, 1, -1, -1}
	sg := buildSliced(t, tensor.Float64, lx, ly, theta, y, len(theta), 2, []float64{0, 1, 0, 0}, false)
	if err := gorgonia.Let(sg.x, tensor.New(tensor.WithShape(6, 1), tensor.WithBacking(x))); err != nil {
		t.Fatal(err)
	}
	m := gorgonia.NewTapeMachine(sg.g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	got := sg.s.Value().Data().([]float64)[1]
	want := bruteCost(x, y, 2)
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("SW_2² in d=1 = %v, W_2² = %v", got, want)
	}
}

// The closed form of method.md §3: n·∇_{x_i} ½SW_2²(μ,ν) = mean_l (⟨x_i,θ_l⟩ −
// T_l(⟨x_i,θ_l⟩)) θ_l, T_l matching order statistics (equal sizes).
func TestSlicedClosedFormGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	n, d, L := 20, 4, 30
	x, y := randSlice(r, n*d), randSlice(r, n*d)
	theta := randDirections(r, d, L)
	lx, ly := layoutOf(d, n), layoutOf(d, n)
	// loss = ½ S_xy (the matrix is symmetric: weight ¼ on each off-diagonal entry).
	sg := buildSliced(t, tensor.Float64, lx, ly, theta, y, L, 2, []float64{0, 0.25, 0.25, 0}, false)
	grads, err := gorgonia.Grad(sg.loss, sg.x)
	if err != nil {
		t.Fatal(err)
	}
	if err := gorgonia.Let(sg.x, tensor.New(tensor.WithShape(n, d), tensor.WithBacking(x))); err != nil {
		t.Fatal(err)
	}
	m := gorgonia.NewTapeMachine(sg.g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	auto := grads[0].Value().Data().([]float64)
	want := make([]float64, n*d)
	for l := 0; l < L; l++ {
		px, py := make([]float64, n), make([]float64, n)
		for i := 0; i < n; i++ {
			for k := 0; k < d; k++ {
				px[i] += x[i*d+k] * theta[k*L+l]
				py[i] += y[i*d+k] * theta[k*L+l]
			}
		}
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(a, b int) int { return int(math.Copysign(1, px[a]-px[b])) })
		sy := slices.Clone(py)
		slices.Sort(sy)
		for rank, i := range idx {
			for k := 0; k < d; k++ {
				want[i*d+k] += (px[i] - sy[rank]) * theta[k*L+l] / float64(L)
			}
		}
	}
	for i := range want {
		if got := auto[i] * float64(n); math.Abs(got-want[i]) > 1e-12 {
			t.Fatalf("coordinate %d: n·autodiff %v, closed form %v", i, got, want[i])
		}
	}
}

func TestSlicedFloat32MatchesFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	lx, ly := layoutOf(3, 5, 6), layoutOf(3, 4)
	x, y := randSlice(r, lx.Len()*3), randSlice(r, ly.Len()*3)
	theta := randDirections(r, 3, 8)
	w := randSlice(r, 9)
	var vals [2][]float64
	for k, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		sg := buildSliced(t, dt, lx, ly, theta, y, 8, 2, w, false)
		xt := denseFrom(dt, slices.Clone(x), lx.Len(), 3)
		if err := gorgonia.Let(sg.x, xt); err != nil {
			t.Fatal(err)
		}
		m := gorgonia.NewTapeMachine(sg.g)
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		v, _ := asFloat64s(sg.s.Value(), 9)
		vals[k] = slices.Clone(v)
		m.Close()
	}
	for i := range vals[0] {
		if math.Abs(vals[0][i]-vals[1][i]) > 1e-5*math.Max(1, vals[0][i]) {
			t.Errorf("S[%d]: float64 %v, float32 %v", i, vals[0][i], vals[1][i])
		}
	}
}

func TestSlicedRejectsBadInput(t *testing.T) {
	g := gorgonia.NewGraph()
	px := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(5, 3), gorgonia.WithName("px"))
	py := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(4, 2), gorgonia.WithName("py"))
	for _, tc := range []struct {
		name string
		opt  SlicedOptions
		in   []Projected
	}{
		{"p=3", SlicedOptions{P: 3}, []Projected{{px, layoutOf(1, 5)}}},
		{"rows", SlicedOptions{}, []Projected{{px, layoutOf(1, 4)}}},
		{"directions", SlicedOptions{}, []Projected{{px, layoutOf(1, 5)}, {py, layoutOf(1, 4)}}},
		{"empty class", SlicedOptions{}, []Projected{{px, layoutOf(1, 5, 0)}}},
		{"no input", SlicedOptions{}, nil},
	} {
		if _, err := Sliced(tc.opt, tc.in...); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestSafePowGradient(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewVector(g, tensor.Float64, gorgonia.WithShape(4), gorgonia.WithName("x"))
	y := must(SafePow(x, 0.5))
	loss := must(gorgonia.Sum(y))
	grads, err := gorgonia.Grad(loss, x)
	if err != nil {
		t.Fatal(err)
	}
	gorgonia.Let(x, tensor.New(tensor.WithBacking([]float64{0, 4, -1, 0.25})))
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	want := []float64{0, 0.25, 0, 1} // ½x^{-½} for x > 0, 0 elsewhere
	got := grads[0].Value().Data().([]float64)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("d/dx SafePow(x,½) at %d = %v, want %v", i, got[i], want[i])
		}
	}
	if v := loss.Value().Data().(float64); v != 2.5 {
		t.Errorf("Σ sqrt = %v, want 2.5", v)
	}
}

func TestFromLabeled(t *testing.T) {
	ds, err := FromLabeled([]float64{1, 2, 3, 4, 5, 6}, []int{1, 0, 1}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.Data, []float64{3, 4, 1, 2, 5, 6}) || !slices.Equal(ds.Offsets, []int{0, 1, 3}) {
		t.Errorf("grouped %v offsets %v", ds.Data, ds.Offsets)
	}
	for _, tc := range []struct {
		name   string
		x      []float64
		labels []int
	}{
		{"missing class", []float64{1, 2, 3, 4}, []int{0, 2}},
		{"negative", []float64{1, 2}, []int{-1}},
		{"length", []float64{1, 2, 3}, []int{0, 0}},
		{"nan", []float64{1, math.NaN()}, []int{0}},
	} {
		if _, err := FromLabeled(tc.x, tc.labels, 2); err == nil && tc.name != "length" {
			t.Errorf("%s: no error", tc.name)
		} else if tc.name == "length" {
			if _, err := FromLabeled(tc.x, tc.labels, 1); err == nil {
				t.Errorf("%s: no error", tc.name)
			}
		}
	}
}

func TestSortKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, n := range []int{1, 5, 63, 64, 200, 1000, 5000} {
		for _, spread := range []float64{1, 1e-9, 1e6} {
			keys := make([]uint64, n)
			for i := range keys {
				v := r.NormFloat64() * spread
				if i%7 == 3 && i > 0 { // ties
					v = math.Float64frombits(keys[i-1])
				}
				keys[i] = sortableBits(v)
			}
			want := slices.Clone(keys)
			slices.Sort(want)
			sortKeys(keys, make([]uint64, n))
			if !slices.Equal(keys, want) {
				t.Fatalf("n=%d spread=%g: radix sort differs from slices.Sort", n, spread)
			}
		}
	}
	// sortableBits preserves order.
	vals := []float64{math.Inf(-1), -3, -1e-300, 0, 1e-300, 2, math.Inf(1)}
	for i := 1; i < len(vals); i++ {
		if sortableBits(vals[i-1]) >= sortableBits(vals[i]) {
			t.Errorf("sortableBits(%v) ≥ sortableBits(%v)", vals[i-1], vals[i])
		}
	}
}

// The row-split matrix product equals the plain one, for every transpose
// combination used by the graph (projection and back-projection).
func TestGemmSplit(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	m, n, k := 700, 33, 190 // m spans several row blocks
	a, b := randSlice(r, m*k), randSlice(r, k*n)
	at := make([]float64, k*m)
	for i := 0; i < m; i++ {
		for j := 0; j < k; j++ {
			at[j*m+i] = a[i*k+j]
		}
	}
	want := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			for l := 0; l < k; l++ {
				want[i*n+j] += a[i*k+l] * b[l*n+j]
			}
		}
	}
	for _, tc := range []struct {
		name string
		ta   bool
	}{{"NoTrans", false}, {"TransA", true}} {
		got := make([]float64, m*n)
		A := blas64.General{Rows: m, Cols: k, Stride: k, Data: a}
		tA := blas.NoTrans
		if tc.ta {
			A, tA = blas64.General{Rows: k, Cols: m, Stride: m, Data: at}, blas.Trans
		}
		blas64.Gemm(tA, blas.NoTrans, 1, A, blas64.General{Rows: k, Cols: n, Stride: n, Data: b}, 0, blas64.General{Rows: m, Cols: n, Stride: n, Data: got})
		for i := range got {
			if math.Abs(got[i]-want[i]) > 1e-9 {
				t.Fatalf("%s: C[%d] = %v, want %v", tc.name, i, got[i], want[i])
			}
		}
	}
}

func TestCrossEntropyValueAndGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	n, K := 6, 4
	z := randSlice(r, n*K)
	for i := range z {
		z[i] *= 30 // large logits: the stable form must not overflow
	}
	labels := []int{0, 3, 1, 1, 2, 0}
	w := []float64{0.5, 0.1, 0.2, 0.05, 0.1, 0.05}
	g := gorgonia.NewGraph()
	zn := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(n, K), gorgonia.WithName("z"))
	loss := must(CrossEntropy(zn, labels, w))
	res, err := gradcheck.Check(g, loss, zn, z, 1e-6, 1e-3)
	if err != nil {
		t.Fatal(err)
	}
	if res.MaxRelErr > 1e-5 {
		t.Errorf("gradient at %d: %v vs finite difference %v", res.Index, res.Analytic, res.Numeric)
	}
	want := 0.0
	for i := 0; i < n; i++ {
		row := z[i*K : (i+1)*K]
		m := slices.Max(row)
		s := 0.0
		for _, v := range row {
			s += math.Exp(v - m)
		}
		want += w[i] * (m + math.Log(s) - row[labels[i]])
	}
	if got := loss.Value().Data().(float64); math.Abs(got-want) > 1e-12*math.Max(1, want) || math.IsNaN(got) {
		t.Errorf("value %v, want %v", got, want)
	}
	if _, err := CrossEntropy(zn, []int{0, 1, 2, 3, 4, 0}, w); err == nil {
		t.Error("label out of range: no error")
	}
}

// torchQuantiles is the paper code's estimator written as in
// ../shared/reference/torch_bench.py (qmc_sw2): knots at K levels
// linspace(0,1,K) by linear interpolation of the sorted sample, evaluated at
// the random levels U by linear interpolation of the knots.
func torchQuantiles(sample, U []float64) []float64 {
	s := slices.Clone(sample)
	slices.Sort(s)
	K, n := len(U), len(s)
	qs := make([]float64, K)
	for m := range qs {
		pos := float64(m) / float64(K-1) * float64(n-1)
		lo := min(int(math.Floor(pos)), n-1)
		hi := min(lo+1, n-1)
		fr := pos - float64(lo)
		qs[m] = s[lo]*(1-fr) + s[hi]*fr
	}
	out := make([]float64, K)
	for j, u := range U {
		pos := u * float64(K-1)
		lo := min(int(math.Floor(pos)), K-1)
		hi := min(lo+1, K-1)
		fr := pos - float64(lo)
		out[j] = qs[lo]*(1-fr) + qs[hi]*fr
	}
	return out
}

func TestSlicedPercentileEstimator(t *testing.T) {
	for _, tc := range []struct {
		name   string
		xs, ys []int
		p, K   int
	}{{"equal/p2", []int{6, 6}, []int{6}, 2, 5}, {"unequal/p2", []int{4, 9}, []int{7, 3}, 2, 8}, {"p1", []int{5}, []int{8}, 1, 4}} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(61, uint64(tc.K)))
			d, L := 3, 4
			lx, ly := layoutOf(d, tc.xs...), layoutOf(d, tc.ys...)
			x, y := randSlice(r, lx.Len()*d), randSlice(r, ly.Len()*d)
			theta := randDirections(r, d, L)
			U := make([]float64, L*tc.K)
			for i := range U {
				U[i] = r.Float64()
			}
			G := lx.NumClasses() + ly.NumClasses()
			w := randSlice(r, G*G)
			g := gorgonia.NewGraph()
			xn := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(lx.Len(), d), gorgonia.WithName("x"))
			yn := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(ly.Len(), d), gorgonia.WithName("y"), gorgonia.WithValue(denseFrom(tensor.Float64, y, ly.Len(), d)))
			th := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(d, L), gorgonia.WithName("theta"), gorgonia.WithValue(denseFrom(tensor.Float64, theta, d, L)))
			un := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(L, tc.K), gorgonia.WithName("levels"), gorgonia.WithValue(denseFrom(tensor.Float64, U, L, tc.K)))
			s, err := Sliced(SlicedOptions{P: tc.p, Quantiles: tc.K, Levels: un},
				Projected{must(gorgonia.Mul(xn, th)), lx}, Projected{must(gorgonia.Mul(yn, th)), ly})
			if err != nil {
				t.Fatal(err)
			}
			wn := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(G, G), gorgonia.WithName("w"), gorgonia.WithValue(denseFrom(tensor.Float64, w, G, G)))
			loss := must(gorgonia.Sum(must(gorgonia.HadamardProd(s, wn))))
			res, err := gradcheck.Check(g, loss, xn, x, 1e-6, 1e-3)
			if err != nil {
				t.Fatal(err)
			}
			if res.MaxRelErr > 1e-5 {
				t.Errorf("gradient at %d: %v vs finite difference %v", res.Index, res.Analytic, res.Numeric)
			}
			// Value against the reference formula, class pair by class pair.
			proj := func(data []float64, lay Layout, c, l int) []float64 {
				var v []float64
				for i := lay.Offsets[c]; i < lay.Offsets[c+1]; i++ {
					dot := 0.0
					for k := 0; k < d; k++ {
						dot += data[i*d+k] * theta[k*L+l]
					}
					v = append(v, dot)
				}
				return v
			}
			type cls struct {
				data []float64
				lay  Layout
				c    int
			}
			var all []cls
			for c := 0; c < lx.NumClasses(); c++ {
				all = append(all, cls{x, lx, c})
			}
			for c := 0; c < ly.NumClasses(); c++ {
				all = append(all, cls{y, ly, c})
			}
			got := s.Value().Data().([]float64)
			for a := range all {
				for b := range all {
					want := 0.0
					for l := 0; l < L; l++ {
						qa := torchQuantiles(proj(all[a].data, all[a].lay, all[a].c, l), U[l*tc.K:(l+1)*tc.K])
						qb := torchQuantiles(proj(all[b].data, all[b].lay, all[b].c, l), U[l*tc.K:(l+1)*tc.K])
						for j := range qa {
							want += math.Pow(math.Abs(qa[j]-qb[j]), float64(tc.p)) / float64(tc.K*L)
						}
					}
					if a == b {
						want = 0
					}
					if math.Abs(got[a*G+b]-want) > 1e-12 {
						t.Errorf("S[%d][%d] = %v, reference %v", a, b, got[a*G+b], want)
					}
				}
			}
		})
	}
}

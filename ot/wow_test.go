package ot

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// shiftedClasses returns one class per shift: the n×d cloud base with its
// first coordinate shifted by s.
func shiftedClasses(base []float64, n, d int, shifts ...float64) Classes {
	x := Classes{D: d, Offsets: []int{0}}
	for _, s := range shifts {
		c := slices.Clone(base)
		for i := 0; i < n; i++ {
			c[i*d] += s
		}
		x.Points = append(x.Points, c...)
		x.Offsets = append(x.Offsets, len(x.Points)/d)
	}
	return x
}

// Classes that are one cloud shifted along the first axis: W_2² between
// shifts s and t is exactly (s−t)², so the WoW distance and the alignment are
// known in closed form.
func TestWoWClosedForm(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n, d := 30, 3
	base := make([]float64, n*d)
	for i := range base {
		base[i] = r.NormFloat64()
	}
	x := shiftedClasses(base, n, d, 0, 10, 20)
	y := shiftedClasses(base, n, d, 21, 1, 11) // target labels permuted, each 1 away
	res, err := WoW(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Alignment, []int{1, 2, 0}) {
		t.Errorf("alignment %v, want [1 2 0]", res.Alignment)
	}
	// Each class pays (1)² with weight 1/3.
	if math.Abs(res.Value-1) > 1e-9 {
		t.Errorf("WW² = %v, want 1", res.Value)
	}
	for c := 0; c < 3; c++ {
		for k := 0; k < 3; k++ {
			want := math.Pow([]float64{0, 10, 20}[c]-[]float64{21, 1, 11}[k], 2)
			if math.Abs(res.Cost[c*3+k]-want) > 1e-8*want+1e-9 {
				t.Errorf("cost[%d][%d] = %v, want %v", c, k, res.Cost[c*3+k], want)
			}
		}
	}
	// Identity and symmetry.
	self, err := WoW(x, x)
	if err != nil || math.Abs(self.Value) > 1e-9 || !slices.Equal(self.Alignment, []int{0, 1, 2}) {
		t.Errorf("WW²(P,P) = %v (%v), alignment %v", self.Value, err, self.Alignment)
	}
	back, err := WoW(y, x)
	if err != nil || math.Abs(back.Value-res.Value) > 1e-9 {
		t.Errorf("WW²(Q,P) = %v, WW²(P,Q) = %v", back.Value, res.Value)
	}
}

// Unequal class sizes and weights: the class coupling is an exact transport
// plan between the weights (compared with brute force over the vertices for
// 2×2: one free parameter).
func TestWoWWeighted(t *testing.T) {
	cost := []float64{1, 4, 3, 2}
	a, b := []float64{0.7, 0.3}, []float64{0.4, 0.6}
	res, err := WoWFromCost(cost, a, b)
	if err != nil {
		t.Fatal(err)
	}
	best := math.Inf(1)
	for g := 0.1; g <= 0.4+1e-12; g += 1e-4 { // Γ_00 ∈ [max(0, a0−b1), min(a0, b0)]
		v := g*cost[0] + (0.7-g)*cost[1] + (0.4-g)*cost[2] + (g-0.1)*cost[3]
		best = math.Min(best, v)
	}
	if math.Abs(res.Value-best) > 1e-9 {
		t.Errorf("WW² = %v, brute force %v", res.Value, best)
	}
	if _, err := WoWFromCost(cost[:3], a, b); err == nil {
		t.Error("wrong cost length: no error")
	}
}

// Class weights reach the class-level transport: with unequal sizes and
// weights the value is Σ Γ_ck W_2²(μ_c, ν_k) for the plan of WoWFromCost on
// the costs of ClassCosts.
func TestWoWClassWeights(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	d := 2
	x := Classes{Points: randPoints(r, 7*d), D: d, Offsets: []int{0, 3, 7}, Weights: []float64{0.25, 0.75}}
	y := Classes{Points: randPoints(r, 9*d), D: d, Offsets: []int{0, 2, 5, 9}, Weights: []float64{0.5, 0.3, 0.2}}
	res, err := WoW(x, y)
	if err != nil {
		t.Fatal(err)
	}
	cost, err := ClassCosts(x, y)
	if err != nil {
		t.Fatal(err)
	}
	want, err := WoWFromCost(cost, x.Weights, y.Weights)
	if err != nil {
		t.Fatal(err)
	}
	if res.Value != want.Value || !slices.Equal(res.Coupling, want.Coupling) || res.C != 2 || res.K != 3 {
		t.Errorf("WoW %v %v, WoWFromCost(ClassCosts) %v %v", res.Value, res.Coupling, want.Value, want.Coupling)
	}
	for c := range 2 {
		xc, n := x.Class(c)
		for k := range 3 {
			yk, m := y.Class(k)
			w, err := W2(xc, n, yk, m, d)
			if err != nil || w != cost[c*3+k] {
				t.Errorf("cost[%d][%d] = %v, W2 = %v (%v)", c, k, cost[c*3+k], w, err)
			}
		}
	}
	// Nil weights are uniform.
	x.Weights = nil
	if got := x.ClassWeights(); !slices.Equal(got, []float64{0.5, 0.5}) {
		t.Errorf("uniform weights %v", got)
	}
}

func TestClassesErrors(t *testing.T) {
	ok := Classes{Points: []float64{0, 1, 2, 3, 4, 5}, D: 2, Offsets: []int{0, 1, 3}}
	if err := ok.Validate("x"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Classes)
		want error
	}{
		{"dimension", func(x *Classes) { x.D = 0 }, ErrEmpty},
		{"no class", func(x *Classes) { x.Offsets = []int{0} }, ErrEmpty},
		{"offset 0", func(x *Classes) { x.Offsets = []int{1, 3} }, ErrEmpty},
		{"empty class", func(x *Classes) { x.Offsets = []int{0, 0, 3} }, ErrEmpty},
		{"points", func(x *Classes) { x.Points = x.Points[:5] }, ErrShape},
		{"nan", func(x *Classes) { x.Points = []float64{0, 1, math.NaN(), 3, 4, 5} }, ErrNonFinite},
		{"weights length", func(x *Classes) { x.Weights = []float64{1} }, ErrShape},
		{"negative weight", func(x *Classes) { x.Weights = []float64{1.5, -0.5} }, ErrNegativeWeight},
		{"infinite weight", func(x *Classes) { x.Weights = []float64{math.Inf(1), 0} }, ErrNonFinite},
	} {
		x := ok
		tc.edit(&x)
		if err := x.Validate("x"); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if _, err := WoW(x, ok); !errors.Is(err, tc.want) {
			t.Errorf("%s: WoW: %v, want %v", tc.name, err, tc.want)
		}
	}
	three := Classes{Points: []float64{0, 1, 2}, D: 3, Offsets: []int{0, 1}}
	if _, err := ClassCosts(ok, three); !errors.Is(err, ErrShape) {
		t.Errorf("dimensions 2 and 3: %v", err)
	}
	// Unbalanced class weights are the solver's error.
	heavy := ok
	heavy.Weights = []float64{1, 1}
	if _, err := WoW(heavy, ok); !errors.Is(err, ErrUnbalanced) {
		t.Errorf("weights summing to 2 and 1: %v", err)
	}
}

func randPoints(r *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	return x
}

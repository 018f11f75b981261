package ot

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/wowflow/wowflow/graph"
)

func shiftedClasses(r *rand.Rand, base []float64, n, d int, shifts ...float64) *graph.Dataset {
	var classes [][]float64
	for _, s := range shifts {
		c := slices.Clone(base)
		for i := 0; i < n; i++ {
			c[i*d] += s
		}
		classes = append(classes, c)
	}
	ds, err := graph.FromClasses(d, classes...)
	if err != nil {
		panic(err)
	}
	return ds
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
	x := shiftedClasses(r, base, n, d, 0, 10, 20)
	y := shiftedClasses(r, base, n, d, 21, 1, 11) // target labels permuted, each 1 away
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

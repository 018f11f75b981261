package ot

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestW21DSorted: in one dimension with n = m the monotone (sorted)
// matching is optimal, W_2² = (1/n) Σ_i (x_(i) − y_(i))².
func TestW21DSorted(t *testing.T) {
	for _, n := range []int{1, 2, 5, 50, 300} {
		for seed := range uint64(5) {
			r := rand.New(rand.NewPCG(seed, uint64(n)))
			x, y := cloud(r, n, 1), cloud(r, n, 1)
			for i := range y {
				y[i] = 3*y[i] + 1 // different scale and location
			}
			got, err := W2(x, n, y, n, 1)
			if err != nil {
				t.Fatal(err)
			}
			xs, ys := slices.Clone(x), slices.Clone(y)
			slices.Sort(xs)
			slices.Sort(ys)
			var want float64
			for i := range xs {
				want += (xs[i] - ys[i]) * (xs[i] - ys[i])
			}
			want /= float64(n)
			// 1e-12: the Gram expansion in SqEuclidean rounds each cost at
			// ~1e-16 of |x|²+|y|² = O(10); summed over n terms.
			if !relClose(got, want, 1e-12) {
				t.Fatalf("n=%d seed %d: W2 %v, sorted %v", n, seed, got, want)
			}
		}
	}
}

// TestW2Shift: for y_i = x_i + s, Σ_i |x_i − y_σ(i)|² = Σ_i |x_i − x_σ(i)|² +
// n|s|² (the cross terms sum to zero over any permutation), so the
// identity is optimal and W_2² = |s|² exactly.
func TestW2Shift(t *testing.T) {
	const n, d = 400, 2
	shift := []float64{1.5, -0.75}
	want := 1.5*1.5 + 0.75*0.75
	for seed := range uint64(3) {
		r := rand.New(rand.NewPCG(seed, 5))
		x := cloud(r, n, d)
		y := slices.Clone(x)
		for i := range n {
			y[i*d] += shift[0]
			y[i*d+1] += shift[1]
		}
		got, err := W2(x, n, y, n, d)
		if err != nil {
			t.Fatal(err)
		}
		// Costs carry Gram-expansion rounding ~1e-16·(|x|²+|y|²) ≈ 1e-15.
		if !relClose(got, want, 1e-12) {
			t.Fatalf("seed %d: W2 %v, want |s|² = %v", seed, got, want)
		}
	}
}

// TestW2Gaussian: for independent samples of N(m1, I) and N(m2, I) in
// d = 2, W_2² splits exactly into the squared distance between the sample
// means plus W_2² between the centred samples (for any coupling of
// centred marginals the cross term vanishes). The first part is
// |m1−m2|² + O(1/√n); the second tends to 0 like log(n)/n in d = 2
// (Ajtai, Komlós, Tusnády 1984); for n = 400 standard samples it is
// 0.072 ± 0.011 (mean ± sd over 100 seeds, max 0.115, measured with this
// package), so 0.2 is ~11 sd out.
func TestW2Gaussian(t *testing.T) {
	const n, d = 400, 2
	m1, m2 := []float64{0, 0}, []float64{3, 4} // |m1−m2|² = 25
	for seed := range uint64(3) {
		r := rand.New(rand.NewPCG(seed, 17))
		x, y := cloud(r, n, d), cloud(r, n, d)
		for i := range n {
			for k := range d {
				x[i*d+k] += m1[k]
				y[i*d+k] += m2[k]
			}
		}
		got, err := W2(x, n, y, n, d)
		if err != nil {
			t.Fatal(err)
		}
		xc, mx := centre(x, n, d)
		yc, my := centre(y, n, d)
		w0, err := W2(xc, n, yc, n, d)
		if err != nil {
			t.Fatal(err)
		}
		var dm float64
		for k := range d {
			dm += (mx[k] - my[k]) * (mx[k] - my[k])
		}
		if !relClose(got, dm+w0, 1e-12) {
			t.Fatalf("seed %d: W2 %v ≠ |Δmean|² %v + centred W2 %v", seed, got, dm, w0)
		}
		// Sample means have standard deviation 1/√400 = 0.05 per
		// coordinate, so |Δmean|² = 25 ± 2·5·0.07·(a few): within 2.
		if w0 > 0.2 || math.Abs(dm-25) > 2 {
			t.Fatalf("seed %d: centred W2 %v, |Δmean|² %v: far from the limit 0 + 25", seed, w0, dm)
		}
	}
}

func centre(x []float64, n, d int) ([]float64, []float64) {
	mean := make([]float64, d)
	for i := range n {
		for k := range d {
			mean[k] += x[i*d+k] / float64(n)
		}
	}
	out := slices.Clone(x)
	for i := range n {
		for k := range d {
			out[i*d+k] -= mean[k]
		}
	}
	return out, mean
}

// TestW2Metric checks symmetry, W2(x, x) = 0 and invariance to the order of
// the points, for equal and unequal sizes.
func TestW2Metric(t *testing.T) {
	for _, sz := range [][3]int{{1, 1, 3}, {10, 10, 2}, {60, 60, 5}, {7, 3, 2}, {40, 64, 10}, {1, 9, 4}} {
		n, m, d := sz[0], sz[1], sz[2]
		t.Run(fmt.Sprintf("n=%d,m=%d,d=%d", n, m, d), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(n), uint64(m)))
			x, y := cloud(r, n, d), cloud(r, m, d)
			xy, err := W2(x, n, y, m, d)
			if err != nil {
				t.Fatal(err)
			}
			yx, err := W2(y, m, x, n, d)
			if err != nil {
				t.Fatal(err)
			}
			// 1e-12: the two problems are transposes, solved along
			// different pivot paths; rounding of O(n+m) terms of size O(d).
			if !relClose(xy, yx, 1e-12) {
				t.Fatalf("W2(x,y) = %v, W2(y,x) = %v", xy, yx)
			}
			xx, err := W2(x, n, x, n, d)
			if err != nil {
				t.Fatal(err)
			}
			// Diagonal costs are |x|²+|x|²−2x·x, zero up to ~1e-15·|x|².
			if xx < 0 || xx > 1e-12*float64(d) {
				t.Fatalf("W2(x,x) = %v", xx)
			}
			px, py := permuteRows(r, x, n, d), permuteRows(r, y, m, d)
			pxy, err := W2(px, n, py, m, d)
			if err != nil {
				t.Fatal(err)
			}
			if !relClose(pxy, xy, 1e-12) {
				t.Fatalf("W2 after permuting points %v, before %v", pxy, xy)
			}
		})
	}
}

func permuteRows(r *rand.Rand, x []float64, n, d int) []float64 {
	out := make([]float64, 0, len(x))
	for _, i := range r.Perm(n) {
		out = append(out, x[i*d:(i+1)*d]...)
	}
	return out
}

// TestW2Degenerate: duplicated points, ties and single points.
func TestW2Degenerate(t *testing.T) {
	for _, tc := range []struct {
		name string
		x    []float64
		n    int
		y    []float64
		m    int
		d    int
		want float64
	}{
		{"single points", []float64{1, 2}, 1, []float64{4, 6}, 1, 2, 25},
		// m = 1: every x_i goes to y: mean of |x_i − y|² = (1+0+1)/3.
		{"one target", []float64{-1, 0, 1}, 3, []float64{0}, 1, 1, 2.0 / 3},
		{"one source", []float64{0}, 1, []float64{-1, 0, 1, 2}, 4, 1, 6.0 / 4},
		{"all duplicates", []float64{2, 2, 2, 2}, 2, []float64{2, 2, 2, 2, 2, 2}, 3, 2, 0},
		// Two copies of {0, 1} against {0, 1}: zero cost.
		{"duplicated cloud", []float64{0, 1, 0, 1}, 4, []float64{1, 0}, 2, 1, 0},
		// Equidistant targets (ties): any matching costs 1 per point.
		{"ties", []float64{0, 0, 0, 0}, 2, []float64{1, 0, -1, 0, 0, 1, 0, -1}, 4, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := W2(tc.x, tc.n, tc.y, tc.m, tc.d)
			if err != nil {
				t.Fatal(err)
			}
			// Exact small-integer data: only the Gram expansion rounds.
			if math.Abs(got-tc.want) > 1e-14 {
				t.Fatalf("W2 %v, want %v", got, tc.want)
			}
		})
	}
}

func TestW2Errors(t *testing.T) {
	x := []float64{1, 2, 3, 4}
	for _, tc := range []struct {
		name    string
		x       []float64
		n       int
		y       []float64
		m, d    int
		wantErr error
	}{
		{"n=0", nil, 0, x, 2, 2, ErrEmpty},
		{"m=0", x, 2, nil, 0, 2, ErrEmpty},
		{"d=0", x, 2, x, 2, 0, ErrEmpty},
		{"x short", x[:3], 2, x, 2, 2, ErrShape},
		{"y long", x, 2, append(x, 5), 2, 2, ErrShape},
		{"NaN", []float64{1, math.NaN(), 3, 4}, 2, x, 2, 2, ErrNonFinite},
		{"Inf", x, 2, []float64{1, 2, 3, math.Inf(1)}, 2, 2, ErrNonFinite},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := W2(tc.x, tc.n, tc.y, tc.m, tc.d); !errors.Is(err, tc.wantErr) {
				t.Fatalf("W2: got %v, want %v", err, tc.wantErr)
			}
			if c, err := SqEuclidean(tc.x, tc.n, tc.y, tc.m, tc.d); !errors.Is(err, tc.wantErr) || c != nil {
				t.Fatalf("SqEuclidean: got %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// TestSqEuclidean compares with the direct sum of squared differences.
func TestSqEuclidean(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	n, m, d := 7, 5, 13
	x, y := cloud(r, n, d), cloud(r, m, d)
	c, err := SqEuclidean(x, n, y, m, d)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		for j := range m {
			var want float64
			for k := range d {
				want += (x[i*d+k] - y[j*d+k]) * (x[i*d+k] - y[j*d+k])
			}
			// Norms are O(d) = 13: expansion rounding ~1e-14 absolute.
			if math.Abs(c[i*m+j]-want) > 1e-12 {
				t.Fatalf("C[%d,%d] = %v, want %v", i, j, c[i*m+j], want)
			}
		}
	}
	// Identical points: clamped at zero, never negative.
	z, _ := SqEuclidean(x, n, x, n, d)
	for k, v := range z {
		if v < 0 {
			t.Fatalf("C[%d] = %v < 0", k, v)
		}
	}
}

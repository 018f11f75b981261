package ot

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// weightKinds generate random weight vectors with sum one.
var weightKinds = []struct {
	name string
	gen  func(r *rand.Rand, n int) []float64
}{
	{"uniform", func(_ *rand.Rand, n int) []float64 { return uniform(n) }},
	{"random", func(r *rand.Rand, n int) []float64 {
		return normalise(func() float64 { return r.Float64() }, n)
	}},
	// Small integers make exact ties between partial sums: degenerate
	// bases, the case anti-cycling is for. Zeros exercise the pruning.
	{"int0-3", func(r *rand.Rand, n int) []float64 {
		w := normalise(func() float64 { return float64(r.IntN(4)) }, n)
		if w == nil {
			w = uniform(n)
		}
		return w
	}},
}

func normalise(f func() float64, n int) []float64 {
	w := make([]float64, n)
	var s float64
	for i := range w {
		w[i] = f()
		s += w[i]
	}
	if s == 0 {
		return nil
	}
	for i := range w {
		w[i] /= s
	}
	return w
}

func TestEMDBruteForceUniform(t *testing.T) {
	// With uniform weights and n = m, some optimal plan is a permutation
	// matrix / n (Birkhoff–von Neumann): EMD·n equals the assignment optimum.
	for _, kind := range costKinds {
		for n := 1; n <= 7; n++ {
			t.Run(fmt.Sprintf("%s/n=%d", kind.name, n), func(t *testing.T) {
				for seed := range uint64(60) {
					r := rand.New(rand.NewPCG(seed, uint64(100+n)))
					c := kind.gen(r, n, n)
					_, total, err := EMD(uniform(n), uniform(n), c)
					if err != nil {
						t.Fatalf("seed %d: %v", seed, err)
					}
					// 1e-12: a few ulps of sums of ≤ 49 terms of size ≤ ~40.
					if want := bruteAssignment(c, n) / float64(n); !relClose(total, want, 1e-12) {
						t.Fatalf("seed %d: EMD %v, brute force %v", seed, total, want)
					}
				}
			})
		}
	}
}

// TestEMDCertificate proves optimality of the returned plans for random
// weights (including zeros and degenerate ties) and costs by LP duality.
func TestEMDCertificate(t *testing.T) {
	sizes := [][2]int{{1, 1}, {1, 5}, {5, 1}, {2, 3}, {4, 4}, {7, 3}, {3, 8}, {8, 8}, {30, 17}, {64, 100}}
	if !testing.Short() {
		sizes = append(sizes, [2]int{300, 200})
	}
	for _, sz := range sizes {
		n, m := sz[0], sz[1]
		for _, ck := range costKinds {
			for _, wk := range weightKinds {
				t.Run(fmt.Sprintf("%dx%d/%s/%s", n, m, ck.name, wk.name), func(t *testing.T) {
					seeds := uint64(40)
					if n*m > 1000 {
						seeds = 3
					}
					for seed := range seeds {
						r := rand.New(rand.NewPCG(seed, uint64(n*1000+m)))
						a, b := wk.gen(r, n), wk.gen(r, m)
						c := ck.gen(r, n, m)
						res, err := emd(a, b, c, 0)
						if err != nil {
							t.Fatalf("seed %d: %v", seed, err)
						}
						if res.entries != len(positive(a))+len(positive(b))-1 {
							t.Fatalf("seed %d: %d basic entries, want a spanning tree", seed, res.entries)
						}
						// 1e-12 relative to max|C| and total mass one: far
						// above the ~1e-15 rounding of these small problems,
						// far below the smallest non-trivial cost change.
						certify(t, a, b, c, res.plan, res.u, res.v, res.total, 1e-12)
					}
				})
			}
		}
	}
}

// TestEMDReplicated: when m = k·n, the uniform measure on x equals the
// uniform measure on x with each point replicated k times, so EMD between
// n and m points equals the assignment between the m replicated points and
// y, divided by m.
func TestEMDReplicated(t *testing.T) {
	for _, tc := range []struct{ n, k, d int }{{1, 5, 2}, {3, 2, 1}, {5, 3, 2}, {20, 4, 3}, {50, 2, 10}} {
		t.Run(fmt.Sprintf("n=%d,k=%d,d=%d", tc.n, tc.k, tc.d), func(t *testing.T) {
			for seed := range uint64(10) {
				r := rand.New(rand.NewPCG(seed, 11))
				n, m, d := tc.n, tc.n*tc.k, tc.d
				x, y := cloud(r, n, d), cloud(r, m, d)
				xr := make([]float64, 0, m*d)
				for i := range n {
					for range tc.k {
						xr = append(xr, x[i*d:(i+1)*d]...)
					}
				}
				c, err := SqEuclidean(x, n, y, m, d)
				if err != nil {
					t.Fatal(err)
				}
				_, got, err := EMD(uniform(n), uniform(m), c)
				if err != nil {
					t.Fatal(err)
				}
				cr, _ := SqEuclidean(xr, m, y, m, d)
				_, want, err := Assignment(cr, m)
				if err != nil {
					t.Fatal(err)
				}
				// 1e-12: rounding of sums of O(m) terms of size O(d).
				if want /= float64(m); !relClose(got, want, 1e-12) {
					t.Fatalf("seed %d: EMD %v, replicated assignment %v", seed, got, want)
				}
			}
		})
	}
}

// TestEMD1D compares with the closed form in one dimension, for unequal
// sizes: W_2² = ∫_0^1 |F⁻¹(t) − G⁻¹(t)|² dt, integrated exactly over the
// merged breakpoints i/n and j/m of the two quantile functions.
func TestEMD1D(t *testing.T) {
	for _, sz := range [][2]int{{1, 4}, {3, 2}, {7, 5}, {40, 25}, {100, 150}} {
		n, m := sz[0], sz[1]
		for seed := range uint64(10) {
			r := rand.New(rand.NewPCG(seed, 3))
			x, y := cloud(r, n, 1), cloud(r, m, 1)
			got, err := W2(x, n, y, m, 1)
			if err != nil {
				t.Fatal(err)
			}
			// 1e-12: W_2² is O(1) here, a few ulps per term summed.
			if want := quantileW2(x, y); !relClose(got, want, 1e-12) {
				t.Fatalf("%dx%d seed %d: W2 %v, quantile formula %v", n, m, seed, got, want)
			}
		}
	}
}

// quantileW2 returns W_2² between uniform measures on the reals x and y.
func quantileW2(x, y []float64) float64 {
	xs, ys := slices.Clone(x), slices.Clone(y)
	slices.Sort(xs)
	slices.Sort(ys)
	n, m := len(xs), len(ys)
	var w, t float64
	i, j := 0, 0
	for i < n && j < m {
		// Next breakpoint: (i+1)/n or (j+1)/m, compared exactly as
		// (i+1)·m vs (j+1)·n.
		next := math.Min(float64(i+1)/float64(n), float64(j+1)/float64(m))
		d := xs[i] - ys[j]
		w += (next - t) * d * d
		t = next
		switch a, b := (i+1)*m, (j+1)*n; {
		case a < b:
			i++
		case b < a:
			j++
		default:
			i++
			j++
		}
	}
	return w
}

func TestEMDDegenerate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		a, b, c []float64
		want    float64
	}{
		{"1x1", []float64{2}, []float64{2}, []float64{3}, 6},
		{"1x3", []float64{1}, []float64{0.5, 0.25, 0.25}, []float64{1, 2, 4}, 0.5 + 0.5 + 1},
		{"3x1", []float64{0.5, 0.25, 0.25}, []float64{1}, []float64{1, 2, 4}, 0.5 + 0.5 + 1},
		{"all equal costs", uniform(3), uniform(4), []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 1},
		{"zero weights", []float64{0, 1, 0}, []float64{0, 0, 1}, []float64{5, 5, 5, 5, 5, 2, 5, 5, 5}, 2},
		// Identity costs: diagonal free, the mass 0.5 that must move costs 1
		// per unit.
		{"mismatch", []float64{1, 0}, []float64{0.5, 0.5}, []float64{0, 1, 1, 0}, 0.5},
		// Unnormalised mass 3 moved at unit cost.
		{"mass 3", []float64{3}, []float64{1, 2}, []float64{1, 1}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := emd(tc.a, tc.b, tc.c, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !relClose(res.total, tc.want, 1e-14) {
				t.Fatalf("total %v, want %v", res.total, tc.want)
			}
			certify(t, tc.a, tc.b, tc.c, res.plan, res.u, res.v, res.total, 1e-14)
		})
	}
}

func TestEMDErrors(t *testing.T) {
	u2 := []float64{0.5, 0.5}
	c4 := []float64{1, 2, 3, 4}
	for _, tc := range []struct {
		name    string
		a, b, c []float64
		want    error
	}{
		{"empty a", nil, u2, nil, ErrEmpty},
		{"empty b", u2, nil, nil, ErrEmpty},
		{"short cost", u2, u2, c4[:3], ErrShape},
		{"NaN cost", u2, u2, []float64{1, math.NaN(), 3, 4}, ErrNonFinite},
		{"Inf cost", u2, u2, []float64{1, 2, math.Inf(-1), 4}, ErrNonFinite},
		{"NaN weight", []float64{math.NaN(), 1}, u2, c4, ErrNonFinite},
		{"Inf weight", u2, []float64{math.Inf(1), 1}, c4, ErrNonFinite},
		{"negative weight", []float64{1.5, -0.5}, u2, c4, ErrNegativeWeight},
		{"unequal sums", []float64{0.5, 0.6}, u2, c4, ErrUnbalanced},
		{"zero mass", []float64{0, 0}, []float64{0, 0}, c4, ErrUnbalanced},
		{"sum overflow", []float64{1e308, 1e308}, []float64{1e308, 1e308}, c4, ErrNonFinite},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, _, err := EMD(tc.a, tc.b, tc.c)
			if !errors.Is(err, tc.want) || plan != nil {
				t.Fatalf("got error %v, want %v", err, tc.want)
			}
		})
	}
	// Within BalanceTol the sums are accepted.
	if _, _, err := EMD([]float64{0.5, 0.5 + 1e-12}, u2, c4); err != nil {
		t.Fatalf("imbalance 1e-12: %v", err)
	}
}

// TestEMDPivotCap checks the iteration cap is reported as an error.
func TestEMDPivotCap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n, m := 20, 30
	c := costKinds[0].gen(r, n, m)
	res, err := emd(uniform(n), uniform(m), c, 0)
	if err != nil || res.pivots < 2 {
		t.Fatalf("reference run: %v (%d pivots)", err, res.pivots)
	}
	if _, err := emd(uniform(n), uniform(m), c, res.pivots-1); !errors.Is(err, ErrNotConverged) {
		t.Fatalf("capped at %d pivots of %d: got %v, want ErrNotConverged", res.pivots-1, res.pivots, err)
	}
}

// TestEMDMagnitudes runs random costs and weights spanning many orders of
// magnitude, near overflow and underflow, and checks that each run returns
// promptly with a certified optimal plan.
func TestEMDMagnitudes(t *testing.T) {
	for _, scale := range []float64{1e-300, 1e-100, 1, 1e100, 1e300} {
		for seed := range uint64(20) {
			r := rand.New(rand.NewPCG(seed, 9))
			n, m := 1+r.IntN(12), 1+r.IntN(12)
			c := make([]float64, n*m)
			for k := range c {
				c[k] = math.Copysign(scale*math.Pow(10, -8+8*r.Float64()), r.Float64()-0.5)
			}
			a := normalise(func() float64 { return math.Pow(10, -6*r.Float64()) }, n)
			b := normalise(func() float64 { return math.Pow(10, -6*r.Float64()) }, m)
			start := time.Now()
			res, err := emd(a, b, c, 0)
			if err != nil {
				t.Fatalf("scale %g seed %d: %v", scale, seed, err)
			}
			// A 12×12 problem takes microseconds; a second means a loop.
			if el := time.Since(start); el > time.Second {
				t.Fatalf("scale %g seed %d: took %v", scale, seed, el)
			}
			// Weights spread over 6 decades: the 1e-6-relative flows must
			// still be exact, so tolerate 1e-11 relative.
			certify(t, a, b, c, res.plan, res.u, res.v, res.total, 1e-11)
		}
	}
}

// FuzzEMD decodes small transport and assignment problems from bytes
// (sizes from the first two, then weights and costs as float64 bits, so
// any magnitude, zero, subnormal, NaN or Inf can occur) and checks that
// the solvers either reject the input or return a certified optimum.
// `go test` runs the seeds; `go test -fuzz FuzzEMD` explores further.
func FuzzEMD(f *testing.F) {
	f.Add([]byte{2, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Add([]byte{1, 1, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{4, 4, 0x7f, 0xe0, 0, 0, 0, 0, 0, 1, 0x00, 0x01, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		n, m := 1+int(data[0]%8), 1+int(data[1]%8)
		data = data[2:]
		next := func() float64 {
			var x uint64
			for k := range 8 {
				if len(data) > 0 {
					x |= uint64(data[0]) << (8 * k)
					data = data[1:]
				}
			}
			v := math.Float64frombits(x)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return v
			}
			return math.Abs(v)
		}
		a, b, c := make([]float64, n), make([]float64, m), make([]float64, n*m)
		for i := range a {
			a[i] = next()
		}
		for j := range b {
			b[j] = next()
		}
		for k := range c {
			c[k] = next()
			if k%2 == 1 {
				c[k] = -c[k]
			}
		}
		// Make the masses balance exactly: b := b·(Σa/Σb) is not exact, so
		// use a's weights for both sides' totals through normalisation.
		a = normalise(func() float64 { v := a[0]; a = a[1:]; return v }, n)
		b = normalise(func() float64 { v := b[0]; b = b[1:]; return v }, m)
		if a == nil || b == nil || math.IsNaN(a[0]) || math.IsNaN(b[0]) {
			return // zero, infinite or NaN total: covered by TestEMDErrors
		}
		res, err := emd(a, b, c, 0)
		if err != nil {
			if errors.Is(err, ErrNotConverged) {
				t.Fatal(err)
			}
			return // rejected input
		}
		if maxAbs(c) > 0x1p1000 {
			// Potentials may exceed the float range: certify the same
			// problem scaled by 2⁻⁶⁴ (an exact scaling, the same plan is
			// optimal) and check the unscaled total against it.
			cs := make([]float64, len(c))
			for k, x := range c {
				cs[k] = math.Ldexp(x, -64)
			}
			rs, err := emd(a, b, cs, 0)
			if err != nil {
				t.Fatal(err)
			}
			certify(t, a, b, cs, rs.plan, rs.u, rs.v, rs.total, 1e-9)
			if math.Abs(math.Ldexp(rs.total, 64)-res.total) > 1e-9*maxAbs(c) {
				t.Fatalf("total %v, scaled problem's total ×2⁶⁴ %v", res.total, math.Ldexp(rs.total, 64))
			}
			return
		}
		certify(t, a, b, c, res.plan, res.u, res.v, res.total, 1e-9)
		if n == m {
			x, u, v, err := assignment(c, n)
			if err != nil {
				t.Fatal(err)
			}
			plan := make([]float64, n*n)
			var total float64
			for i, j := range x {
				plan[i*n+j] = 1
				total += c[i*n+j]
			}
			one := make([]float64, n)
			for i := range one {
				one[i] = 1
			}
			certify(t, one, one, c, plan, u, v, total, 1e-9)
		}
	})
}

package ot

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestAssignmentBruteForce(t *testing.T) {
	for _, kind := range costKinds {
		for n := 1; n <= 7; n++ {
			t.Run(fmt.Sprintf("%s/n=%d", kind.name, n), func(t *testing.T) {
				for seed := range uint64(60) {
					r := rand.New(rand.NewPCG(seed, uint64(n)))
					c := kind.gen(r, n, n)
					perm, total, err := Assignment(c, n)
					if err != nil {
						t.Fatalf("seed %d: %v", seed, err)
					}
					if !isPerm(perm, n) {
						t.Fatalf("seed %d: %v is not a permutation", seed, perm)
					}
					var s float64
					for i, j := range perm {
						s += c[i*n+j]
					}
					// Sums of ≤ 7 terms of size ≤ ~40: 1e-12 is many ulps.
					if want := bruteAssignment(c, n); !relClose(total, want, 1e-12) || !relClose(s, total, 1e-12) {
						t.Fatalf("seed %d: total %v (perm sums to %v), brute force %v", seed, total, s, want)
					}
				}
			})
		}
	}
}

// TestAssignmentCertificate checks larger problems, beyond brute force,
// with the LP dual certificate: u_i + v_j ≤ c_ij everywhere and equality
// on the assignment prove optimality.
func TestAssignmentCertificate(t *testing.T) {
	for _, kind := range costKinds {
		for _, n := range []int{8, 31, 100, 257} {
			t.Run(fmt.Sprintf("%s/n=%d", kind.name, n), func(t *testing.T) {
				for seed := range uint64(5) {
					r := rand.New(rand.NewPCG(seed, uint64(n)))
					c := kind.gen(r, n, n)
					x, u, v, err := assignment(c, n)
					if err != nil {
						t.Fatal(err)
					}
					if !isPerm(x, n) {
						t.Fatalf("not a permutation: %v", x)
					}
					plan := make([]float64, n*n)
					var total float64
					for i, j := range x {
						plan[i*n+j] = 1
						total += c[i*n+j]
					}
					w := make([]float64, n)
					for i := range w {
						w[i] = 1
					}
					certify(t, w, w, c, plan, u, v, total, 1e-12)
				}
			})
		}
	}
}

func TestAssignmentDegenerate(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    []float64
		n    int
		want float64
	}{
		{"n=1", []float64{-2.5}, 1, -2.5},
		{"all equal", []float64{3, 3, 3, 3, 3, 3, 3, 3, 3}, 3, 9},
		{"all zero", make([]float64, 25), 5, 0},
		{"duplicate rows", []float64{1, 2, 3, 1, 2, 3, 1, 2, 3}, 3, 6},
		{"duplicate columns", []float64{1, 1, 1, 2, 2, 2, 3, 3, 3}, 3, 6},
		// Anti-identity is the only zero-cost permutation.
		{"anti-diagonal", []float64{1, 1, 0, 1, 0, 1, 0, 1, 1}, 3, 0},
		{"tiny", []float64{1e-300, 2e-300, 2e-300, 1e-300}, 2, 2e-300},
		{"huge", []float64{1e300, -1e300, -1e300, 1e300}, 2, -2e300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			perm, total, err := Assignment(tc.c, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if !isPerm(perm, tc.n) || total != tc.want {
				t.Fatalf("got %v, total %v; want total %v", perm, total, tc.want)
			}
		})
	}
}

// TestAssignmentMagnitudes runs random costs spanning many orders of
// magnitude, including values near the overflow and underflow limits, and
// checks it returns the brute-force optimum (so it neither loops nor
// overflows its potentials).
func TestAssignmentMagnitudes(t *testing.T) {
	for _, scale := range []float64{1e-300, 1e-150, 1, 1e150, 1e300} {
		for seed := range uint64(30) {
			r := rand.New(rand.NewPCG(seed, 7))
			n := 2 + r.IntN(5)
			c := make([]float64, n*n)
			for k := range c {
				// Log-uniform over 12 decades, random sign, capped so
				// sums of n terms stay finite.
				c[k] = math.Copysign(scale*math.Pow(10, -6+6*r.Float64()), r.Float64()-0.5)
			}
			_, total, err := Assignment(c, n)
			if err != nil {
				t.Fatalf("scale %g seed %d: %v", scale, seed, err)
			}
			// The optimum and the brute force sum the same terms in row
			// order; 1e-12 relative allows different orders of summation.
			want := bruteAssignment(c, n)
			if math.Abs(total-want) > 1e-12*scale {
				t.Fatalf("scale %g seed %d: total %v, brute force %v", scale, seed, total, want)
			}
		}
	}
}

func TestAssignmentErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    []float64
		n    int
		want error
	}{
		{"n=0", nil, 0, ErrEmpty},
		{"negative n", nil, -1, ErrEmpty},
		{"short", []float64{1, 2, 3}, 2, ErrShape},
		{"long", []float64{1, 2, 3, 4, 5}, 2, ErrShape},
		{"NaN", []float64{1, math.NaN(), 3, 4}, 2, ErrNonFinite},
		{"+Inf", []float64{1, 2, math.Inf(1), 4}, 2, ErrNonFinite},
		{"-Inf n=1", []float64{math.Inf(-1)}, 1, ErrNonFinite},
	} {
		t.Run(tc.name, func(t *testing.T) {
			perm, _, err := Assignment(tc.c, tc.n)
			if !errors.Is(err, tc.want) || perm != nil {
				t.Fatalf("got %v, %v; want error %v", perm, err, tc.want)
			}
		})
	}
}

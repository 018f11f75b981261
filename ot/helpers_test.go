package ot

import (
	"math"
	"math/rand/v2"
	"testing"
)

// costKinds generate random n×m cost matrices of different characters:
// continuous (ties have probability zero), small integers (many ties and
// degenerate vertices) and signed.
var costKinds = []struct {
	name string
	gen  func(r *rand.Rand, n, m int) []float64
}{
	{"uniform", func(r *rand.Rand, n, m int) []float64 {
		c := make([]float64, n*m)
		for k := range c {
			c[k] = r.Float64()
		}
		return c
	}},
	{"int0-3", func(r *rand.Rand, n, m int) []float64 {
		c := make([]float64, n*m)
		for k := range c {
			c[k] = float64(r.IntN(4))
		}
		return c
	}},
	{"signed", func(r *rand.Rand, n, m int) []float64 {
		c := make([]float64, n*m)
		for k := range c {
			c[k] = 10 * r.NormFloat64()
		}
		return c
	}},
}

// bruteAssignment returns min_σ Σ_i c[i*n+σ(i)] over all n! permutations
// (Heap's algorithm).
func bruteAssignment(c []float64, n int) float64 {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	eval := func() float64 {
		var s float64
		for i, j := range p {
			s += c[i*n+j]
		}
		return s
	}
	best := eval()
	st := make([]int, n)
	for i := 0; i < n; {
		if st[i] < i {
			if i%2 == 0 {
				p[0], p[i] = p[i], p[0]
			} else {
				p[st[i]], p[i] = p[i], p[st[i]]
			}
			best = min(best, eval())
			st[i]++
			i = 0
		} else {
			st[i] = 0
			i++
		}
	}
	return best
}

// isPerm reports whether p is a permutation of 0..n-1.
func isPerm(p []int, n int) bool {
	if len(p) != n {
		return false
	}
	seen := make([]bool, n)
	for _, j := range p {
		if j < 0 || j >= n || seen[j] {
			return false
		}
		seen[j] = true
	}
	return true
}

// certify checks that plan is optimal for min Σ Γ_ij C_ij s.t. Γ1 = a,
// Γᵀ1 = b, Γ ≥ 0, by LP duality, independently of how plan, u and v were
// found: primal feasibility, dual feasibility u_i + v_j ≤ C_ij, and
// complementary slackness u_i + v_j = C_ij wherever Γ_ij > 0. Together
// these prove optimality (and imply Σ Γ C = Σ a u + Σ b v, also checked).
// tol is relative to the largest cost and the total mass.
func certify(t *testing.T, a, b, c, plan, u, v []float64, total, tol float64) {
	t.Helper()
	n, m := len(a), len(b)
	var mass, cmax float64
	for _, w := range a {
		mass += w
	}
	for _, x := range c {
		cmax = max(cmax, math.Abs(x))
	}
	cmax = max(cmax, math.SmallestNonzeroFloat64)
	colSum := make([]float64, m)
	var primal float64
	for i := range n {
		var r float64
		for j := range m {
			f := plan[i*m+j]
			if f < 0 {
				t.Fatalf("plan[%d,%d] = %v < 0", i, j, f)
			}
			r += f
			colSum[j] += f
			primal += f * c[i*m+j]
			rc := c[i*m+j] - u[i] - v[j]
			if rc < -tol*cmax {
				t.Fatalf("dual infeasible at (%d,%d): reduced cost %v", i, j, rc)
			}
			if f > tol*mass && math.Abs(rc) > tol*cmax {
				t.Fatalf("complementary slackness fails at (%d,%d): flow %v, reduced cost %v", i, j, f, rc)
			}
		}
		if math.Abs(r-a[i]) > tol*mass {
			t.Fatalf("row %d sums to %v, want %v", i, r, a[i])
		}
	}
	for j := range m {
		if math.Abs(colSum[j]-b[j]) > tol*mass {
			t.Fatalf("column %d sums to %v, want %v", j, colSum[j], b[j])
		}
	}
	var dual float64
	for i := range n {
		dual += a[i] * u[i]
	}
	for j := range m {
		dual += b[j] * v[j]
	}
	// Products with subnormal costs round to multiples of the smallest
	// subnormal, an absolute error no relative tolerance covers.
	scale := cmax * mass
	floor := float64(4*n*m) * math.SmallestNonzeroFloat64
	if math.Abs(primal-total) > tol*scale+floor {
		t.Fatalf("reported total %v, plan costs %v", total, primal)
	}
	if math.Abs(primal-dual) > tol*scale*float64(n+m)+floor {
		t.Fatalf("duality gap: primal %v, dual %v", primal, dual)
	}
}

// cloud returns n points in dimension d, i.i.d. N(0, I), row-major.
func cloud(r *rand.Rand, n, d int) []float64 {
	x := make([]float64, n*d)
	for k := range x {
		x[k] = r.NormFloat64()
	}
	return x
}

// relClose reports |got−want| ≤ tol·max(1, |want|).
func relClose(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*max(1, math.Abs(want))
}

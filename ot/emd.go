package ot

import (
	"fmt"
	"math"
)

// EMD solves the exact (unregularised) discrete optimal transport problem
//
//	min_Γ Σ_ij Γ_ij C_ij   s.t.  Γ 1 = a,  Γᵀ 1 = b,  Γ ≥ 0,
//
// between source weights a (length n) and target weights b (length m),
// with the n×m cost matrix C given row-major in cost. The weights must be
// finite and non-negative, with equal positive sums up to BalanceTol
// relative; they need not sum to one. It returns the optimal plan Γ
// (row-major n×m, at most n+m−1 non-zero entries) and its cost
// Σ Γ_ij C_ij, with a network simplex (see the package documentation).
//
// When the default pivot limit (DefaultMaxPivots) is reached, EMD returns
// an error wrapping ErrNotConverged, never a plan that may be suboptimal.
func EMD(a, b, cost []float64) (plan []float64, total float64, err error) {
	r, err := emd(a, b, cost, 0)
	if err != nil {
		return nil, 0, err
	}
	return r.plan, r.total, nil
}

// DefaultMaxPivots returns the pivot limit used by EMD for an n×m problem:
// 10⁵ + 100·n·m. Network simplex on transport problems typically needs a
// small multiple of n+m pivots (about 12(n+m) ≈ 10⁴ for 500×300 uniform
// weights in the benchmarks), so the limit only stops pathological runs.
func DefaultMaxPivots(n, m int) int {
	return 100_000 + 100*n*m
}

// emdResult is the solution of emd with its dual certificate.
type emdResult struct {
	plan    []float64
	total   float64
	u, v    []float64 // u_i + v_j ≤ C_ij, with equality where plan_ij > 0; may overflow for |C| near MaxFloat64
	pivots  int
	entries int // number of basic (tree) arcs
}

// emd validates the problem and runs the network simplex with at most
// maxPivots pivots (DefaultMaxPivots when maxPivots ≤ 0).
func emd(a, b, cost []float64, maxPivots int) (*emdResult, error) {
	n, m := len(a), len(b)
	if n == 0 || m == 0 {
		return nil, fmt.Errorf("ot: transport between %d and %d points: %w", n, m, ErrEmpty)
	}
	if len(cost) != n*m {
		return nil, fmt.Errorf("ot: cost has %d entries, want len(a)*len(b)=%d*%d: %w", len(cost), n, m, ErrShape)
	}
	if err := checkWeights("a", a); err != nil {
		return nil, err
	}
	if err := checkWeights("b", b); err != nil {
		return nil, err
	}
	if err := checkFinite("cost", cost); err != nil {
		return nil, err
	}
	var sa, sb float64
	for _, w := range a {
		sa += w
	}
	for _, w := range b {
		sb += w
	}
	if math.IsInf(sa, 0) || math.IsInf(sb, 0) {
		return nil, fmt.Errorf("ot: weight sums %v, %v overflow: %w", sa, sb, ErrNonFinite)
	}
	if sa == 0 || sb == 0 || math.Abs(sa-sb) > BalanceTol*max(sa, sb) {
		return nil, fmt.Errorf("ot: weight sums Σa=%v, Σb=%v: %w", sa, sb, ErrUnbalanced)
	}
	if maxPivots <= 0 {
		maxPivots = DefaultMaxPivots(n, m)
	}

	// Drop zero weights: their rows and columns of the plan are zero.
	rows := positive(a)
	cols := positive(b)
	ns, ms := len(rows), len(cols)
	c := cost
	if ns < n || ms < m {
		c = make([]float64, ns*ms)
		for ii, i := range rows {
			for jj, j := range cols {
				c[ii*ms+jj] = cost[i*m+j]
			}
		}
	}
	c, e := rescaled(c) // potentials of c times 2^e are those of cost
	as := gather(a, rows)
	bs := gather(b, cols)

	s := newSimplex(ns, ms, c, as, bs)
	pivots, err := s.run(maxPivots)
	if err != nil {
		return nil, err
	}

	// Scatter back, check feasibility, and complete the dual certificate.
	res := &emdResult{plan: make([]float64, n*m), u: make([]float64, n), v: make([]float64, m), pivots: pivots}
	for ii, i := range rows {
		res.u[i] = math.Ldexp(s.u[ii], e)
	}
	for jj, j := range cols {
		res.v[j] = math.Ldexp(s.v[jj], e)
	}
	for x := 1; x < ns+ms; x++ {
		k := s.arc(x, int(s.parent[x]))
		ii, jj := k/ms, k%ms
		i, j := rows[ii], cols[jj]
		f := s.flow[k]
		res.plan[i*m+j] = f
		res.total += f * cost[i*m+j]
		res.entries++
	}
	if math.IsInf(res.total, 0) {
		return nil, fmt.Errorf("ot: transport cost overflows: %w", ErrNonFinite)
	}
	if err := checkMarginals(res.plan, a, b, max(sa, sb)); err != nil {
		return nil, err
	}
	if ms < m {
		for j := range m {
			if b[j] > 0 {
				continue
			}
			v := math.Inf(1)
			for _, i := range rows {
				v = min(v, cost[i*m+j]-res.u[i])
			}
			res.v[j] = v
		}
	}
	if ns < n {
		for i := range n {
			if a[i] > 0 {
				continue
			}
			u := math.Inf(1)
			for j := range m {
				u = min(u, cost[i*m+j]-res.v[j])
			}
			res.u[i] = u
		}
	}
	return res, nil
}

// checkWeights rejects non-finite and negative weights.
func checkWeights(name string, w []float64) error {
	if err := checkFinite(name, w); err != nil {
		return err
	}
	for k, x := range w {
		if x < 0 {
			return fmt.Errorf("ot: %s[%d] = %v: %w", name, k, x, ErrNegativeWeight)
		}
	}
	return nil
}

// checkMarginals verifies Γ1 = a and Γᵀ1 = b to within the accepted
// imbalance plus rounding, as a guard against a silently wrong plan.
func checkMarginals(plan, a, b []float64, mass float64) error {
	n, m := len(a), len(b)
	tol := 2*BalanceTol*mass + 1e-12*mass*float64(n+m)
	colSum := make([]float64, m)
	for i := range n {
		var r float64
		for j, f := range plan[i*m : (i+1)*m] {
			r += f
			colSum[j] += f
		}
		if math.Abs(r-a[i]) > tol {
			return fmt.Errorf("ot: plan row %d sums to %v, want %v: %w", i, r, a[i], ErrNotConverged)
		}
	}
	for j, r := range colSum {
		if math.Abs(r-b[j]) > tol {
			return fmt.Errorf("ot: plan column %d sums to %v, want %v: %w", j, r, b[j], ErrNotConverged)
		}
	}
	return nil
}

func positive(w []float64) []int {
	idx := make([]int, 0, len(w))
	for k, x := range w {
		if x > 0 {
			idx = append(idx, k)
		}
	}
	return idx
}

func gather(w []float64, idx []int) []float64 {
	out := make([]float64, len(idx))
	for k, i := range idx {
		out[k] = w[i]
	}
	return out
}

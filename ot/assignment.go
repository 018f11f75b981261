package ot

import (
	"fmt"
	"math"
)

// Assignment solves the n×n linear assignment problem
//
//	min_σ Σ_i cost[i*n+σ(i)]
//
// over permutations σ exactly, with the shortest augmenting path algorithm
// of Jonker and Volgenant (LAPJV). It returns σ as perm (row i is assigned
// column perm[i]) and the optimal total cost, summed from the given costs.
// cost is row-major with n*n finite entries; it is not modified.
//
// Ties are broken deterministically. The run time is O(n³) in the worst
// case and usually far less; an optimality certificate (dual feasibility of
// the final potentials) is checked in O(n²) before returning.
func Assignment(cost []float64, n int) (perm []int, total float64, err error) {
	perm, _, _, err = assignment(cost, n)
	if err != nil {
		return nil, 0, err
	}
	for i, j := range perm {
		total += cost[i*n+j]
	}
	if math.IsInf(total, 0) {
		return nil, 0, fmt.Errorf("ot: assignment cost overflows: %w", ErrNonFinite)
	}
	return perm, total, nil
}

// assignment validates its input and returns the optimal assignment x with
// dual potentials u, v satisfying u_i + v_j ≤ c_ij for all i, j, with
// equality on j = x[i], up to rounding. u and v are in the units of cost
// and may overflow when costs come near MaxFloat64 (the assignment itself
// is computed on costs rescaled by a power of two, see rescaled).
func assignment(cost []float64, n int) (x []int, u, v []float64, err error) {
	if n <= 0 {
		return nil, nil, nil, fmt.Errorf("ot: assignment of size n=%d: %w", n, ErrEmpty)
	}
	if len(cost) != n*n {
		return nil, nil, nil, fmt.Errorf("ot: assignment cost has %d entries, want n*n=%d: %w", len(cost), n*n, ErrShape)
	}
	if err := checkFinite("cost", cost); err != nil {
		return nil, nil, nil, err
	}
	if n == 1 {
		return []int{0}, []float64{cost[0]}, []float64{0}, nil
	}
	c, e := rescaled(cost)
	x, v = lapjv(c, n)
	u = make([]float64, n)
	for i := range n {
		u[i] = c[i*n+x[i]] - v[x[i]]
	}
	// Certificate: reduced costs c_ij − u_i − v_j must be ≥ 0 up to the
	// rounding in u and v, which is absolute, of the order of ε times the
	// largest magnitude they were computed from.
	scale := max(maxAbs(c), maxAbs(u), maxAbs(v))
	for i := range n {
		row := c[i*n : (i+1)*n]
		for j, cij := range row {
			if rc := cij - u[i] - v[j]; rc < -certTol*scale {
				return nil, nil, nil, fmt.Errorf("ot: assignment dual infeasible at (%d,%d) by %g: %w", i, j, -rc, ErrNotConverged)
			}
		}
	}
	for i := range u {
		u[i] = math.Ldexp(u[i], e)
		v[i] = math.Ldexp(v[i], e)
	}
	return x, u, v, nil
}

// certTol bounds the rounding error accepted in a reduced cost, relative to
// the largest cost or potential, when certifying the assignment: each
// augmentation adds a few ulps to the potentials, so 1e-9 leaves room for
// millions of rows while still catching any genuine violation (a bug).
const certTol = 1e-9

// lapjv returns the optimal assignment x (row → column) and the column
// potentials v for the n×n cost matrix c, n ≥ 2, following Jonker and
// Volgenant (1987): column reduction with reduction transfer, two passes
// of augmenting row reduction, then Dijkstra shortest augmenting paths for
// the rows still free. Every phase keeps, for each assigned row i, x[i]
// among the minimisers of c_ij − v_j, which is what the final phase needs;
// the augmenting row reduction is capped, so the whole terminates.
func lapjv(c []float64, n int) (x []int, v []float64) {
	x = make([]int, n)
	y := make([]int, n) // column → row, −1 when free
	v = make([]float64, n)
	free := make([]int, n)

	// Column reduction: v_j = min_i c_ij, assigned to the first minimiser
	// if that row is not already taken (scanning columns from the last).
	for j := range n {
		v[j] = math.Inf(1)
	}
	for i := range n {
		row := c[i*n : (i+1)*n]
		for j, cij := range row {
			if cij < v[j] {
				v[j] = cij
				y[j] = i
			}
		}
	}
	for i := range x {
		x[i] = -1
	}
	unique := make([]bool, n)
	for i := range unique {
		unique[i] = true
	}
	for j := n - 1; j >= 0; j-- {
		i := y[j]
		if x[i] < 0 {
			x[i] = j
		} else {
			unique[i] = false
			y[j] = -1
		}
	}
	// Reduction transfer: a row that took exactly one column passes its
	// slack (second-smallest reduced cost) to that column's potential.
	nfree := 0
	for i := range n {
		if x[i] < 0 {
			free[nfree] = i
			nfree++
			continue
		}
		if !unique[i] {
			continue
		}
		j := x[i]
		row := c[i*n : (i+1)*n]
		m := math.Inf(1)
		for j2, cij := range row {
			if j2 != j {
				m = min(m, cij-v[j2])
			}
		}
		v[j] -= m
	}

	for pass := 0; pass < 2 && nfree > 0; pass++ {
		nfree = augmentingRowReduction(c, n, free[:nfree], x, y, v)
	}
	if nfree > 0 {
		d := make([]float64, n)
		pred := make([]int, n)
		cols := make([]int, n)
		for _, fi := range free[:nfree] {
			j := shortestPath(c, n, fi, y, v, d, pred, cols)
			for {
				i := pred[j]
				y[j] = i
				x[i], j = j, x[i]
				if i == fi {
					break
				}
			}
		}
	}
	return x, v
}

// arrCap bounds the reassignments of one augmenting row reduction pass, in
// units of n.
const arrCap = 4

// augmentingRowReduction assigns each free row to a column of least reduced
// cost, lowering that column's potential to the row's second-least reduced
// cost and displacing its previous row, as in Jonker and Volgenant (1987).
// It overwrites free with the rows left free and returns their number. The
// number of reassignments is capped (as in Kazmar's lapjv), since with
// floating-point ties potentials can otherwise decrease by vanishing steps
// for a very long time.
//
// Beyond Kazmar's cap of cur·n, reassignments are also capped at arrCap·n per
// pass: on MNIST class pairs (n = 500) the uncapped passes took 70% of the
// time of the whole W_2² computation; rows left free are then assigned by
// the shortest-path phase, which is exact either way.
func augmentingRowReduction(c []float64, n int, free []int, x, y []int, v []float64) int {
	cur, newFree, rr := 0, 0, 0
	nf := len(free)
	for cur < nf {
		rr++
		fi := free[cur]
		cur++
		row := c[fi*n : (fi+1)*n]
		j1, u1 := 0, row[0]-v[0]
		j2, u2 := -1, math.Inf(1)
		for j := 1; j < n; j++ {
			h := row[j] - v[j]
			if h < u2 {
				if h >= u1 {
					u2, j2 = h, j
				} else {
					u2, u1, j2, j1 = u1, h, j1, j
				}
			}
		}
		i0 := y[j1]
		v1new := v[j1] - (u2 - u1)
		lowers := v1new < v[j1]
		if rr < cur*n && rr < arrCap*n {
			if lowers {
				v[j1] = v1new
			} else if i0 >= 0 && j2 >= 0 {
				j1, i0 = j2, y[j2]
			}
			if i0 >= 0 {
				if lowers {
					cur--
					free[cur] = i0
				} else {
					free[newFree] = i0
					newFree++
				}
			}
		} else if i0 >= 0 {
			free[newFree] = i0
			newFree++
		}
		x[fi] = j1
		y[j1] = fi
	}
	return newFree
}

// shortestPath runs Dijkstra on reduced costs from the free row start and
// returns the first free column reached; pred holds the path back and the
// potentials of the columns settled before it are updated (Jonker and
// Volgenant 1987, in the dense form of Kazmar's lapjv). d and cols are
// scratch of length n.
func shortestPath(c []float64, n, start int, y []int, v, d []float64, pred, cols []int) int {
	row := c[start*n : (start+1)*n]
	for j := range n {
		cols[j] = j
		pred[j] = start
		d[j] = row[j] - v[j]
	}
	// cols[:ready] are settled, cols[lo:hi] are to scan (all at distance
	// mind), cols[hi:] are still to do.
	lo, hi, ready := 0, 0, 0
	final := -1
	for final < 0 {
		if lo == hi {
			ready = lo
			// Move every to-do column at the least distance into the scan set.
			hi = lo + 1
			mind := d[cols[lo]]
			for k := hi; k < n; k++ {
				j := cols[k]
				if d[j] <= mind {
					if d[j] < mind {
						hi = lo
						mind = d[j]
					}
					cols[k] = cols[hi]
					cols[hi] = j
					hi++
				}
			}
			for _, j := range cols[lo:hi] {
				if y[j] < 0 {
					final = j
				}
			}
			if final >= 0 {
				break
			}
		}
		// Scan: relax the edges of the rows assigned to columns in the scan set.
		for lo != hi && final < 0 {
			j := cols[lo]
			lo++
			i := y[j]
			mind := d[j]
			ri := c[i*n : (i+1)*n]
			h := ri[j] - v[j] - mind
			for k := hi; k < n; k++ {
				j := cols[k]
				red := ri[j] - v[j] - h
				if red < d[j] {
					d[j] = red
					pred[j] = i
					if red == mind {
						if y[j] < 0 {
							final = j
							break
						}
						cols[k] = cols[hi]
						cols[hi] = j
						hi++
					}
				}
			}
		}
	}
	// The final column, like every column in the scan set, lies at the
	// current least distance.
	mind := d[final]
	for _, j := range cols[:ready] {
		v[j] += d[j] - mind
	}
	return final
}

package graph

import (
	"fmt"
	"math"
	"slices"
)

// ReferenceSliced returns the G×G matrix (row-major) of sliced transport
// costs between all classes of the given datasets (the classes of the first
// dataset first, then those of the second, …),
//
//	S_p(μ_g, μ_h) = (1/L) Σ_l W_p^p(θ_l#μ_g, θ_l#μ_h),   p ∈ {1, 2},
//
// computed with plain loops and no graph: it is the plain-Go reference of the
// Sliced op (the op's value on the projections X·Θ of the same datasets, up
// to rounding), used by `wow eval`, `wow distance`, the reference
// evaluations of package functionals and the tests. The matrix is symmetric
// with a zero diagonal.
//
// theta is the d×L row-major matrix Θ of the directions (column l is θ_l),
// the layout of every direction matrix in this module's Go API (see the
// package doc). The directions are used as given: SW proper wants unit
// columns.
//
// Each projection ⟨x, θ_l⟩ is a sum over the coordinates in order and each
// S_p a sum over the directions in order, so the result is the same with any
// BLAS implementation and on any number of cores (the work is split across
// goroutines, the sums are not).
func ReferenceSliced(theta []float64, L, p int, sets ...*Dataset) ([]float64, error) {
	if p != 1 && p != 2 {
		return nil, fmt.Errorf("graph: sliced cost exponent p=%d, want 1 or 2: %w", p, ErrOption)
	}
	if len(sets) == 0 {
		return nil, fmt.Errorf("graph: ReferenceSliced needs at least one dataset: %w", ErrShape)
	}
	d := sets[0].D
	for i, ds := range sets {
		if err := ds.Validate(); err != nil {
			return nil, fmt.Errorf("graph: ReferenceSliced dataset %d: %w", i, err)
		}
		if ds.D != d {
			return nil, fmt.Errorf("graph: ReferenceSliced datasets of dimension %d and %d: %w", d, ds.D, ErrShape)
		}
	}
	if L <= 0 || len(theta) != d*L {
		return nil, fmt.Errorf("graph: %d direction values for d×L = %d×%d: %w", len(theta), d, L, ErrShape)
	}
	for i, v := range theta {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("graph: direction %d, coordinate %d is %v: %w", i%L, i/L, v, ErrNonFinite)
		}
	}

	// The classes of all datasets, in order.
	type class struct {
		x      []float64 // n×d rows
		n      int
		sorted []float64 // L×n: per direction, the sorted projections
	}
	var cls []class
	for _, ds := range sets {
		for c := 0; c < ds.NumClasses(); c++ {
			cls = append(cls, class{x: ds.Class(c), n: ds.ClassSize(c)})
		}
	}
	G := len(cls)

	// Project and sort, one class per unit of work.
	parallel(G, func() any { return new([]float64) }, func(g int, scratch any) {
		c := &cls[g]
		buf := scratch.(*[]float64)
		*buf = grow(*buf, c.n*L)
		proj := *buf // n×L: row i is ⟨x_i, θ_l⟩ for every l
		clear(proj)
		project(proj, c.x, c.n, d, theta, L)
		c.sorted = make([]float64, L*c.n)
		for l := 0; l < L; l++ {
			col := c.sorted[l*c.n : (l+1)*c.n]
			for i := range col {
				col[i] = proj[i*L+l]
			}
			slices.Sort(col)
		}
	})

	// The 1-D costs of every pair g < h on every direction, one direction
	// per unit of work, then summed over the directions in order.
	P := G * (G - 1) / 2
	costs := make([]float64, L*P)
	parallel(L, func() any { return nil }, func(l int, _ any) {
		out := costs[l*P : (l+1)*P]
		k := 0
		for g := 0; g < G; g++ {
			a := cls[g].sorted[l*cls[g].n : (l+1)*cls[g].n]
			for h := g + 1; h < G; h++ {
				out[k] = Cost1D(a, cls[h].sorted[l*cls[h].n:(l+1)*cls[h].n], p)
				k++
			}
		}
	})
	S := make([]float64, G*G)
	k := 0
	for g := 0; g < G; g++ {
		for h := g + 1; h < G; h++ {
			s := 0.0
			for l := 0; l < L; l++ {
				s += costs[l*P+k]
			}
			S[g*G+h] = s / float64(L)
			S[h*G+g] = S[g*G+h]
			k++
		}
	}
	return S, nil
}

// project writes to proj (n×L, zeroed) the products of the rows of x (n×d)
// with theta (d×L): proj_il = Σ_k x_ik θ_kl, summed over k in order. A term
// whose coordinate x_ik is zero adds ±0, which changes at most the sign of a
// zero partial sum — invisible to every 1-D cost — so it is skipped, which
// makes sparse data (images) fast. The other terms go four at a time, the
// partial sum kept in a register between them (the same additions in the
// same order, fewer loads and stores).
func project(proj, x []float64, n, d int, theta []float64, L int) {
	nz := make([]int, 0, d)
	for i := 0; i < n; i++ {
		row, xi := proj[i*L:(i+1)*L], x[i*d:(i+1)*d]
		nz = nz[:0]
		for k, v := range xi {
			if v != 0 {
				nz = append(nz, k)
			}
		}
		j := 0
		for ; j+4 <= len(nz); j += 4 {
			k0, k1, k2, k3 := nz[j], nz[j+1], nz[j+2], nz[j+3]
			v0, v1, v2, v3 := xi[k0], xi[k1], xi[k2], xi[k3]
			t0, t1, t2, t3 := theta[k0*L:(k0+1)*L], theta[k1*L:(k1+1)*L], theta[k2*L:(k2+1)*L], theta[k3*L:(k3+1)*L]
			t1, t2, t3, row := t1[:len(t0)], t2[:len(t0)], t3[:len(t0)], row[:len(t0)]
			for l, a := range t0 {
				r := row[l]
				r += v0 * a
				r += v1 * t1[l]
				r += v2 * t2[l]
				r += v3 * t3[l]
				row[l] = r
			}
		}
		for ; j < len(nz); j++ {
			k := nz[j]
			v, th := xi[k], theta[k*L:(k+1)*L]
			row := row[:len(th)]
			for l, t := range th {
				row[l] += v * t
			}
		}
	}
}

package ot

import (
	"errors"
	"fmt"
	"math"
)

// Errors returned for malformed input and for a solver that did not finish.
// They are wrapped with %w, so test with errors.Is.
var (
	// ErrEmpty: a problem with no points, rows or columns.
	ErrEmpty = errors.New("ot: empty problem")
	// ErrShape: a slice whose length does not match the stated sizes.
	ErrShape = errors.New("ot: shape mismatch")
	// ErrNonFinite: a NaN or ±Inf cost, weight or coordinate.
	ErrNonFinite = errors.New("ot: non-finite value")
	// ErrNegativeWeight: a weight below zero.
	ErrNegativeWeight = errors.New("ot: negative weight")
	// ErrUnbalanced: source and target weights whose sums differ by more
	// than BalanceTol relative, or that sum to zero.
	ErrUnbalanced = errors.New("ot: unbalanced weights")
	// ErrNotConverged: the solver hit its iteration cap, or its final
	// optimality or feasibility check failed; no result is returned.
	ErrNotConverged = errors.New("ot: solver did not converge")
)

// BalanceTol is the largest relative difference |Σa − Σb| / max(Σa, Σb)
// that EMD accepts between the source and target masses.
const BalanceTol = 1e-9

// checkFinite returns an error naming the first non-finite entry of x.
func checkFinite(name string, x []float64) error {
	for k, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("ot: %s[%d] = %v: %w", name, k, v, ErrNonFinite)
		}
	}
	return nil
}

// maxAbs returns max_k |x_k|.
func maxAbs(x []float64) float64 {
	var m float64
	for _, v := range x {
		m = max(m, math.Abs(v))
	}
	return m
}

// rescaled returns c itself and e = 0 when its largest magnitude s lies in
// [2^-256, 2^256], and otherwise a copy of c multiplied by 2^-e, with e
// chosen to bring s into [1/2, 1). Scaling by a power of two is exact (no
// rounding, barring underflow of entries 2^1000 times smaller than s,
// which are below the precision of any sum involving s), so the optimal
// plan is unchanged, while the dual potentials — which can reach about
// (n+m)·s — stay far from overflow. Potentials of the copy times 2^e are
// those of c.
func rescaled(c []float64) ([]float64, int) {
	s := maxAbs(c)
	if s == 0 || (s >= 0x1p-256 && s <= 0x1p256) {
		return c, 0
	}
	_, e := math.Frexp(s)
	out := make([]float64, len(c))
	for k, v := range c {
		out[k] = math.Ldexp(v, -e)
	}
	return out, e
}

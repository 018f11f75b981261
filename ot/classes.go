package ot

import "fmt"

// Classes is a labeled point set as the class-level problems of this package
// take it: C classes of points in R^D, packed row-major in Points, class c
// occupying rows Offsets[c] to Offsets[c+1]−1, with class weights a_c. It
// describes the measure over measures
//
//	P = Σ_c a_c δ_{μ_c},   μ_c = (1/n_c) Σ_i δ_{x_i^c},   n_c = Offsets[c+1] − Offsets[c].
//
// Classes holds no data of its own: Points, Offsets and Weights are read,
// never modified or retained, so a caller's packed dataset is used without a
// copy.
type Classes struct {
	// Points holds the Σ_c n_c rows of D coordinates, row-major; every
	// coordinate finite.
	Points []float64
	// D is the dimension of the points, positive.
	D int
	// Offsets are the C+1 row offsets of the classes: Offsets[0] = 0,
	// strictly increasing (no empty class), Offsets[C]·D = len(Points).
	Offsets []int
	// Weights are the C class weights a_c, non-negative and finite; EMD
	// requires the two sides of a problem to have equal sums. Nil means
	// uniform weights 1/C.
	Weights []float64
}

// NumClasses returns C.
func (x Classes) NumClasses() int { return len(x.Offsets) - 1 }

// Class returns the rows of class c (a view of Points) and their number n_c.
func (x Classes) Class(c int) ([]float64, int) {
	lo, hi := x.Offsets[c], x.Offsets[c+1]
	return x.Points[lo*x.D : hi*x.D], hi - lo
}

// ClassWeights returns the C class weights: a copy of Weights, or 1/C each
// when Weights is nil.
func (x Classes) ClassWeights() []float64 {
	if x.Weights != nil {
		return append([]float64(nil), x.Weights...)
	}
	w := make([]float64, x.NumClasses())
	for c := range w {
		w[c] = 1 / float64(len(w))
	}
	return w
}

// Validate checks the layout (a positive dimension, at least one class, no
// empty class, offsets matching the number of points), that every
// coordinate is finite and that the weights, if given, are one finite
// non-negative value per class. The name is used in the error message.
func (x Classes) Validate(name string) error {
	if x.D <= 0 {
		return fmt.Errorf("ot: %s: dimension %d must be positive: %w", name, x.D, ErrEmpty)
	}
	if len(x.Offsets) < 2 || x.Offsets[0] != 0 {
		return fmt.Errorf("ot: %s: offsets %v must start at 0 and describe at least one class: %w", name, x.Offsets, ErrEmpty)
	}
	for c := range x.NumClasses() {
		if x.Offsets[c+1] <= x.Offsets[c] {
			return fmt.Errorf("ot: %s: class %d has no points: %w", name, c, ErrEmpty)
		}
	}
	if n := x.Offsets[len(x.Offsets)-1]; n*x.D != len(x.Points) {
		return fmt.Errorf("ot: %s: offsets say %d points of dimension %d, Points has %d values: %w", name, n, x.D, len(x.Points), ErrShape)
	}
	if err := checkFinite(name+" points", x.Points); err != nil {
		return err
	}
	if x.Weights != nil {
		if len(x.Weights) != x.NumClasses() {
			return fmt.Errorf("ot: %s: %d weights for %d classes: %w", name, len(x.Weights), x.NumClasses(), ErrShape)
		}
		if err := checkFinite(name+" weights", x.Weights); err != nil {
			return err
		}
		for c, w := range x.Weights {
			if w < 0 {
				return fmt.Errorf("ot: %s: weight of class %d is %v: %w", name, c, w, ErrNegativeWeight)
			}
		}
	}
	return nil
}

package graph

import (
	"errors"
	"fmt"
	"math"
)

// Errors returned when a dataset is malformed.
var (
	ErrEmptyClass = errors.New("graph: empty class")
	ErrNonFinite  = errors.New("graph: non-finite value")
	ErrShape      = errors.New("graph: shape mismatch")
	ErrWeights    = errors.New("graph: invalid class weights")
)

// Dataset is a labeled dataset: C classes of points in R^D, stored packed in
// row-major order. Class c occupies rows Offsets[c] to Offsets[c+1]-1 of Data.
// Classes may differ in size. Weights, when non-nil, are the class weights a_c
// (positive, summing to 1); nil means uniform weights 1/C.
type Dataset struct {
	Data    []float64
	Offsets []int
	D       int
	Weights []float64
}

// FromClasses builds a dataset from one row-major n_c×d slice per class.
// The data is copied.
func FromClasses(d int, classes ...[]float64) (*Dataset, error) {
	if d <= 0 {
		return nil, fmt.Errorf("graph: dimension %d must be positive: %w", d, ErrShape)
	}
	ds := &Dataset{D: d, Offsets: []int{0}}
	for c, x := range classes {
		if len(x)%d != 0 {
			return nil, fmt.Errorf("graph: class %d has %d values, not a multiple of d=%d: %w", c, len(x), d, ErrShape)
		}
		ds.Data = append(ds.Data, x...)
		ds.Offsets = append(ds.Offsets, len(ds.Data)/d)
	}
	return ds, ds.Validate()
}

// FromLabeled builds a dataset from an n×d row-major matrix and one integer
// label per row. Labels must be 0..C-1 with every class present; rows are
// grouped by label, keeping their order within a class.
func FromLabeled(x []float64, labels []int, d int) (*Dataset, error) {
	if d <= 0 {
		return nil, fmt.Errorf("graph: dimension %d must be positive: %w", d, ErrShape)
	}
	if len(x) != len(labels)*d {
		return nil, fmt.Errorf("graph: %d labels for %d values of dimension %d: %w", len(labels), len(x), d, ErrShape)
	}
	nc := 0
	for i, l := range labels {
		if l < 0 {
			return nil, fmt.Errorf("graph: label %d at index %d is negative", l, i)
		}
		if l+1 > nc {
			nc = l + 1
		}
	}
	if nc > len(labels) {
		return nil, fmt.Errorf("graph: label %d exceeds the number of points %d", nc-1, len(labels))
	}
	count := make([]int, nc)
	for _, l := range labels {
		count[l]++
	}
	ds := &Dataset{D: d, Offsets: make([]int, nc+1), Data: make([]float64, len(x))}
	for c := 0; c < nc; c++ {
		if count[c] == 0 {
			return nil, fmt.Errorf("graph: class %d has no points (labels must be 0..%d): %w", c, nc-1, ErrEmptyClass)
		}
		ds.Offsets[c+1] = ds.Offsets[c] + count[c]
	}
	next := append([]int(nil), ds.Offsets[:nc]...)
	for i, l := range labels {
		copy(ds.Data[next[l]*d:(next[l]+1)*d], x[i*d:(i+1)*d])
		next[l]++
	}
	return ds, ds.Validate()
}

// Validate checks the layout, that every class is non-empty, every value is
// finite and the weights (if any) are positive and sum to 1.
func (ds *Dataset) Validate() error {
	if ds == nil {
		return fmt.Errorf("graph: nil dataset: %w", ErrShape)
	}
	if ds.D <= 0 {
		return fmt.Errorf("graph: dimension %d must be positive: %w", ds.D, ErrShape)
	}
	if len(ds.Offsets) < 2 || ds.Offsets[0] != 0 {
		return fmt.Errorf("graph: a dataset needs at least one class and Offsets[0] = 0: %w", ErrShape)
	}
	for c := 0; c < ds.NumClasses(); c++ {
		if ds.Offsets[c+1] <= ds.Offsets[c] {
			return fmt.Errorf("graph: class %d has no points: %w", c, ErrEmptyClass)
		}
	}
	if n := ds.Offsets[len(ds.Offsets)-1]; n*ds.D != len(ds.Data) {
		return fmt.Errorf("graph: offsets say %d points of dimension %d but data has %d values: %w", n, ds.D, len(ds.Data), ErrShape)
	}
	for i, v := range ds.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			row := i / ds.D
			return fmt.Errorf("graph: class %d, point %d, coordinate %d is %v: %w", ds.ClassOf(row), row-ds.Offsets[ds.ClassOf(row)], i%ds.D, v, ErrNonFinite)
		}
	}
	if ds.Weights != nil {
		if len(ds.Weights) != ds.NumClasses() {
			return fmt.Errorf("graph: %d weights for %d classes: %w", len(ds.Weights), ds.NumClasses(), ErrWeights)
		}
		s := 0.0
		for c, w := range ds.Weights {
			if !(w > 0) || math.IsInf(w, 0) {
				return fmt.Errorf("graph: weight of class %d is %v, must be positive: %w", c, w, ErrWeights)
			}
			s += w
		}
		if math.Abs(s-1) > 1e-9 {
			return fmt.Errorf("graph: class weights sum to %v, not 1: %w", s, ErrWeights)
		}
	}
	return nil
}

// NumClasses returns C.
func (ds *Dataset) NumClasses() int { return len(ds.Offsets) - 1 }

// Len returns the total number of points.
func (ds *Dataset) Len() int { return ds.Offsets[len(ds.Offsets)-1] }

// ClassSize returns n_c.
func (ds *Dataset) ClassSize(c int) int { return ds.Offsets[c+1] - ds.Offsets[c] }

// Class returns the rows of class c (a view, not a copy).
func (ds *Dataset) Class(c int) []float64 {
	return ds.Data[ds.Offsets[c]*ds.D : ds.Offsets[c+1]*ds.D]
}

// ClassOf returns the class of row i.
func (ds *Dataset) ClassOf(i int) int {
	for c := 0; c < ds.NumClasses(); c++ {
		if i < ds.Offsets[c+1] {
			return c
		}
	}
	return -1
}

// Weight returns a_c (1/C when Weights is nil).
func (ds *Dataset) Weight(c int) float64 {
	if ds.Weights == nil {
		return 1 / float64(ds.NumClasses())
	}
	return ds.Weights[c]
}

// Labels returns the class of every row.
func (ds *Dataset) Labels() []int {
	l := make([]int, ds.Len())
	for c := 0; c < ds.NumClasses(); c++ {
		for i := ds.Offsets[c]; i < ds.Offsets[c+1]; i++ {
			l[i] = c
		}
	}
	return l
}

// Layout returns the class layout of the dataset (without the data).
func (ds *Dataset) Layout() Layout {
	w := make([]float64, ds.NumClasses())
	for c := range w {
		w[c] = ds.Weight(c)
	}
	return Layout{Offsets: append([]int(nil), ds.Offsets...), Weights: w, D: ds.D}
}

// Clone returns a deep copy.
func (ds *Dataset) Clone() *Dataset {
	out := &Dataset{D: ds.D, Data: append([]float64(nil), ds.Data...), Offsets: append([]int(nil), ds.Offsets...)}
	if ds.Weights != nil {
		out.Weights = append([]float64(nil), ds.Weights...)
	}
	return out
}

// Layout describes how classes are packed in the rows of a matrix:
// class c is rows Offsets[c]..Offsets[c+1]-1, with weight Weights[c].
type Layout struct {
	Offsets []int
	Weights []float64
	D       int
}

// NumClasses returns the number of classes.
func (l Layout) NumClasses() int { return len(l.Offsets) - 1 }

// Len returns the number of rows.
func (l Layout) Len() int { return l.Offsets[len(l.Offsets)-1] }

// ClassSize returns the number of rows of class c.
func (l Layout) ClassSize(c int) int { return l.Offsets[c+1] - l.Offsets[c] }

// key returns a stable string naming the layout's class sizes, for op hashes.
func (l Layout) key() string { return fmt.Sprint(l.Offsets) }

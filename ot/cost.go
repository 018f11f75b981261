package ot

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// SqEuclidean returns the n×m matrix (row-major) of squared Euclidean
// distances C_ij = |x_i − y_j|² between the rows of x (n×d, row-major) and
// the rows of y (m×d), computed as
//
//	C_ij = |x_i|² + |y_j|² − 2 x_i·y_j
//
// with one matrix product (blas64.Gemm, so whichever BLAS implementation
// is registered with blas64.Use) and clamped at 0. The expansion costs
// absolute rounding error of order ε(|x_i|² + |y_j|²), which matters only
// for points much closer together than their norms.
//
// It returns an error rather than panicking (unlike a gonum function with
// the same shape) when a size is not positive, a length is not the product
// of the sizes, or a coordinate is not finite.
func SqEuclidean(x []float64, n int, y []float64, m int, d int) ([]float64, error) {
	if err := checkCloud("x", x, n, d); err != nil {
		return nil, err
	}
	if err := checkCloud("y", y, m, d); err != nil {
		return nil, err
	}
	out := make([]float64, n*m)
	blas64.Gemm(blas.NoTrans, blas.Trans, -2,
		blas64.General{Rows: n, Cols: d, Stride: d, Data: x},
		blas64.General{Rows: m, Cols: d, Stride: d, Data: y},
		0, blas64.General{Rows: n, Cols: m, Stride: m, Data: out})
	ny := sqNorms(y, m, d)
	for i := range n {
		xi := x[i*d : (i+1)*d]
		nx := blas64.Dot(blas64.Vector{N: d, Inc: 1, Data: xi}, blas64.Vector{N: d, Inc: 1, Data: xi})
		row := out[i*m : (i+1)*m]
		for j := range row {
			row[j] = max(0, row[j]+nx+ny[j])
		}
	}
	return out, nil
}

// sqNorms returns |y_j|² for the m rows of y (m×d).
func sqNorms(y []float64, m, d int) []float64 {
	out := make([]float64, m)
	for j := range m {
		yj := blas64.Vector{N: d, Inc: 1, Data: y[j*d : (j+1)*d]}
		out[j] = blas64.Dot(yj, yj)
	}
	return out
}

// checkCloud validates a point cloud of n points in dimension d.
func checkCloud(name string, x []float64, n, d int) error {
	if n <= 0 || d <= 0 {
		return fmt.Errorf("ot: cloud %s of %d points in dimension %d: %w", name, n, d, ErrEmpty)
	}
	if len(x) != n*d {
		return fmt.Errorf("ot: cloud %s has %d values, want n*d=%d*%d: %w", name, len(x), n, d, ErrShape)
	}
	return checkFinite(name, x)
}

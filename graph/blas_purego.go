//go:build !cgo || purego

package graph

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/gonum"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BLAS names the BLAS implementation in use: pure-Go gonum in this build.
const BLAS = "gonum"

// BLASCore names the kernels the BLAS in use runs: "gonum" in this build
// (OpenBLAS builds name the core OpenBLAS chose).
func BLASCore() string { return "gonum" }

func init() {
	impl := pureBLAS{}
	blas32.Use(impl)
	tensor.Use(impl)
	gorgonia.Use(impl)
}

// pureBLAS is gonum's pure-Go BLAS with the float32 kernels whose results
// depend on the memory alignment of their inputs made independent of it.
// gonum's assembly float32 dot products (behind Sdot, Sgemv with A not
// transposed, and Sgemm with a transposed operand) split the sum at the
// first aligned element, so the same numbers at other addresses summed to
// other last bits — and a flow in float32 gave another result from run to
// run (measured: 2–3 distinct losses in 20 identical 30-step flows). Here
// Sdot and Sgemv(NoTrans) sum in index order, and Sgemm copies a transposed
// operand to the untransposed layout, whose gonum kernel (axpy updates, no
// reduction across elements) is alignment-independent.
type pureBLAS struct{ gonum.Implementation }

// Sdot implements blas.Float32Level1, summing in index order.
func (pureBLAS) Sdot(n int, x []float32, incX int, y []float32, incY int) float32 {
	if n <= 0 {
		return 0
	}
	ix, iy := 0, 0
	if incX < 0 {
		ix = (1 - n) * incX
	}
	if incY < 0 {
		iy = (1 - n) * incY
	}
	var s float32
	for i := 0; i < n; i++ {
		s += x[ix] * y[iy]
		ix += incX
		iy += incY
	}
	return s
}

// Sgemv implements blas.Float32Level2: y = alpha·op(A)·x + beta·y.
func (p pureBLAS) Sgemv(tA blas.Transpose, m, n int, alpha float32, a []float32, lda int, x []float32, incX int, beta float32, y []float32, incY int) {
	if tA != blas.NoTrans || m <= 0 || n <= 0 || incX <= 0 || incY <= 0 {
		p.Implementation.Sgemv(tA, m, n, alpha, a, lda, x, incX, beta, y, incY)
		return
	}
	for i := 0; i < m; i++ {
		row := a[i*lda : i*lda+n]
		var s float32
		for j, v := range row {
			s += v * x[j*incX]
		}
		if beta == 0 {
			y[i*incY] = alpha * s
		} else {
			y[i*incY] = alpha*s + beta*y[i*incY]
		}
	}
}

// Sgemm implements blas.Float32Level3, through gonum's untransposed kernel.
func (p pureBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m > 0 && n > 0 && k > 0 {
		if tA != blas.NoTrans { // A is stored k×m
			a, lda = transposed32(a, lda, k, m), k
		}
		if tB != blas.NoTrans { // B is stored n×k
			b, ldb = transposed32(b, ldb, n, k), n
		}
		tA, tB = blas.NoTrans, blas.NoTrans
	}
	p.Implementation.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// transposed32 returns the cols×rows transpose of the rows×cols matrix a
// with leading dimension lda, contiguous.
func transposed32(a []float32, lda, rows, cols int) []float32 {
	t := make([]float32, rows*cols)
	for i := 0; i < rows; i++ {
		for j, v := range a[i*lda : i*lda+cols] {
			t[j*rows+i] = v
		}
	}
	return t
}

//go:build cgo && !purego

package graph

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int num_threads);
// char* openblas_get_corename(void);
import "C"

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BLAS names the BLAS implementation in use: OpenBLAS through cgo here
// (Debian's libopenblas-dev), pure-Go gonum with -tags purego or CGO_ENABLED=0.
const BLAS = "openblas"

func init() {
	// OpenBLAS's own threads spin (sched_yield) for a long time after each
	// call and then compete with the sorting goroutines that follow the
	// projection; measured here, that spinning took about 40% of a W2 step.
	// So OpenBLAS runs single-threaded and large products are split into
	// row blocks computed by goroutines (parallelBLAS).
	C.openblas_set_num_threads(1)
	impl := parallelBLAS{}
	blas64.Use(impl)
	blas32.Use(impl)
	tensor.Use(impl)
	gorgonia.Use(impl)
}

// BLASCore names the kernels the BLAS in use runs: the core OpenBLAS chose
// for this CPU at load time (its OPENBLAS_CORETYPE names: Haswell,
// SkylakeX, Zen, … or a generic one such as Prescott), or "gonum".
func BLASCore() string { return C.GoString(C.openblas_get_corename()) }

// rowBlock is the number of rows of C per goroutine. It is fixed, so results
// do not depend on the number of cores.
const rowBlock = 256

// parallelBLAS is OpenBLAS with Sgemm and Dgemm split over row blocks of C.
type parallelBLAS struct{ netlib.Implementation }

func (p parallelBLAS) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if m < 2*rowBlock || m*n*k < 1<<22 {
		p.Implementation.Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	splitRows(m, func(lo, hi int) {
		aoff := lo * lda // A is m×k (NoTrans) or k×m (Trans): rows or columns lo..hi
		if tA != blas.NoTrans {
			aoff = lo
		}
		p.Implementation.Dgemm(tA, tB, hi-lo, n, k, alpha, a[aoff:], lda, b, ldb, beta, c[lo*ldc:], ldc)
	})
}

func (p parallelBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m < 2*rowBlock || m*n*k < 1<<22 {
		p.Implementation.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	splitRows(m, func(lo, hi int) {
		aoff := lo * lda
		if tA != blas.NoTrans {
			aoff = lo
		}
		p.Implementation.Sgemm(tA, tB, hi-lo, n, k, alpha, a[aoff:], lda, b, ldb, beta, c[lo*ldc:], ldc)
	})
}

// splitRows runs f on row blocks [lo, hi) of [0, m) in parallel.
func splitRows(m int, f func(lo, hi int)) {
	nb := (m + rowBlock - 1) / rowBlock
	parallel(nb, func() any { return nil }, func(i int, _ any) {
		f(i*rowBlock, min(m, (i+1)*rowBlock))
	})
}

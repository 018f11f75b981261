package graph

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// The installed float32 BLAS gives the same bits whatever the alignment of
// its inputs: gonum's assembly dot products do not (they split the sum at
// the first aligned element), which made float32 flows differ from run to
// run in the pure-Go build.
func TestFloat32BLASIsAlignmentIndependent(t *testing.T) {
	impl := blas32.Implementation()
	r := rand.New(rand.NewPCG(1, 2))
	const m, n, k = 13, 37, 70
	a := make([]float32, m*k)
	b := make([]float32, k*n)
	for i := range a {
		a[i] = float32(r.NormFloat64())
	}
	for i := range b {
		b[i] = float32(r.NormFloat64())
	}
	at := transpose32(a, m, k) // k×m
	bt := transpose32(b, k, n) // n×k
	shift := func(v []float32, off int) []float32 { return append(make([]float32, off), v...)[off:] }
	results := map[string]map[string]bool{}
	add := func(name string, v any) {
		if results[name] == nil {
			results[name] = map[string]bool{}
		}
		results[name][fmt.Sprint(v)] = true
	}
	for off := 0; off < 8; off++ {
		A, B, At, Bt := shift(a, off), shift(b, off), shift(at, off), shift(bt, off)
		add("sdot", impl.Sdot(k, A, 1, B, n))
		add("sdot unit", impl.Sdot(m*k, A, 1, A, 1))
		y := make([]float32, m)
		impl.Sgemv(blas.NoTrans, m, k, 1, A, k, B, n, 0, y, 1)
		add("sgemv N", y)
		yt := make([]float32, k)
		impl.Sgemv(blas.Trans, m, k, 1, A, k, B[:m], 1, 0, yt, 1)
		add("sgemv T", yt)
		for _, c := range []struct {
			name   string
			tA, tB blas.Transpose
			a, b   []float32
			la, lb int
		}{
			{"sgemm NN", blas.NoTrans, blas.NoTrans, A, B, k, n},
			{"sgemm TN", blas.Trans, blas.NoTrans, At, B, m, n},
			{"sgemm NT", blas.NoTrans, blas.Trans, A, Bt, k, k},
			{"sgemm TT", blas.Trans, blas.Trans, At, Bt, m, k},
		} {
			out := shift(make([]float32, m*n), off)
			impl.Sgemm(c.tA, c.tB, m, n, k, 1, c.a, c.la, c.b, c.lb, 0, out, n)
			add(c.name, out)
		}
	}
	for name, got := range results {
		if len(got) != 1 {
			t.Errorf("%s (%s BLAS): %d different results over 8 alignments", name, BLAS, len(got))
		}
	}
	if len(results) != 8 {
		t.Errorf("%d kernels checked", len(results))
	}
}

// transpose32 returns the cols×rows transpose of a rows×cols matrix.
func transpose32(a []float32, rows, cols int) []float32 {
	t := make([]float32, rows*cols)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			t[j*rows+i] = a[i*cols+j]
		}
	}
	return t
}

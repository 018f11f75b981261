package graph

import (
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

// BenchmarkFloor times the two parts of a W1 flow step (issue 5) that set
// its floor: the three matrix products (project X and Y on Θ, back-project
// ∂F/∂PX) and the sliced engine (sorts and pair costs, forward and backward).
func BenchmarkFloor(b *testing.B) {
	const C, n, d, L = 10, 200, 784, 500
	N := C * n
	r := rand.New(rand.NewPCG(1, 2))
	x64, th64, p64, g64 := make([]float64, N*d), make([]float64, d*L), make([]float64, N*L), make([]float64, N*d)
	for i := range x64 {
		x64[i] = r.Float64()
	}
	for i := range th64 {
		th64[i] = r.NormFloat64()
	}
	x32, th32, p32, g32 := make([]float32, N*d), make([]float32, d*L), make([]float32, N*L), make([]float32, N*d)
	for i := range x32 {
		x32[i] = float32(x64[i])
	}
	for i := range th32 {
		th32[i] = float32(th64[i])
	}
	b.Run("gemm/float64/3×(2000×784×500)", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for k := 0; k < 2; k++ {
				blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, blas64.General{Rows: N, Cols: d, Stride: d, Data: x64},
					blas64.General{Rows: d, Cols: L, Stride: L, Data: th64}, 0, blas64.General{Rows: N, Cols: L, Stride: L, Data: p64})
			}
			blas64.Gemm(blas.NoTrans, blas.Trans, 1, blas64.General{Rows: N, Cols: L, Stride: L, Data: p64},
				blas64.General{Rows: d, Cols: L, Stride: L, Data: th64}, 0, blas64.General{Rows: N, Cols: d, Stride: d, Data: g64})
		}
	})
	b.Run("gemm/float32/3×(2000×784×500)", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for k := 0; k < 2; k++ {
				blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, blas32.General{Rows: N, Cols: d, Stride: d, Data: x32},
					blas32.General{Rows: d, Cols: L, Stride: L, Data: th32}, 0, blas32.General{Rows: N, Cols: L, Stride: L, Data: p32})
			}
			blas32.Gemm(blas.NoTrans, blas.Trans, 1, blas32.General{Rows: N, Cols: L, Stride: L, Data: p32},
				blas32.General{Rows: d, Cols: L, Stride: L, Data: th32}, 0, blas32.General{Rows: N, Cols: d, Stride: d, Data: g32})
		}
	})
	b.Run("sliced/C=10+10,n=200,L=500", func(b *testing.B) {
		lay := layoutOf(d, n, n, n, n, n, n, n, n, n, n)
		s := newSlicer(2, true, lay, lay)
		py := make([]float64, N*L)
		for i := range py {
			py[i] = r.NormFloat64()
			p64[i] = r.NormFloat64()
		}
		G := 2 * C
		dout := make([]float64, G*G)
		for i := range dout {
			dout[i] = r.Float64()
		}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			s.forward([]matrix{{f64: p64, L: L}, {f64: py, L: L}}, L)
			s.backward(0, dout, matrix{f64: p64, L: L})
		}
	})
}

package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wowflow/wowflow/internal/cputime"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gorgonia.org/gorgonia"
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

// BenchmarkHandStep times one Riesz MMDSW flow step with momentum written by
// hand — project with BLAS, the sliced engine forward and backward,
// closed-form kernel derivative, back-project with BLAS, WoW rescale, heavy
// ball — on flows' BenchmarkStep workloads, so that `go test -run X -bench .
// ./flows/ ./graph/` measures gorgonia's overhead in one invocation.
func BenchmarkHandStep(b *testing.B) {
	for _, w := range []struct {
		name       string
		C, n, m, d int
		L          int
	}{
		{"W1", 10, 200, 200, 784, 500},
		{"W2", 10, 200, 5, 784, 500},
		{"W3", 3, 80, 80, 2, 500},
	} {
		if testing.Short() && w.name != "W3" {
			continue
		}
		r := rand.New(rand.NewPCG(1, 2))
		x, y := benchClasses(r, w.C, w.n, w.d), benchClasses(r, w.C, w.m, w.d)
		name := fmt.Sprintf("float64/%s/C=%d,n=%d,m=%d,d=%d,L=%d", w.name, w.C, w.n, w.m, w.d, w.L)
		b.Run(name, func(b *testing.B) {
			h := newHandStep(x, y, w.L)
			h.step()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h.step()
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/step")
		})
	}
}

// benchClasses is flows' benchmark data: C classes of n points uniform in
// [0.1c, 1 + 0.1c]^d.
func benchClasses(r *rand.Rand, C, n, d int) *Dataset {
	classes := make([][]float64, C)
	for c := range classes {
		x := make([]float64, n*d)
		for i := range x {
			x[i] = r.Float64() + 0.1*float64(c)
		}
		classes[c] = x
	}
	ds, err := FromClasses(d, classes...)
	if err != nil {
		panic(err)
	}
	return ds
}

// handStep is the Riesz ½MMD² step (target block skipped) with heavy-ball
// momentum m = 0.9 and τ = 1, written without a graph.
type handStep struct {
	x, y        *Dataset
	L           int
	rng         *rand.Rand
	theta       []float64 // d×L
	px, py, dpx []float64
	gx, v       []float64
	eng         *slicer
	w           []float64
}

func newHandStep(x, y *Dataset, L int) *handStep {
	h := &handStep{x: x.Clone(), y: y, L: L, rng: rand.New(rand.NewPCG(1, 1))}
	h.theta = make([]float64, x.D*L)
	h.px, h.dpx = make([]float64, x.Len()*L), make([]float64, x.Len()*L)
	h.py = make([]float64, y.Len()*L)
	h.gx, h.v = make([]float64, len(x.Data)), make([]float64, len(x.Data))
	h.eng = newSlicer(2, true, x.Layout(), y.Layout())
	for c := 0; c < x.NumClasses(); c++ {
		h.w = append(h.w, x.Weight(c))
	}
	for c := 0; c < y.NumClasses(); c++ {
		h.w = append(h.w, -y.Weight(c))
	}
	return h
}

func handGemm(tA blas.Transpose, a []float64, ar, ac int, tB blas.Transpose, bm []float64, br, bc int, c []float64, cr, cc int) {
	blas64.Gemm(tA, tB, 1, blas64.General{Rows: ar, Cols: ac, Stride: ac, Data: a},
		blas64.General{Rows: br, Cols: bc, Stride: bc, Data: bm}, 0, blas64.General{Rows: cr, Cols: cc, Stride: cc, Data: c})
}

func (h *handStep) step() {
	d, L, N, M := h.x.D, h.L, h.x.Len(), h.y.Len()
	for l := 0; l < L; l++ { // θ_l = g/‖g‖, g ~ N(0, I_d), as functionals.RandomDirections
		nrm := 0.0
		for k := 0; k < d; k++ {
			v := h.rng.NormFloat64()
			h.theta[k*L+l] = v
			nrm += v * v
		}
		nrm = math.Sqrt(nrm)
		for k := 0; k < d; k++ {
			h.theta[k*L+l] /= nrm
		}
	}
	handGemm(blas.NoTrans, h.x.Data, N, d, blas.NoTrans, h.theta, d, L, h.px, N, L)
	handGemm(blas.NoTrans, h.y.Data, M, d, blas.NoTrans, h.theta, d, L, h.py, M, L)
	S := h.eng.forward([]matrix{{f64: h.px, L: L}, {f64: h.py, L: L}}, L)
	G := len(h.w)
	C := h.x.NumClasses()
	dout := make([]float64, G*G)
	for g := 0; g < G; g++ {
		for k := 0; k < G; k++ {
			if (g >= C && k >= C) || S[g*G+k] <= 0 {
				continue
			}
			// F = ½ wᵀ K w, K = −sqrt(S): dF/dS = ½ w_g w_k · (−½ S^{−½}).
			dout[g*G+k] = 0.5 * h.w[g] * h.w[k] * (-0.5 / math.Sqrt(S[g*G+k]))
		}
	}
	h.eng.backward(0, dout, matrix{f64: h.dpx, L: L})
	handGemm(blas.NoTrans, h.dpx, N, L, blas.Trans, h.theta, d, L, h.gx, N, d)
	for c := 0; c < C; c++ {
		s := float64(h.x.ClassSize(c)) / h.x.Weight(c)
		for i := h.x.Offsets[c] * d; i < h.x.Offsets[c+1]*d; i++ {
			h.v[i] = s*h.gx[i] + 0.9*h.v[i]
			h.x.Data[i] -= h.v[i]
		}
	}
}

// BenchmarkGaussKernelMean times the value and gradient of the self term
// of Hua et al.'s MMD at the transfer flows' size (2000 product rows of 790
// columns: 9.5 GFLOP in the two products, the Gram matrix's upper half and
// the gradient's kernel product), with float64 and float32 products, in
// wall and CPU time.
func BenchmarkGaussKernelMean(b *testing.B) {
	const n, d = 2000, 790
	r := rand.New(rand.NewPCG(1, 2))
	av := make([]float64, n*d)
	for i := range av {
		av[i] = r.Float64()
	}
	for _, f32 := range []bool{false, true} {
		b.Run(map[bool]string{false: "f64", true: "f32"}[f32], func(b *testing.B) {
			g := gorgonia.NewGraph()
			a := matNode(g, "a", av, n, d)
			k, err := GaussKernel{Blocks: []KernelBlock{{0, 784, 100}, {784, 786, 50}, {786, 790, 1000}}, Float32: f32}.Mean(a, nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := gorgonia.Grad(k, a); err != nil {
				b.Fatal(err)
			}
			vm := gorgonia.NewTapeMachine(g)
			defer vm.Close()
			cpu0 := cputime.Seconds()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := vm.RunAll(); err != nil {
					b.Fatal(err)
				}
				vm.Reset()
			}
			b.ReportMetric((cputime.Seconds()-cpu0)*1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// BenchmarkSortKeys times sortKeys on the keys of a flow's class (float32
// projections with row offsets in their low bits) of 200 and 500 points.
func BenchmarkSortKeys(b *testing.B) {
	for _, n := range []int{200, 500} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(5, 6))
			src := make([]uint64, n)
			for i := range src {
				src[i] = sortableBits(float64(float32(r.NormFloat64())))&^511 | uint64(i)
			}
			keys, tmp := make([]uint64, n), make([]uint64, n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				copy(keys, src)
				sortKeys(keys, tmp)
			}
		})
	}
}

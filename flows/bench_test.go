package flows_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/optim"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gorgonia.org/tensor"
)

// workload is one flow-step benchmark configuration (issue 5's W1–W3).
type workload struct {
	name       string
	C, n, m, d int
	L          int
}

var workloads = []workload{
	{"W1", 10, 200, 200, 784, 500},
	{"W2", 10, 200, 5, 784, 500},
	{"W3", 3, 80, 80, 2, 500},
}

func (w workload) String() string {
	return fmt.Sprintf("%s/C=%d,n=%d,m=%d,d=%d,L=%d", w.name, w.C, w.n, w.m, w.d, w.L)
}

func randClasses(r *rand.Rand, C, n, d int) *graph.Dataset {
	classes := make([][]float64, C)
	for c := range classes {
		x := make([]float64, n*d)
		for i := range x {
			x[i] = r.Float64() + 0.1*float64(c)
		}
		classes[c] = x
	}
	ds, err := graph.FromClasses(d, classes...)
	if err != nil {
		panic(err)
	}
	return ds
}

// BenchmarkStep times one Riesz MMDSW flow step with momentum through the
// gorgonia graph (the library's path) and through a hand-written step that
// calls the same sliced engine and BLAS directly, to measure gorgonia's overhead.
func BenchmarkStep(b *testing.B) {
	for _, w := range workloads {
		if testing.Short() && w.name != "W3" {
			continue
		}
		r := rand.New(rand.NewPCG(1, 2))
		x, y := randClasses(r, w.C, w.n, w.d), randClasses(r, w.C, w.m, w.d)
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			b.Run("gorgonia/"+dt.String()+"/"+w.String(), func(b *testing.B) {
				fl, err := flows.New(x, functionals.MMD{Target: y, SkipConstant: true}, flows.Config{
					Steps: 1 << 30, Directions: w.L, Seed: 1, Dtype: dt, Optimizer: &optim.Momentum{Tau: 1, M: 0.9}})
				if err != nil {
					b.Fatal(err)
				}
				defer fl.Close()
				if _, err := fl.Step(); err != nil { // warm-up
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := fl.Step(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/step")
			})
		}
		b.Run("hand/float64/"+w.String(), func(b *testing.B) {
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

// handStep is the Riesz ½MMD² momentum step written by hand: project with
// BLAS, sort once per (class, direction) in the sliced engine, closed-form
// kernel derivative, back-project with BLAS, WoW rescale, heavy ball.
type handStep struct {
	x, y        *graph.Dataset
	L           int
	rng         *rand.Rand
	theta       []float64 // d×L
	px, py, dpx []float64
	gx, v       []float64
	eng         *graph.Slicer
	w           []float64
}

func newHandStep(x, y *graph.Dataset, L int) *handStep {
	h := &handStep{x: x.Clone(), y: y, L: L, rng: rand.New(rand.NewPCG(1, 1))}
	h.theta = make([]float64, x.D*L)
	h.px, h.dpx = make([]float64, x.Len()*L), make([]float64, x.Len()*L)
	h.py = make([]float64, y.Len()*L)
	h.gx, h.v = make([]float64, len(x.Data)), make([]float64, len(x.Data))
	h.eng = graph.NewSlicer(2, true, x.Layout(), y.Layout())
	for c := 0; c < x.NumClasses(); c++ {
		h.w = append(h.w, x.Weight(c))
	}
	for c := 0; c < y.NumClasses(); c++ {
		h.w = append(h.w, -y.Weight(c))
	}
	return h
}

func gemm(tA blas.Transpose, a []float64, ar, ac int, tB blas.Transpose, bm []float64, br, bc int, c []float64, cr, cc int) {
	blas64.Gemm(tA, tB, 1, blas64.General{Rows: ar, Cols: ac, Stride: ac, Data: a},
		blas64.General{Rows: br, Cols: bc, Stride: bc, Data: bm}, 0, blas64.General{Rows: cr, Cols: cc, Stride: cc, Data: c})
}

func (h *handStep) step() {
	d, L, N, M := h.x.D, h.L, h.x.Len(), h.y.Len()
	_ = (functionals.RandomDirections{}).Draw(h.rng, d, L, h.theta)
	gemm(blas.NoTrans, h.x.Data, N, d, blas.NoTrans, h.theta, d, L, h.px, N, L)
	gemm(blas.NoTrans, h.y.Data, M, d, blas.NoTrans, h.theta, d, L, h.py, M, L)
	S := h.eng.Forward(L, h.px, h.py)
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
	h.eng.Backward(0, dout, h.dpx)
	gemm(blas.NoTrans, h.dpx, N, L, blas.Trans, h.theta, d, L, h.gx, N, d)
	for c := 0; c < C; c++ {
		s := float64(h.x.ClassSize(c)) / h.x.Weight(c)
		for i := h.x.Offsets[c] * d; i < h.x.Offsets[c+1]*d; i++ {
			h.v[i] = s*h.gx[i] + 0.9*h.v[i]
			h.x.Data[i] -= h.v[i]
		}
	}
}

// The hand-written step and the graph agree on the first step's particles.
func TestHandStepMatchesGraph(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x, y := randClasses(r, 3, 20, 5), randClasses(r, 3, 15, 5)
	h := newHandStep(x, y, 16)
	fl, err := flows.New(x, functionals.MMD{Target: y, SkipConstant: true}, flows.Config{Steps: 2, Directions: 16, Seed: 1,
		Optimizer: &optim.Momentum{Tau: 1, M: 0.9}})
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	// Both draw directions from PCG(1, 1) ⊕ seed differently; give the hand
	// step the flow's stream instead.
	h.rng = rand.New(rand.NewPCG(1, 1^0x9e3779b97f4a7c15))
	if _, err := fl.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.step()
	h.step()
	got := fl.Particles().Data
	for i := range got {
		if math.Abs(got[i]-h.x.Data[i]) > 1e-10 {
			t.Fatalf("particle coordinate %d: graph %v, hand-written %v", i, got[i], h.x.Data[i])
		}
	}
}

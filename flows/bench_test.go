package flows_test

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/optim"
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
	{"A500", 10, 500, 500, 784, 500}, // wow adapt at the paper's 500 images per class
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
// gorgonia graph (the library's path). graph's BenchmarkHandStep times the
// same step written by hand (the sliced engine and BLAS called directly), so
// that `go test -run X -bench . ./flows/ ./graph/` measures gorgonia's
// overhead.
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
	}
}

// handStep is the Riesz ½MMD² step (target block skipped) with heavy-ball
// momentum m = 0.9 and τ = 1, written without a graph: directions drawn as
// functionals.RandomDirections does, the sliced costs by
// graph.ReferenceSliced, their gradient in closed form, the WoW rescaling
// n_c/a_c.
type handStep struct {
	x, y *graph.Dataset
	L    int
	rng  *rand.Rand
	v    []float64
	w    []float64 // class weights, (a; −b)
}

func newHandStep(x, y *graph.Dataset, L int) *handStep {
	h := &handStep{x: x.Clone(), y: y, L: L, rng: rand.New(rand.NewPCG(1, 1)), v: make([]float64, len(x.Data))}
	for c := 0; c < x.NumClasses(); c++ {
		h.w = append(h.w, x.Weight(c))
	}
	for c := 0; c < y.NumClasses(); c++ {
		h.w = append(h.w, -y.Weight(c))
	}
	return h
}

func (h *handStep) step(t *testing.T) {
	t.Helper()
	d, L := h.x.D, h.L
	theta := make([]float64, d*L)
	if err := (functionals.RandomDirections{}).Draw(h.rng, d, L, theta); err != nil {
		t.Fatal(err)
	}
	S, err := graph.ReferenceSliced(theta, L, 2, h.x, h.y)
	if err != nil {
		t.Fatal(err)
	}
	G, C := len(h.w), h.x.NumClasses()
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
	// class g's rows of x (g < C) or of y, projected on θ_l.
	proj := func(g, l int) []float64 {
		ds, c := h.x, g
		if g >= C {
			ds, c = h.y, g-C
		}
		rows, n := ds.Class(c), ds.ClassSize(c)
		p := make([]float64, n)
		for i := range p {
			for k := 0; k < d; k++ {
				p[i] += rows[i*d+k] * theta[k*L+l]
			}
		}
		return p
	}
	grad := make([]float64, len(h.x.Data))
	for l := 0; l < L; l++ {
		for g := 0; g < C; g++ {
			a := proj(g, l)
			n := len(a)
			rank := make([]int, n) // rank[r] = the row of order statistic r
			for i := range rank {
				rank[i] = i
			}
			slices.SortFunc(rank, func(i, j int) int { return cmp.Compare(a[i], a[j]) })
			for k := 0; k < G; k++ {
				coef := (dout[g*G+k] + dout[k*G+g]) / float64(L)
				if k == g || coef == 0 {
					continue
				}
				b := proj(k, l)
				slices.Sort(b)
				m := len(b)
				// ∂/∂a_(r) ∫_0^1 |F_a^{-1} − F_b^{-1}|² = 2 Σ_j w_rj (a_(r) − b_(j)),
				// w_rj the length of [r/n, (r+1)/n] ∩ [j/m, (j+1)/m].
				for r, i := range rank {
					s := 0.0
					for j, bj := range b {
						lo := max(float64(r)/float64(n), float64(j)/float64(m))
						hi := min(float64(r+1)/float64(n), float64(j+1)/float64(m))
						if hi > lo {
							s += 2 * (hi - lo) * (a[i] - bj)
						}
					}
					row := (h.x.Offsets[g] + i) * d
					for q := 0; q < d; q++ {
						grad[row+q] += coef * s * theta[q*L+l]
					}
				}
			}
		}
	}
	for c := 0; c < C; c++ {
		s := float64(h.x.ClassSize(c)) / h.x.Weight(c)
		for i := h.x.Offsets[c] * d; i < h.x.Offsets[c+1]*d; i++ {
			h.v[i] = s*grad[i] + 0.9*h.v[i]
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
	h.step(t)
	h.step(t)
	got := fl.Particles().Data
	for i := range got {
		if math.Abs(got[i]-h.x.Data[i]) > 1e-10 {
			t.Fatalf("particle coordinate %d: graph %v, hand-written %v", i, got[i], h.x.Data[i])
		}
	}
}

package functionals_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/internal/gradcheck"
	"github.com/wowflow/wowflow/optim"
)

func newRand(a, b uint64) *rand.Rand { return rand.New(rand.NewPCG(a, b)) }

// plainConvNet is RandomConvNet's map with weights ws, row by row.
func plainConvNet(x []float64, n, h, w, width int, ws [][]float64) []float64 {
	var out []float64
	for r := 0; r < n; r++ {
		cur := x[r*h*w : (r+1)*h*w]
		c, hh, ww := 1, h, w
		for _, W := range ws {
			cur = graph.PlainConv2D(cur, W, make([]float64, width), c, hh, ww, 3, 1)
			cur = graph.PlainInstanceNorm(cur, width, hh*ww)
			for i, v := range cur {
				cur[i] = math.Max(v, 0)
			}
			cur = graph.PlainAvgPool2(cur, width, hh, ww)
			c, hh, ww = width, hh/2, ww/2
		}
		out = append(out, cur...)
	}
	return out
}

// weightedSum returns Σ y ⊙ R for a constant R of y's shape.
func weightedSum(t testing.TB, y *gorgonia.Node, rv []float64) *gorgonia.Node {
	t.Helper()
	R := gorgonia.NewTensor(y.Graph(), y.Dtype(), y.Shape().Dims(), gorgonia.WithShape(y.Shape().Clone()...),
		gorgonia.WithName(fmt.Sprintf("R_%s", y.Name())), gorgonia.WithValue(graph.DenseFrom(y.Dtype(), rv, y.Shape().Clone()...)))
	p, err := gorgonia.HadamardProd(y, R)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gorgonia.Sum(p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// convNetWeights returns the current weights of the random ConvNet on env.
func convNetWeights(t *testing.T, env *functionals.Env, h, w, width, depth int) [][]float64 {
	t.Helper()
	var ws [][]float64
	for i := 0; i < depth; i++ {
		name := fmt.Sprintf("random_convnet_%dx%d_w%d_d%d.conv%d.weight", h, w, width, depth, i+1)
		ns := env.G.ByName(name)
		if len(ns) != 1 {
			t.Fatalf("%d nodes named %s, want 1", len(ns), name)
		}
		v, err := graph.Float64s(ns[0].Value())
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, append([]float64(nil), v...))
	}
	return ws
}

// mapOn applies φ to a new input node of env holding the n rows of x.
func mapOn(t testing.TB, env *functionals.Env, phi functionals.MapFunc, name string, x []float64, n, d int) (*gorgonia.Node, *gorgonia.Node) {
	t.Helper()
	xn := gorgonia.NewMatrix(env.G, env.Dtype, gorgonia.WithShape(n, d), gorgonia.WithName(env.UniqueName(name)),
		gorgonia.WithValue(graph.DenseFrom(env.Dtype, append([]float64(nil), x...), n, d)))
	y, err := phi(env, xn)
	if err != nil {
		t.Fatal(err)
	}
	return xn, y
}

func run(t testing.TB, g *gorgonia.ExprGraph) {
	t.Helper()
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
}

func values(t testing.TB, n *gorgonia.Node) []float64 {
	t.Helper()
	v, err := graph.Float64s(n.Value())
	if err != nil {
		t.Fatal(err)
	}
	return append([]float64(nil), v...)
}

// φ's graph values equal the plain-loop ConvNet with the drawn weights, in
// float64 and float32; two datasets mapped on one Env share the weights; a
// new draw changes them.
func TestRandomConvNetValues(t *testing.T) {
	r := newRand(75, 76)
	for _, c := range []struct{ h, w, width, depth int }{{8, 8, 4, 2}, {7, 6, 3, 2}, {12, 12, 5, 3}, {5, 9, 2, 1}} {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			t.Run(fmt.Sprintf("%dx%d,width=%d,depth=%d/%v", c.h, c.w, c.width, c.depth, dt), func(t *testing.T) {
				const n = 3
				d := c.h * c.w
				phi, err := functionals.RandomConvNet(c.h, c.w, c.width, c.depth)
				if err != nil {
					t.Fatal(err)
				}
				env, err := functionals.NewEnv(dt, 1)
				if err != nil {
					t.Fatal(err)
				}
				x := randSlice(r, n*d)
				_, ya := mapOn(t, env, phi, "a", x, n, d)
				_, yb := mapOn(t, env, phi, "b", x, n, d)
				_, yc := mapOn(t, env, phi, "c", randSlice(r, 2*d), 2, d)
				// A fixed input (a target) goes through the forward-only op.
				fixed, err := env.Constant("target", n, d, x)
				if err != nil {
					t.Fatal(err)
				}
				yd, err := phi(env, fixed)
				if err != nil {
					t.Fatal(err)
				}
				if !env.Fixed(fixed) || !env.Fixed(yd) || env.Fixed(ya) {
					t.Fatalf("Fixed: target %v, its features %v, particles' features %v; want true, true, false", env.Fixed(fixed), env.Fixed(yd), env.Fixed(ya))
				}
				if op := yd.Op().String(); !strings.HasPrefix(op, "ConvBlocks") {
					t.Fatalf("the target's features come from %s, want ConvBlocks", op)
				}
				out := c.width * (c.h >> c.depth) * (c.w >> c.depth)
				if s := ya.Shape(); len(s) != 2 || s[0] != n || s[1] != out {
					t.Fatalf("shape %v, want %d×%d", s, n, out)
				}
				if s := yc.Shape(); s[0] != 2 || s[1] != out {
					t.Fatalf("shape %v, want 2×%d", s, out)
				}
				rng := newRand(1, 2)
				if err := env.Update(rng); err != nil {
					t.Fatal(err)
				}
				run(t, env.G)
				ws := convNetWeights(t, env, c.h, c.w, c.width, c.depth) // one node per block: shared
				a, b, fa := values(t, ya), values(t, yb), values(t, yd)
				want := plainConvNet(x, n, c.h, c.w, c.width, ws)
				tol := 1e-12 // float64 round-off through a few normalisations
				if dt == tensor.Float32 {
					tol = 1e-4 // float32 round-off, amplified by 1/s of planes of small variance
				}
				for i := range want {
					if a[i] != b[i] {
						t.Fatalf("value %d: φ(x) through two input nodes: %v and %v", i, a[i], b[i])
					}
					if math.Abs(a[i]-want[i]) > tol*(1+math.Abs(want[i])) {
						t.Fatalf("value %d: graph %v, plain loops %v", i, a[i], want[i])
					}
					if math.Abs(fa[i]-want[i]) > tol*(1+math.Abs(want[i])) {
						t.Fatalf("value %d: forward-only op %v, plain loops %v", i, fa[i], want[i])
					}
				}
				// A second draw: new weights, new features.
				if err := env.Update(rng); err != nil {
					t.Fatal(err)
				}
				run(t, env.G)
				ws2 := convNetWeights(t, env, c.h, c.w, c.width, c.depth)
				a2 := values(t, ya)
				for i := range ws {
					same := 0
					for k := range ws[i] {
						if ws[i][k] == ws2[i][k] {
							same++
						}
					}
					if same > 0 {
						t.Errorf("block %d: %d of %d weights unchanged by a new draw", i+1, same, len(ws[i]))
					}
				}
				if fmt.Sprint(a) == fmt.Sprint(a2) {
					t.Errorf("features unchanged by a new draw")
				}
				// PyTorch's bound 1/√fan_in.
				for i, wi := range ws2 {
					fanIn := 9 // one input channel
					if i > 0 {
						fanIn = 9 * c.width
					}
					bound := 1 / math.Sqrt(float64(fanIn))
					for _, v := range wi {
						if math.Abs(v) > bound*(1+1e-6) {
							t.Fatalf("block %d: weight %v outside ±%v", i+1, v, bound)
						}
					}
				}
			})
		}
	}
}

// ∂/∂x Σ φ(x) ⊙ R, the weights fixed by one draw, against central
// differences, on even and odd image sizes.
func TestRandomConvNetInputGradient(t *testing.T) {
	r := newRand(77, 78)
	for _, c := range []struct{ h, w, width, depth int }{{6, 6, 3, 2}, {7, 5, 2, 2}, {4, 4, 2, 1}} {
		t.Run(fmt.Sprintf("%dx%d,width=%d,depth=%d", c.h, c.w, c.width, c.depth), func(t *testing.T) {
			const n = 2
			d := c.h * c.w
			phi, err := functionals.RandomConvNet(c.h, c.w, c.width, c.depth)
			if err != nil {
				t.Fatal(err)
			}
			env, err := functionals.NewEnv(tensor.Float64, 1)
			if err != nil {
				t.Fatal(err)
			}
			x := randSlice(r, n*d)
			xn, y := mapOn(t, env, phi, "x", x, n, d)
			loss := weightedSum(t, y, randSlice(r, y.Shape().TotalSize()))
			if err := env.Update(newRand(3, 4)); err != nil {
				t.Fatal(err)
			}
			res, err := gradcheck.Check(env.G, loss, xn, x, 1e-6, 1e-4)
			if err != nil {
				t.Fatal(err)
			}
			// gonum's tolerance; ReLU kinks lie within 1e-6 of a random input
			// with negligible probability.
			if res.MaxRelErr > 1e-5 {
				t.Errorf("input %d: gradient %v, central difference %v (relative error %.3g)", res.Index, res.Analytic, res.Numeric, res.MaxRelErr)
			}
			if res.Analytic == 0 && res.Numeric == 0 {
				t.Errorf("zero gradient everywhere")
			}
		})
	}
}

// The same check along random directions on MNIST-size images, with more
// images than the convolution's 64 parallel chunks (graph's convChunks).
func TestRandomConvNetInputGradientLarge(t *testing.T) {
	r := newRand(85, 86)
	const n, h, width, depth = 64 + 3, 28, 8, 3
	phi, err := functionals.RandomConvNet(h, h, width, depth)
	if err != nil {
		t.Fatal(err)
	}
	env, err := functionals.NewEnv(tensor.Float64, 1)
	if err != nil {
		t.Fatal(err)
	}
	x := randSlice(r, n*h*h)
	xn, y := mapOn(t, env, phi, "x", x, n, h*h)
	loss := weightedSum(t, y, randSlice(r, y.Shape().TotalSize()))
	if err := env.Update(newRand(7, 8)); err != nil {
		t.Fatal(err)
	}
	res, err := gradcheck.Directional(env.G, loss, xn, x, r, 3, 1e-6, 1e-4)
	if err != nil {
		t.Fatal(err)
	}
	if res.MaxRelErr > 1e-5 { // as in TestRandomConvNetInputGradient
		t.Errorf("direction %d: derivative %v, central difference %v", res.Index, res.Analytic, res.Numeric)
	}
}

// The float32 gradient agrees with the float64 one.
func TestRandomConvNetFloat32Gradient(t *testing.T) {
	r := newRand(79, 80)
	const n, h, w, width, depth = 4, 12, 12, 6, 3
	x := randSlice(r, n*h*w)
	rv := randSlice(r, n*width)
	var grads [2][]float64
	for k, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		phi, err := functionals.RandomConvNet(h, w, width, depth)
		if err != nil {
			t.Fatal(err)
		}
		env, err := functionals.NewEnv(dt, 1)
		if err != nil {
			t.Fatal(err)
		}
		xn, y := mapOn(t, env, phi, "x", x, n, h*w)
		g, err := gorgonia.Grad(weightedSum(t, y, rv), xn)
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Update(newRand(5, 6)); err != nil {
			t.Fatal(err)
		}
		run(t, env.G)
		grads[k] = values(t, g[0])
	}
	scale := 0.0
	for _, v := range grads[0] {
		scale = math.Max(scale, math.Abs(v))
	}
	for i := range grads[0] {
		// float32 round-off (~1e-7) amplified through three normalisations.
		if math.Abs(grads[0][i]-grads[1][i]) > 1e-4*scale {
			t.Fatalf("gradient %d: float64 %v, float32 %v", i, grads[0][i], grads[1][i])
		}
	}
}

func TestRandomConvNetErrors(t *testing.T) {
	for _, c := range []struct{ h, w, width, depth int }{
		{0, 8, 4, 1}, {8, 8, 0, 1}, {8, 8, 4, 0}, {7, 8, 4, 3}, {8, 3, 4, 2}, {8, 8, 1 << 13, 1},
	} {
		if _, err := functionals.RandomConvNet(c.h, c.w, c.width, c.depth); !errors.Is(err, functionals.ErrParam) {
			t.Errorf("RandomConvNet%v: error %v, want ErrParam", c, err)
		}
	}
	phi, err := functionals.RandomConvNet(8, 8, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	env, _ := functionals.NewEnv(tensor.Float64, 1)
	x := gorgonia.NewMatrix(env.G, tensor.Float64, gorgonia.WithShape(2, 63), gorgonia.WithName("x"))
	if _, err := phi(env, x); !errors.Is(err, functionals.ErrParam) {
		t.Errorf("input of 63 columns: error %v, want ErrParam", err)
	}
}

// barImages returns n s×s images of a bright horizontal (class 0) or
// vertical (class 1) bar through row or column 5, plus pixel noise of
// standard deviation sigma.
func barImages(r *rand.Rand, n, s, class int, sigma float64) []float64 {
	x := make([]float64, n*s*s)
	for i := 0; i < n; i++ {
		img := x[i*s*s : (i+1)*s*s]
		for k := range img {
			img[k] = sigma * r.NormFloat64()
		}
		for k := 0; k < s; k++ {
			if class == 0 {
				img[5*s+k] += 1
			} else {
				img[k*s+5] += 1
			}
		}
	}
	return x
}

// A flow of faint noise images towards bar images through the random
// ConvNet (redrawn every step) decreases the embedded MMD.
func TestRandomConvNetFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("100 flow steps")
	}
	r := newRand(81, 1)
	const s = 12
	y, err := graph.FromClasses(s*s, barImages(r, 16, s, 0, 0.05), barImages(r, 16, s, 1, 0.05))
	if err != nil {
		t.Fatal(err)
	}
	x, err := graph.FromClasses(s*s, randScaled(r, 6*s*s, 0.1), randScaled(r, 6*s*s, 0.1))
	if err != nil {
		t.Fatal(err)
	}
	phi, err := functionals.RandomConvNet(s, s, 8, 2)
	if err != nil {
		t.Fatal(err)
	}
	pf := functionals.Pushforward{Name: "convnet", Map: phi, F: functionals.MMD{Target: y}}
	// φ is scale-invariant, so ∂F/∂x is orthogonal to x and of order 1/‖x‖:
	// the flow needs a larger step than the default τ = 0.1 (with τ = 0.1
	// the loss fell by about a third in 100 steps; with τ = 1 to between 0.09
	// and 0.17 of its first value for flow seeds 1 to 4).
	fl, err := flows.New(x, pf, flows.Config{Steps: 100, Directions: 64, Seed: 1, Optimizer: &optim.Momentum{Tau: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	first, _, err := fl.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	res, err := fl.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("embedded MMD %.4g → %.4g in %d steps (%v)", first, res.Loss, res.Steps, res.Elapsed)
	if !(res.Loss < 0.5*first) {
		t.Errorf("loss %v → %v, want below half", first, res.Loss)
	}
}

func randScaled(r *rand.Rand, n int, s float64) []float64 {
	x := randSlice(r, n)
	for i := range x {
		x[i] *= s
	}
	return x
}

// BenchmarkRandomConvNet times one draw of the weights, φ and ∂/∂x Σ φ(x) ⊙ R
// for MNIST-size images, as one step of an embedded flow computes them.
func BenchmarkRandomConvNet(b *testing.B) {
	const n, h, width, depth = 256, 28, 32, 3
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		b.Run(fmt.Sprintf("n=%d,%dx%d,width=%d,depth=%d/%v", n, h, h, width, depth, dt), func(b *testing.B) {
			r := newRand(83, 84)
			phi, err := functionals.RandomConvNet(h, h, width, depth)
			if err != nil {
				b.Fatal(err)
			}
			env, err := functionals.NewEnv(dt, 1)
			if err != nil {
				b.Fatal(err)
			}
			xn, y := mapOn(b, env, phi, "x", randSlice(r, n*h*h), n, h*h)
			loss := weightedSum(b, y, randSlice(r, y.Shape().TotalSize()))
			g, err := gorgonia.Grad(loss, xn)
			if err != nil {
				b.Fatal(err)
			}
			vm := gorgonia.NewTapeMachine(env.G.ExactSubgraphRoots(loss, g[0]))
			defer vm.Close()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := env.Update(r); err != nil {
					b.Fatal(err)
				}
				vm.Reset()
				if err := vm.RunAll(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

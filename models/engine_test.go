package models

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/optim"
)

// engineModels returns small models of every architecture and layer
// pattern the engine runs: LeNet (max pooling, odd sizes), ConvNets of
// depth 2 and 3 (instance norm, average pooling, odd sizes), MLPs (one with
// dense products split into row blocks) and a linear model.
func engineModels(t *testing.T) []namedModel {
	t.Helper()
	r := newRand(41, 42)
	var out []namedModel
	for _, c := range []struct {
		name string
		mk   func() (*Net, error)
	}{
		{"lenet12x12", func() (*Net, error) { return NewLeNet(12, 12, 3, r) }},
		{"lenet15x17", func() (*Net, error) { return NewLeNet(15, 17, 4, r) }},
		{"convnet9x11/w4d2", func() (*Net, error) { return NewConvNet(9, 11, 4, 2, 3, r) }},
		{"convnet16x16/w8d3", func() (*Net, error) { return NewConvNet(16, 16, 8, 3, 10, r) }},
		{"mlp", func() (*Net, error) { return NewMLP(6, []int{7, 5}, 3, r) }},
		{"mlp-no-hidden", func() (*Net, error) { return NewMLP(5, nil, 4, r) }},
		{"linear", func() (*Net, error) { return NewLinear(5, 3, randSlice(r, 15), randSlice(r, 3)) }},
		// Dense products large enough to be split into row blocks (gemmRows).
		{"mlp-wide", func() (*Net, error) { return NewMLP(200, []int{300}, 10, r) }},
	} {
		m, err := c.mk()
		if err != nil {
			t.Fatal(err)
		}
		// Weights larger than the initialisation's, so that every layer
		// matters to the loss.
		for _, p := range m.params {
			for j := range p.data {
				p.data[j] *= 1.5
			}
		}
		out = append(out, namedModel{c.name, m})
	}
	return out
}

// graphLossGrad returns the logits, the mean cross-entropy and its weight
// gradients of the rows x of nt with labels y on the gorgonia graph path
// (Net.forward, graph.MeanCrossEntropy, gorgonia.Grad), in float64.
func graphLossGrad(t *testing.T, nt *Net, x []float64, y []int) ([]float64, float64, [][]float64) {
	t.Helper()
	n := len(y)
	g := gorgonia.NewGraph()
	xn := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(n, nt.d), gorgonia.WithName("x"),
		gorgonia.WithValue(graph.DenseFrom(tensor.Float64, append([]float64(nil), x...), n, nt.d)))
	oh := make([]float64, n*nt.classes)
	for i, c := range y {
		oh[i*nt.classes+c] = 1
	}
	yn := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(n, nt.classes), gorgonia.WithName("y"),
		gorgonia.WithValue(graph.DenseFrom(tensor.Float64, oh, n, nt.classes)))
	ws := nt.weightNodes(g, tensor.Float64, "w.")
	z, err := nt.forward(xn, ws)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := graph.MeanCrossEntropy(z, yn)
	if err != nil {
		t.Fatal(err)
	}
	grads, err := gorgonia.Grad(loss, ws...)
	if err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	zv, err := graph.Float64s(z.Value())
	if err != nil {
		t.Fatal(err)
	}
	gs := make([][]float64, len(grads))
	for i, gn := range grads {
		v, err := graph.Float64s(gn.Value())
		if err != nil {
			t.Fatal(err)
		}
		gs[i] = append([]float64(nil), v...)
	}
	return append([]float64(nil), zv...), float64(*loss.Value().(*gorgonia.F64)), gs
}

// engineLossGrad is graphLossGrad on the engine in F (a fresh one for
// rows rows, of which the first len(y) are used).
func engineLossGrad[F float](t *testing.T, nt *Net, rows int, x []float64, y []int) ([]float64, float64, [][]float64) {
	t.Helper()
	e, err := newEngine[F](nt, rows, true)
	if err != nil {
		t.Fatal(err)
	}
	e.setWeights()
	n := len(y)
	for i, v := range x {
		e.x[i] = F(v)
	}
	z := e.forward(n)
	loss, _ := lossGrad(z, e.dB[0], n, nt.classes, func(r int) int { return y[r] })
	zc := toF64(z)
	e.backward(n)
	gs := make([][]float64, len(e.g))
	for i, g := range e.g {
		gs[i] = toF64(g)
	}
	return zc, loss, gs
}

func toF64[F float](x []F) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// The float32 engine (assembly kernels where the CPU has them) agrees with
// the float64 one to float32 round-off, on LeNet-5 at MNIST's size (a
// padded first convolution, a second of 6 channels: both wide) and on a
// ConvNet, over batches of one and of several images per chunk.
func TestEngineFloat32(t *testing.T) {
	r := newRand(47, 48)
	lenet, err := NewLeNet(28, 28, 10, r)
	if err != nil {
		t.Fatal(err)
	}
	convnet, err := NewConvNet(16, 16, 8, 3, 10, r)
	if err != nil {
		t.Fatal(err)
	}
	const tol = 2e-4 // float32 sums of up to a few thousand terms
	for _, nm := range []namedModel{{"lenet28x28", lenet}, {"convnet16x16/w8d3", convnet}} {
		for _, n := range []int{1, 37} {
			t.Run(fmt.Sprintf("%s/n=%d", nm.name, n), func(t *testing.T) {
				nt := nm.m
				x := randSlice(r, n*nt.d)
				y := make([]int, n)
				for i := range y {
					y[i] = r.IntN(nt.classes)
				}
				z64, l64, g64 := engineLossGrad[float64](t, nt, n, x, y)
				z32, l32, g32 := engineLossGrad[float32](t, nt, n, x, y)
				if i := closeTo(z32, z64, tol); i >= 0 {
					t.Fatalf("logit %d: float32 %v, float64 %v", i, z32[i], z64[i])
				}
				if math.Abs(l32-l64) > tol*math.Abs(l64) {
					t.Errorf("loss: float32 %v, float64 %v", l32, l64)
				}
				// Gradients that are zero in exact arithmetic (a bias before
				// instance norm) are float32 round-off of the others: measure
				// every error against at least 1e-3 of the largest gradient.
				floor := 0.0
				for _, g := range g64 {
					for _, v := range g {
						floor = math.Max(floor, 1e-3*math.Abs(v))
					}
				}
				for p := range g64 {
					if i := closeToFloor(g32[p], g64[p], tol, floor); i >= 0 {
						t.Errorf("gradient of %s[%d]: float32 %v, float64 %v", nt.params[p].name, i, g32[p][i], g64[p][i])
					}
				}
			})
		}
	}
}

// closeTo reports the first element of got farther than
// tol·max(max|want|, 1e-4) from want (-1 if none); the floor 1e-4 (as
// gradcheck's) covers gradients that are zero in exact arithmetic, such as
// those of a bias before instance normalisation.
func closeTo(got, want []float64, tol float64) int { return closeToFloor(got, want, tol, 1e-4) }

// closeToFloor is closeTo with the scale at least floor.
func closeToFloor(got, want []float64, tol, floor float64) int {
	scale := floor
	for _, v := range want {
		scale = math.Max(scale, math.Abs(v))
	}
	for i := range want {
		if !(math.Abs(got[i]-want[i]) <= tol*scale) {
			return i
		}
	}
	return -1
}

// The engine's logits, loss and every weight gradient equal the gorgonia
// graph's in float64 (up to round-off: both sum in different orders), for
// batches of one chunk of images and of several images per chunk, run on
// an engine of exactly those rows and on a larger one.
func TestEngineMatchesGraph(t *testing.T) {
	forLayouts(t, testEngineMatchesGraph)
}

// forLayouts runs test with wide convolutions where the engine makes them
// (up to wideMaxFilters filters) and with none.
func forLayouts(t *testing.T, test func(t *testing.T)) {
	for _, wide := range []int{wideMaxFilters, 0} {
		t.Run(fmt.Sprintf("wide<=%d", wide), func(t *testing.T) {
			defer func(w int) { wideMaxFilters = w }(wideMaxFilters)
			wideMaxFilters = wide
			test(t)
		})
	}
}

func testEngineMatchesGraph(t *testing.T) {
	r := newRand(43, 44)
	const tol = 1e-10 // float64 round-off of sums of a few thousand terms is ~1e-13
	for _, nm := range engineModels(t) {
		for _, c := range []struct{ n, rows int }{{1, 1}, {3, 3}, {37, 37}, {37, 50}} {
			t.Run(fmt.Sprintf("%s/n=%d,cap=%d", nm.name, c.n, c.rows), func(t *testing.T) {
				nt := nm.m
				x := randSlice(r, c.n*nt.d)
				y := make([]int, c.n)
				for i := range y {
					y[i] = r.IntN(nt.classes)
				}
				zw, lw, gw := graphLossGrad(t, nt, x, y)
				zg, lg, gg := engineLossGrad[float64](t, nt, c.rows, x, y)
				if i := closeTo(zg, zw, tol); i >= 0 {
					t.Fatalf("logit %d: engine %v, graph %v", i, zg[i], zw[i])
				}
				if math.Abs(lg-lw) > tol*math.Abs(lw) {
					t.Errorf("loss: engine %v, graph %v", lg, lw)
				}
				for p := range gw {
					if i := closeTo(gg[p], gw[p], tol); i >= 0 {
						t.Errorf("gradient of %s[%d]: engine %v, graph %v", nt.params[p].name, i, gg[p][i], gw[p][i])
					}
				}
			})
		}
	}
}

// The engine's weight gradients against central differences of its own
// loss (float64), on a random sample of coordinates of every parameter.
func TestEngineGradientFD(t *testing.T) { forLayouts(t, testEngineGradientFD) }

func testEngineGradientFD(t *testing.T) {
	r := newRand(45, 46)
	for _, nm := range engineModels(t) {
		t.Run(nm.name, func(t *testing.T) {
			nt := nm.m
			const n = 20 // several images per chunk
			x := randSlice(r, n*nt.d)
			y := make([]int, n)
			for i := range y {
				y[i] = r.IntN(nt.classes)
			}
			e, err := newEngine[float64](nt, n, true)
			if err != nil {
				t.Fatal(err)
			}
			copy(e.x, x)
			lossAt := func() float64 {
				z := e.forward(n)
				l, _ := lossGrad(z, e.dB[0], n, nt.classes, func(r int) int { return y[r] })
				return l
			}
			e.setWeights()
			lossAt()
			e.backward(n)
			for p := range e.w {
				grad := append([]float64(nil), e.g[p]...)
				for range min(len(grad), 8) {
					j := r.IntN(len(grad))
					const h = 1e-6 // gonum's fd step; round-off ~1e-10
					w0 := e.w[p][j]
					e.w[p][j] = w0 + h
					lp := lossAt()
					e.w[p][j] = w0 - h
					lm := lossAt()
					e.w[p][j] = w0
					num := (lp - lm) / (2 * h)
					// As TestWeightGradient: relative to max(|g|, 1e-4).
					if rel := math.Abs(num-grad[j]) / math.Max(math.Max(math.Abs(num), math.Abs(grad[j])), 1e-4); rel > 1e-5 {
						t.Errorf("%s[%d]: gradient %v, central difference %v (relative error %.3g)", nt.params[p].name, j, grad[j], num, rel)
					}
				}
			}
		})
	}
}

// Predict on the engine equals the graph path's predictions.
func TestPredictMatchesGraph(t *testing.T) {
	r := newRand(47, 48)
	for _, nm := range engineModels(t) {
		t.Run(nm.name, func(t *testing.T) {
			x := randSlice(r, 60*nm.m.d)
			got, err := Predict(nm.m, x)
			if err != nil {
				t.Fatal(err)
			}
			want, err := predictGraph(nm.m, x, tensor.Float64, evalBatch)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("engine predicts %v, graph %v", got, want)
			}
		})
	}
}

// Training in float64 on the engine follows the graph path's training (the
// same shuffles, loss and AdamW) to round-off, over a few epochs with a
// partial last batch.
func TestTrainMatchesGraph(t *testing.T) {
	for _, nm := range engineModels(t) {
		t.Run(nm.name, func(t *testing.T) {
			r := newRand(49, 50)
			n := 45
			x := randSlice(r, n*nm.m.d)
			y := make([]int, n)
			for i := range y {
				y[i] = r.IntN(nm.m.classes)
			}
			cfg := TrainConfig{Epochs: 3, Batch: 16, LR: 1e-3, WeightDecay: 0.01, Seed: 7, Float64: true}
			a, b := nm.m.clone(), nm.m.clone()
			ra, err := Train(a, x, y, cfg)
			if err != nil {
				t.Fatal(err)
			}
			rb, err := trainGraph(b, x, y, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if ra.Steps != rb.Steps || ra.Epochs != rb.Epochs || ra.FinalAccuracy != rb.FinalAccuracy ||
				math.Abs(ra.FinalLoss-rb.FinalLoss) > 1e-9*math.Abs(rb.FinalLoss) {
				t.Errorf("engine %+v, graph %+v", ra, rb)
			}
			// Adam divides by √s: round-off differences of 1e-16 in a
			// gradient move a weight by up to ~1e-16·LR/ε-scale; 1e-7 of
			// the largest weight is far above that and far below a step.
			for p := range a.params {
				if i := closeTo(a.params[p].data, b.params[p].data, 1e-7); i >= 0 {
					t.Errorf("%s[%d]: engine %v, graph %v", a.params[p].name, i, a.params[p].data[i], b.params[p].data[i])
				}
			}
		})
	}
}

// Same seed, bit-identical weights, on one core and on two.
func TestTrainEngineDeterministic(t *testing.T) { forLayouts(t, testTrainEngineDeterministic) }

func testTrainEngineDeterministic(t *testing.T) {
	for _, nm := range engineModels(t) {
		t.Run(nm.name, func(t *testing.T) {
			r := newRand(51, 52)
			n := 70
			x := randSlice(r, n*nm.m.d)
			y := make([]int, n)
			for i := range y {
				y[i] = r.IntN(nm.m.classes)
			}
			train := func(procs int) *Net {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				m := nm.m.clone()
				if _, err := Train(m, x, y, TrainConfig{Epochs: 2, Batch: 32, LR: 1e-3, Seed: 3}); err != nil {
					t.Fatal(err)
				}
				return m
			}
			a, b, c := train(2), train(2), train(1)
			for p := range a.params {
				if !slices.Equal(a.params[p].data, b.params[p].data) {
					t.Errorf("%s: two runs differ", a.params[p].name)
				}
				if !slices.Equal(a.params[p].data, c.params[p].data) {
					t.Errorf("%s: GOMAXPROCS 1 and 2 differ", a.params[p].name)
				}
			}
		})
	}
}

// A diverging run leaves the weights as they were.
func TestTrainDivergedKeepsWeights(t *testing.T) {
	m, err := NewLeNet(12, 12, 2, newRand(53, 54))
	if err != nil {
		t.Fatal(err)
	}
	before := m.clone()
	x, y := squares(newRand(55, 56), 10, 12)
	_, err = Train(m, x, y, TrainConfig{Epochs: 5, Batch: 4, LR: 1e30})
	if err == nil {
		t.Fatal("no error with learning rate 1e30")
	}
	for p := range m.params {
		if !slices.Equal(m.params[p].data, before.params[p].data) {
			t.Errorf("%s changed by a failed run (%v)", m.params[p].name, err)
		}
	}
}

// clone returns a deep copy of n.
func (n *Net) clone() *Net {
	c := *n
	c.layers = slices.Clone(n.layers)
	c.params = slices.Clone(n.params)
	for i := range c.params {
		c.params[i].data = slices.Clone(n.params[i].data)
	}
	return &c
}

// The engine's AdamW makes the updates of optim.Adam with WeightDecay (the
// optimizer Train used before the engine), in float32 and float64.
func TestAdamWMatchesOptim(t *testing.T) {
	t.Run("float32", func(t *testing.T) { testAdamW[float32](t) })
	t.Run("float64", func(t *testing.T) { testAdamW[float64](t) })
}

func testAdamW[F float](t *testing.T) {
	r := newRand(57, 58)
	sizes := []int{3, adamBlock + 5, 40} // one parameter over two blocks
	w, g := make([][]F, len(sizes)), make([][]F, len(sizes))
	params := make([]gorgonia.ValueGrad, len(sizes))
	ref := make([][]F, len(sizes))
	for i, n := range sizes {
		w[i], g[i], ref[i] = make([]F, n), make([]F, n), make([]F, n)
		for j := range w[i] {
			w[i][j] = F(r.NormFloat64())
		}
		copy(ref[i], w[i])
		params[i] = optim.Param{Val: tensor.New(tensor.WithShape(n), tensor.WithBacking(ref[i])),
			Gradient: tensor.New(tensor.WithShape(n), tensor.WithBacking(g[i])), Label: fmt.Sprint(i)}
	}
	const lr, wd = 1e-2, 0.05
	o := newAdamW(lr, wd, w)
	ad := optim.NewAdam(lr)
	ad.WeightDecay = wd
	for step := 0; step < 5; step++ {
		for i := range g {
			for j := range g[i] {
				g[i][j] = F(r.NormFloat64())
			}
		}
		o.step(w, g)
		if err := ad.Step(params); err != nil {
			t.Fatal(err)
		}
	}
	for i := range w {
		for j := range w[i] {
			// The same operations but for the bias corrections (products
			// with reciprocals): equal up to float64 round-off.
			if d := math.Abs(float64(w[i][j] - ref[i][j])); d > 1e-6*math.Abs(float64(ref[i][j])) {
				t.Fatalf("parameter %d[%d]: engine %v, optim %v", i, j, w[i][j], ref[i][j])
			}
		}
	}
}

// BenchmarkAdamW times one AdamW step on LeNet's float32 parameters, with
// the AVX2 loop (asm, where the machine has it) and the plain-Go loop
// (go), in the same invocation.
func BenchmarkAdamW(b *testing.B) {
	net, err := NewLeNet(28, 28, 10, newRand(1, 2))
	if err != nil {
		b.Fatal(err)
	}
	r := newRand(3, 4)
	var w, g [][]float32
	for _, p := range net.params {
		wi, gi := make([]float32, len(p.data)), make([]float32, len(p.data))
		for j := range wi {
			wi[j], gi[j] = float32(p.data[j]), float32(r.NormFloat64())
		}
		w, g = append(w, wi), append(g, gi)
	}
	for _, asm := range []bool{true, false} {
		name := map[bool]string{true: "asm", false: "go"}[asm]
		b.Run(name, func(b *testing.B) {
			if asm && !useAVX2 {
				b.Skip("no AVX2+FMA on this machine or build")
			}
			defer func(u bool) { useAVX2 = u }(useAVX2)
			useAVX2 = asm
			o := newAdamW(3e-4, 0.01, w)
			for i := 0; i < b.N; i++ {
				o.step(w, g)
			}
		})
	}
}

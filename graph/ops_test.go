package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wowflow/wowflow/internal/gradcheck"
)

// imageOp applies one of the image ops to a 4-D input node; plain is the
// same map in plain Go.
type imageOp struct {
	name  string
	shape []int
	apply func(*gorgonia.Node) (*gorgonia.Node, error)
	plain func(x []float64, s []int) []float64
}

// conv2DCase is a convolution by o random filters of k×k with padding pad,
// and random biases, of inputs of shape s.
func conv2DCase(r *rand.Rand, s []int, o, k, pad int) imageOp {
	w, b := randSlice(r, o*s[1]*k*k), randSlice(r, o)
	return imageOp{
		name:  fmt.Sprintf("conv%dx%dp%d:%d/%v", k, k, pad, o, s),
		shape: s,
		apply: func(x *gorgonia.Node) (*gorgonia.Node, error) {
			g, dt := x.Graph(), x.Dtype()
			wn := gorgonia.NewMatrix(g, dt, gorgonia.WithShape(o, s[1]*k*k), gorgonia.WithName("w"),
				gorgonia.WithValue(denseFrom(dt, slices.Clone(w), o, s[1]*k*k)))
			bn := gorgonia.NewMatrix(g, dt, gorgonia.WithShape(1, o), gorgonia.WithName("b"),
				gorgonia.WithValue(denseFrom(dt, slices.Clone(b), 1, o)))
			return Conv2D(x, wn, bn, k, pad)
		},
		plain: func(x []float64, s []int) []float64 {
			var out []float64
			im := s[1] * s[2] * s[3]
			for i := 0; i < s[0]; i++ {
				out = append(out, PlainConv2D(x[i*im:(i+1)*im], w, b, s[1], s[2], s[3], k, pad)...)
			}
			return out
		},
	}
}

func imageOps() []imageOp {
	r := rand.New(rand.NewPCG(87, 88))
	maxPool := func(x []float64, s []int) []float64 { return PlainMaxPool2(x, s[0]*s[1], s[2], s[3]) }
	avgPool := func(x []float64, s []int) []float64 { return PlainAvgPool2(x, s[0]*s[1], s[2], s[3]) }
	norm := func(x []float64, s []int) []float64 { return PlainInstanceNorm(x, s[0]*s[1], s[2]*s[3]) }
	normPool := func(x []float64, s []int) []float64 {
		z := PlainInstanceNorm(x, s[0]*s[1], s[2]*s[3])
		for i, v := range z {
			z[i] = max(v, 0)
		}
		return PlainAvgPool2(z, s[0]*s[1], s[2], s[3])
	}
	return []imageOp{
		conv2DCase(r, []int{2, 3, 5, 6}, 4, 3, 1),
		conv2DCase(r, []int{3, 2, 7, 5}, 3, 5, 2),
		conv2DCase(r, []int{2, 1, 6, 6}, 2, 3, 0),
		// More images than convChunks: some chunks hold several images.
		conv2DCase(r, []int{convChunks + 3, 2, 6, 5}, 3, 3, 1),
		{"maxpool/2x3x4x6", []int{2, 3, 4, 6}, MaxPool2, maxPool},
		{"maxpool/2x2x5x7", []int{2, 2, 5, 7}, MaxPool2, maxPool},
		{"maxpool/4x32x16x17", []int{4, 32, 16, 17}, MaxPool2, maxPool},
		{"avgpool/2x3x4x6", []int{2, 3, 4, 6}, AvgPool2, avgPool},
		// Odd sizes: the last row and column are dropped.
		{"avgpool/2x2x5x7", []int{2, 2, 5, 7}, AvgPool2, avgPool},
		// Large enough to run in parallel (planes·h·w ≥ 2¹⁵).
		{"avgpool/4x32x16x17", []int{4, 32, 16, 17}, AvgPool2, avgPool},
		{"instnorm/2x3x4x5", []int{2, 3, 4, 5}, InstanceNorm, norm},
		{"instnorm/1x2x1x3", []int{1, 2, 1, 3}, InstanceNorm, norm},
		{"instnorm/4x32x16x17", []int{4, 32, 16, 17}, InstanceNorm, norm},
		{"normrelupool/2x3x4x6", []int{2, 3, 4, 6}, NormReLUPool, normPool},
		{"normrelupool/2x2x5x7", []int{2, 2, 5, 7}, NormReLUPool, normPool},     // odd: a dropped row and column
		{"normrelupool/3x2x14x14", []int{3, 2, 14, 14}, NormReLUPool, normPool}, // rows of 7 pools: the 4-wide kernel
		{"normrelupool/4x32x16x17", []int{4, 32, 16, 17}, NormReLUPool, normPool},
	}
}

func sizeOf(s []int) int {
	n := 1
	for _, v := range s {
		n *= v
	}
	return n
}

func TestImageOpsMatchPlainLoops(t *testing.T) {
	r := rand.New(rand.NewPCG(71, 72))
	for _, c := range imageOps() {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			t.Run(fmt.Sprintf("%s/%v", c.name, dt), func(t *testing.T) {
				x := randSlice(r, sizeOf(c.shape))
				g := gorgonia.NewGraph()
				xn := gorgonia.NewTensor(g, dt, 4, gorgonia.WithShape(c.shape...), gorgonia.WithName("x"),
					gorgonia.WithValue(denseFrom(dt, slices.Clone(x), c.shape...)))
				y, err := c.apply(xn)
				if err != nil {
					t.Fatal(err)
				}
				vm := gorgonia.NewTapeMachine(g)
				defer vm.Close()
				if err := vm.RunAll(); err != nil {
					t.Fatal(err)
				}
				got, err := Float64s(y.Value())
				if err != nil {
					t.Fatal(err)
				}
				want := c.plain(x, c.shape)
				if len(got) != len(want) {
					t.Fatalf("%d values, want %d", len(got), len(want))
				}
				tol := 1e-13 // float64 round-off of sums of a few hundred terms
				if dt == tensor.Float32 {
					tol = 1e-5 // float32 round-off of sums of values of order 1
				}
				for i := range want {
					if math.Abs(got[i]-want[i]) > tol*(1+math.Abs(want[i])) {
						t.Fatalf("value %d: op %v, plain loops %v", i, got[i], want[i])
					}
				}
			})
		}
	}
}

// weightedSum returns Σ y ⊙ R for a random constant R of y's shape.
func weightedSum(t testing.TB, y *gorgonia.Node, r *rand.Rand) *gorgonia.Node {
	t.Helper()
	R := gorgonia.NewTensor(y.Graph(), y.Dtype(), y.Shape().Dims(), gorgonia.WithShape(y.Shape().Clone()...),
		gorgonia.WithName("R_"+y.Name()), gorgonia.WithValue(denseFrom(y.Dtype(), randSlice(r, y.Shape().TotalSize()), y.Shape().Clone()...)))
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

// ∂/∂x Σ op(x) ⊙ R against central differences.
func TestImageOpsGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(73, 74))
	for _, c := range imageOps() {
		t.Run(c.name, func(t *testing.T) {
			x := randSlice(r, sizeOf(c.shape))
			g := gorgonia.NewGraph()
			xn := gorgonia.NewTensor(g, tensor.Float64, 4, gorgonia.WithShape(c.shape...), gorgonia.WithName("x"))
			y, err := c.apply(xn)
			if err != nil {
				t.Fatal(err)
			}
			loss := weightedSum(t, y, r)
			var res gradcheck.Result
			if len(x) > 1000 { // large inputs: along random directions
				res, err = gradcheck.Directional(g, loss, xn, x, r, 3, 1e-6, 1e-4)
			} else {
				res, err = gradcheck.Check(g, loss, xn, x, 1e-6, 1e-4)
			}
			if err != nil {
				t.Fatal(err)
			}
			// gonum's fd tolerance: central differences of step 1e-6 carry
			// ~1e-10 of round-off; pooling ties lie within 1e-6 of a random
			// input with negligible probability.
			if res.MaxRelErr > 1e-5 {
				t.Errorf("input or direction %d: gradient %v, central difference %v (relative error %.3g)", res.Index, res.Analytic, res.Numeric, res.MaxRelErr)
			}
			if res.Analytic == 0 && res.Numeric == 0 {
				t.Errorf("zero gradient everywhere")
			}
		})
	}
}

// The convolution's gradients with respect to its weights and bias.
func TestConv2DWeightGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(75, 76))
	const n, c, h, w, o, k, pad = convChunks + 3, 2, 5, 4, 3, 3, 1
	for _, wrt := range []string{"w", "b"} {
		t.Run(wrt, func(t *testing.T) {
			g := gorgonia.NewGraph()
			x := gorgonia.NewTensor(g, tensor.Float64, 4, gorgonia.WithShape(n, c, h, w), gorgonia.WithName("x"),
				gorgonia.WithValue(denseFrom(tensor.Float64, randSlice(r, n*c*h*w), n, c, h, w)))
			wv, bv := randSlice(r, o*c*k*k), randSlice(r, o)
			wn := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(o, c*k*k), gorgonia.WithName("w"),
				gorgonia.WithValue(denseFrom(tensor.Float64, slices.Clone(wv), o, c*k*k)))
			bn := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(1, o), gorgonia.WithName("b"),
				gorgonia.WithValue(denseFrom(tensor.Float64, slices.Clone(bv), 1, o)))
			y := must(Conv2D(x, wn, bn, k, pad))
			loss := weightedSum(t, y, r)
			node, v := wn, wv
			if wrt == "b" {
				node, v = bn, bv
			}
			res, err := gradcheck.Check(g, loss, node, v, 1e-6, 1e-4)
			if err != nil {
				t.Fatal(err)
			}
			if res.MaxRelErr > 1e-5 { // as in TestImageOpsGradient
				t.Errorf("weight %d: gradient %v, central difference %v (relative error %.3g)", res.Index, res.Analytic, res.Numeric, res.MaxRelErr)
			}
		})
	}
}

func TestImageOpsRejectBadInput(t *testing.T) {
	g := gorgonia.NewGraph()
	x3 := gorgonia.NewTensor(g, tensor.Float64, 3, gorgonia.WithShape(2, 3, 4), gorgonia.WithName("x3"))
	x := gorgonia.NewTensor(g, tensor.Float64, 4, gorgonia.WithShape(2, 3, 4, 1), gorgonia.WithName("x"))
	w := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(5, 27), gorgonia.WithName("w"))
	b := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(1, 5), gorgonia.WithName("b"))
	b4 := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(1, 4), gorgonia.WithName("b4"))
	for name, f := range map[string]func() (*gorgonia.Node, error){
		"conv of 3-D":        func() (*gorgonia.Node, error) { return Conv2D(x3, w, b, 3, 1) },
		"conv bias":          func() (*gorgonia.Node, error) { return Conv2D(x, w, b4, 3, 1) },
		"conv kernel size":   func() (*gorgonia.Node, error) { return Conv2D(x, w, b, 2, 1) },
		"conv larger kernel": func() (*gorgonia.Node, error) { return Conv2D(x, w, b, 3, 0) },
		"maxpool of 1 col":   func() (*gorgonia.Node, error) { return MaxPool2(x) },
		"avgpool of 1 col":   func() (*gorgonia.Node, error) { return AvgPool2(x) },
		"instnorm of 3-D":    func() (*gorgonia.Node, error) { return InstanceNorm(x3) },
		"normpool of 1 col":  func() (*gorgonia.Node, error) { return NormReLUPool(x) },
	} {
		if _, err := f(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// Every op hash names every parameter: ops differing in one parameter hash
// differently.
func TestOpsHash(t *testing.T) {
	geom := convGeom{n: 1, c: 2, h: 5, w: 6, o: 3, k: 3, pad: 1}
	convs := []convGeom{geom, geom, geom, geom, geom, geom, geom}
	convs[0].n++
	convs[1].c++
	convs[2].h++
	convs[3].w++
	convs[4].o++
	convs[5].k++
	convs[6].pad++
	ops := []gorgonia.Op{
		newPoolOp(1, 2, 3, 4, false), newPoolOp(2, 2, 3, 4, false), newPoolOp(1, 3, 3, 4, false),
		newPoolOp(1, 2, 4, 4, false), newPoolOp(1, 2, 3, 5, false), newPoolOp(1, 2, 3, 4, true),
		newAvgPoolOp(1, 2, 3, 4, false), newAvgPoolOp(2, 2, 3, 4, false), newAvgPoolOp(1, 3, 3, 4, false),
		newAvgPoolOp(1, 2, 4, 4, false), newAvgPoolOp(1, 2, 3, 5, false), newAvgPoolOp(1, 2, 3, 4, true),
		newInstNormOp(1, 2, 3, 4, 1e-5, false), newInstNormOp(2, 2, 3, 4, 1e-5, false),
		newNormPoolOp(1, 2, 3, 4, false), newNormPoolOp(2, 2, 3, 4, false), newNormPoolOp(1, 3, 3, 4, false),
		newNormPoolOp(1, 2, 4, 4, false), newNormPoolOp(1, 2, 3, 5, false), newNormPoolOp(1, 2, 3, 4, true),
		newInstNormOp(1, 3, 3, 4, 1e-5, false), newInstNormOp(1, 2, 4, 4, 1e-5, false),
		newInstNormOp(1, 2, 3, 5, 1e-5, false), newInstNormOp(1, 2, 3, 4, 1e-3, false),
		newInstNormOp(1, 2, 3, 4, 1e-5, true),
		newConvOp(convForward, geom), newConvOp(convGradX, geom), newConvOp(convGradW, geom), newConvOp(convGradB, geom),
	}
	for _, g := range convs {
		ops = append(ops, newConvOp(convForward, g))
	}
	g := gorgonia.NewGraph()
	z := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(3, 2), gorgonia.WithName("z"))
	y := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(3, 2), gorgonia.WithName("y"))
	for _, n := range []*gorgonia.Node{
		must(CrossEntropy(z, []int{0, 1, 1}, []float64{1, 1, 1})), must(CrossEntropy(z, []int{0, 1, 0}, []float64{1, 1, 1})),
		must(CrossEntropy(z, []int{0, 1, 1}, []float64{1, 1, 0.5})), must(MeanCrossEntropy(z, y)),
	} {
		grads, err := gorgonia.Grad(n, z)
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, n.Op(), grads[0].Op())
	}
	ops = append(ops, must(SafePow(z, 0.5)).Op(), must(SafePow(z, 1.5)).Op())
	seen := map[uint32]int{}
	for i, op := range ops {
		if j, ok := seen[op.Hashcode()]; ok {
			t.Errorf("ops %v and %v hash alike", ops[j], op)
		}
		seen[op.Hashcode()] = i
	}
}

// The mean cross-entropy of label rows and its gradient with respect to the
// logits.
func TestMeanCrossEntropyGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const n, k = 4, 3
	z := randSlice(r, n*k)
	y := []float64{0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0}
	g := gorgonia.NewGraph()
	zn := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(n, k), gorgonia.WithName("z"))
	yn := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(n, k), gorgonia.WithName("y"), gorgonia.WithValue(denseFrom(tensor.Float64, y, n, k)))
	loss := must(MeanCrossEntropy(zn, yn))
	res, err := gradcheck.Check(g, loss, zn, z, 1e-6, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	if res.MaxRelErr > 1e-5 {
		t.Errorf("logit %d: gradient %v, central difference %v", res.Index, res.Analytic, res.Numeric)
	}
	// Value: mean of log Σ exp z − z_y.
	want := 0.0
	for i := 0; i < n; i++ {
		row := z[i*k : (i+1)*k]
		want += LogSumExp(row) - row[slices.Index(y[i*k:(i+1)*k], 1)]
	}
	want /= n
	if got := float64(*loss.Value().(*gorgonia.F64)); math.Abs(got-want) > 1e-12 {
		t.Errorf("loss %v, want %v", got, want)
	}
	if _, err := MeanCrossEntropy(zn, gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(n, k+1), gorgonia.WithName("y2"))); err == nil {
		t.Error("labels of another shape: no error")
	}
}

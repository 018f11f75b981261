package graph

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
)

// gaussMeanRef is the product-kernel mean in plain Go, pair by pair.
func gaussMeanRef(a, b []float64, n, m, d int, blocks []KernelBlock) float64 {
	s := 0.0
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			e := 0.0
			for _, bl := range blocks {
				q := 0.0
				for k := bl.Start; k < bl.End; k++ {
					q += (a[i*d+k] - b[j*d+k]) * (a[i*d+k] - b[j*d+k])
				}
				e -= q / (2 * bl.H)
			}
			s += math.Exp(e)
		}
	}
	return s / float64(n*m)
}

// GaussKernelMean: its value against the pairwise sum in plain Go, and its
// gradient (float64 central differences) in an MMD-like loss that uses a in
// both the self term and the cross term, with respect to a and to b.
func TestGaussKernelMean(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	const d = 6
	blocks := []KernelBlock{{0, 3, 4}, {3, 5, 0.7}, {5, 6, 9}}
	for _, tc := range []struct{ n, m int }{{5, 3}, {1, 4}, {140, 9}} { // 140 rows: two pieces of parallel work (gaussRows), the second of 12
		av, bv := randSlice(r, tc.n*d), randSlice(r, tc.m*d)
		for wrt := 0; wrt < 2; wrt++ {
			g := gorgonia.NewGraph()
			a, b := matNode(g, "a", av, tc.n, d), matNode(g, "b", bv, tc.m, d)
			kaa, err := GaussKernel{Blocks: blocks}.Mean(a, nil)
			if err != nil {
				t.Fatal(err)
			}
			kab, err := GaussKernel{Blocks: blocks}.Mean(a, b)
			if err != nil {
				t.Fatal(err)
			}
			loss := gorgonia.Must(gorgonia.Sub(kaa, gorgonia.Must(gorgonia.Mul(kab, gorgonia.NewConstant(2.0)))))
			node, v := a, av
			if wrt == 1 {
				node, v = b, bv
			}
			fdCheck(t, g, loss, node, v, fmt.Sprintf("n=%d m=%d wrt=%d: ", tc.n, tc.m, wrt))
			m := gorgonia.NewTapeMachine(g)
			if err := m.RunAll(); err != nil {
				t.Fatal(err)
			}
			got := kaa.Value().Data().(float64) - 2*kab.Value().Data().(float64)
			want := gaussMeanRef(av, av, tc.n, tc.n, d, blocks) - 2*gaussMeanRef(av, bv, tc.n, tc.m, d, blocks)
			if math.Abs(got-want) > 1e-12 {
				t.Errorf("n=%d m=%d: value %v, pairwise %v", tc.n, tc.m, got, want)
			}
			m.Close()
		}
	}
}

func TestGaussKernelMeanErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	a := matNode(g, "a", make([]float64, 12), 3, 4)
	b := matNode(g, "b", make([]float64, 6), 2, 3)
	for name, tc := range map[string]struct {
		b      *gorgonia.Node
		blocks []KernelBlock
	}{
		"gap":           {nil, []KernelBlock{{0, 2, 1}, {3, 4, 1}}},
		"short":         {nil, []KernelBlock{{0, 3, 1}}},
		"zero width":    {nil, []KernelBlock{{0, 4, 0}}},
		"NaN width":     {nil, []KernelBlock{{0, 4, math.NaN()}}},
		"columns":       {b, []KernelBlock{{0, 4, 1}}},
		"past the end":  {nil, []KernelBlock{{0, 5, 1}}},
		"empty block":   {nil, []KernelBlock{{0, 0, 1}, {0, 4, 1}}},
		"no blocks":     {nil, nil},
		"inf bandwidth": {nil, []KernelBlock{{0, 4, math.Inf(1)}}},
	} {
		if _, err := (GaussKernel{Blocks: tc.blocks}).Mean(a, tc.b); !errors.Is(err, ErrOption) && !errors.Is(err, ErrShape) {
			t.Errorf("%s: error %v, want ErrOption or ErrShape", name, err)
		}
	}
}

// The Float32 products give the float64 value and gradient to about
// float32's precision, on rows of MNIST-like scale (784 columns in [0, 1],
// bandwidth 100).
func TestGaussKernelMeanFloat32(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	const n, m, d = 300, 7, 784
	av, bv := make([]float64, n*d), make([]float64, m*d)
	for i := range av {
		av[i] = r.Float64()
	}
	for i := range bv {
		bv[i] = r.Float64()
	}
	blocks := []KernelBlock{{0, 780, 100}, {780, 784, 5}}
	run := func(f32 bool) (float64, []float64, []float64) {
		g := gorgonia.NewGraph()
		a, b := matNode(g, "a", av, n, d), matNode(g, "b", bv, m, d)
		k := GaussKernel{Blocks: blocks, Float32: f32}
		kaa := gorgonia.Must(k.Mean(a, nil))
		kab := gorgonia.Must(k.Mean(a, b))
		loss := gorgonia.Must(gorgonia.Sub(kaa, gorgonia.Must(gorgonia.Mul(kab, gorgonia.NewConstant(2.0)))))
		if _, err := gorgonia.Grad(loss, a, b); err != nil {
			t.Fatal(err)
		}
		vm := gorgonia.NewTapeMachine(g)
		defer vm.Close()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		ga, _ := a.Grad()
		gb, _ := b.Grad()
		return loss.Value().Data().(float64), append([]float64(nil), ga.Data().([]float64)...), append([]float64(nil), gb.Data().([]float64)...)
	}
	v64, ga64, gb64 := run(false)
	v32, ga32, gb32 := run(true)
	if math.Abs(v32-v64) > 1e-6*math.Abs(v64) {
		t.Errorf("value %v in float32 products, %v in float64", v32, v64)
	}
	for name, p := range map[string][2][]float64{"a": {ga64, ga32}, "b": {gb64, gb32}} {
		norm, diff := 0.0, 0.0
		for i := range p[0] {
			norm = max(norm, math.Abs(p[0][i]))
			diff = max(diff, math.Abs(p[0][i]-p[1][i]))
		}
		if norm == 0 || diff > 1e-4*norm {
			t.Errorf("gradient wrt %s: float32 products differ by %.3g, float64 gradient's largest entry %.3g", name, diff, norm)
		}
	}
}

// The ops that reuse their output buffers from run to run (outBuffer) give
// the same value and gradient on every run of one machine, also where
// gorgonia sums several gradients of one input (x feeds two Columns, a
// SqDist and a GaussKernel.Mean here).
func TestReusedBuffersSameEveryRun(t *testing.T) {
	r := rand.New(rand.NewPCG(35, 36))
	const n, d = 6, 5
	xv, yv := randSlice(r, n*d), randSlice(r, 4*d)
	g := gorgonia.NewGraph()
	x, y := matNode(g, "x", xv, n, d), matNode(g, "y", yv, 4, d)
	c1 := gorgonia.Must(Columns(x, 0, 2))
	c2 := gorgonia.Must(Columns(x, 1, 5))
	y2 := gorgonia.Must(Columns(y, 1, 5))
	sq := gorgonia.Must(SqDist(c2, y2))
	k := gorgonia.Must(GaussKernel{Blocks: []KernelBlock{{0, 2, 3}, {2, 5, 1.5}}, Float32: true}.Mean(x, nil))
	loss := gorgonia.Must(gorgonia.Add(gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.Square(gorgonia.Must(Add(c1, c1)))))), gorgonia.Must(gorgonia.Sum(sq))))
	loss = gorgonia.Must(gorgonia.Add(loss, k))
	if _, err := gorgonia.Grad(loss, x); err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	var first []float64
	var firstLoss float64
	for run := 0; run < 3; run++ {
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		gv, _ := x.Grad()
		got := gv.Data().([]float64)
		if run == 0 {
			first, firstLoss = append([]float64(nil), got...), loss.Value().Data().(float64)
		} else {
			for i := range got {
				if got[i] != first[i] {
					t.Fatalf("run %d: gradient entry %d is %v, first run %v", run, i, got[i], first[i])
				}
			}
			if v := loss.Value().Data().(float64); v != firstLoss {
				t.Fatalf("run %d: loss %v, first run %v", run, v, firstLoss)
			}
		}
		vm.Reset()
	}
}

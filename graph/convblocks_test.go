package graph

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// composedBlocks adds the ConvNet blocks of ConvBlocks as separate,
// differentiable ops: Conv2D with a zero bias, InstanceNorm, Rectify,
// AvgPool2.
func composedBlocks(x *gorgonia.Node, ws []*gorgonia.Node, h, w int) (*gorgonia.Node, error) {
	n := x.Shape()[0]
	cur, err := gorgonia.Reshape(x, tensor.Shape{n, 1, h, w})
	if err != nil {
		return nil, err
	}
	for i, wn := range ws {
		o := wn.Shape()[0]
		b := gorgonia.NewMatrix(x.Graph(), x.Dtype(), gorgonia.WithShape(1, o), gorgonia.WithName(fmt.Sprintf("zero_bias_%d", i)),
			gorgonia.WithValue(denseFrom(x.Dtype(), make([]float64, o), 1, o)))
		for _, f := range []func() (*gorgonia.Node, error){
			func() (*gorgonia.Node, error) { return Conv2D(cur, wn, b, 3, 1) },
			func() (*gorgonia.Node, error) { return InstanceNorm(cur) },
			func() (*gorgonia.Node, error) { return gorgonia.Rectify(cur) },
			func() (*gorgonia.Node, error) { return AvgPool2(cur) },
		} {
			if cur, err = f(); err != nil {
				return nil, err
			}
		}
	}
	s := cur.Shape()
	return gorgonia.Reshape(cur, tensor.Shape{n, s[1] * s[2] * s[3]})
}

func TestConvBlocksMatchComposedOps(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	cases := []struct{ n, h, w, width, depth int }{
		{1, 8, 8, 2, 1},
		{7, 13, 11, 3, 2}, // odd sides; a last group of 3 images
		{9, 28, 28, 5, 3},
		{convBlocksGroup, 16, 9, 4, 3},
		{6, 14, 14, 8, 2}, // even sides throughout
	}
	// Each case with the wide layers as im2col + GEMM and as Winograd.
	for _, c := range cases {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			for _, wino := range []bool{false, true} {
				t.Run(fmt.Sprintf("n%d_%dx%d_w%d_d%d/%v/winograd=%v", c.n, c.h, c.w, c.width, c.depth, dt, wino), func(t *testing.T) {
					defer func(m int) { winoMinChannels = m }(winoMinChannels)
					winoMinChannels = map[bool]int{false: 1 << 30, true: 2}[wino]
					g := gorgonia.NewGraph()
					x := randSlice(r, c.n*c.h*c.w)
					xn := gorgonia.NewMatrix(g, dt, gorgonia.WithShape(c.n, c.h*c.w), gorgonia.WithName("x"),
						gorgonia.WithValue(denseFrom(dt, slices.Clone(x), c.n, c.h*c.w)))
					var ws []*gorgonia.Node
					in := 1
					for i := 0; i < c.depth; i++ {
						ws = append(ws, gorgonia.NewMatrix(g, dt, gorgonia.WithShape(c.width, 9*in), gorgonia.WithName(fmt.Sprintf("w%d", i)),
							gorgonia.WithValue(denseFrom(dt, randSlice(r, c.width*9*in), c.width, 9*in))))
						in = c.width
					}
					fused, err := ConvBlocks(xn, ws, c.h, c.w)
					if err != nil {
						t.Fatal(err)
					}
					ref, err := composedBlocks(xn, ws, c.h, c.w)
					if err != nil {
						t.Fatal(err)
					}
					if !fused.Shape().Eq(ref.Shape()) {
						t.Fatalf("shape %v, composed ops %v", fused.Shape(), ref.Shape())
					}
					vals := runGraph(t, g, fused, ref)
					got, want := vals[0], vals[1]
					tol := 1e-12 // float64: sums of a few thousand products, then a normalisation
					if dt == tensor.Float32 {
						tol = 2e-4 // float32 convolutions, normalised: relative round-off amplified by 1/σ
					}
					worst := 0.0
					for i := range want {
						worst = max(worst, math.Abs(got[i]-want[i])/(1+math.Abs(want[i])))
					}
					if worst > tol {
						t.Fatalf("largest difference from the composed ops %.3g, want ≤ %g", worst, tol)
					}
				})
			}
		}
	}
}

func TestConvBlocksRejectsBadInput(t *testing.T) {
	g := gorgonia.NewGraph()
	mat := func(name string, r, c int) *gorgonia.Node {
		return gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(r, c), gorgonia.WithName(name))
	}
	x := mat("x", 3, 64)
	for _, c := range []struct {
		name string
		x    *gorgonia.Node
		ws   []*gorgonia.Node
		h, w int
	}{
		{"wrong image size", x, []*gorgonia.Node{mat("a", 4, 9)}, 7, 9},
		{"no blocks", x, nil, 8, 8},
		{"too deep for the image", x, []*gorgonia.Node{mat("b", 2, 9), mat("c", 2, 18), mat("d", 2, 18), mat("e", 2, 18)}, 8, 8},
		{"first block has more inputs", x, []*gorgonia.Node{mat("f", 2, 18)}, 8, 8},
		{"width changes", x, []*gorgonia.Node{mat("g", 2, 9), mat("h", 3, 18)}, 8, 8},
	} {
		if _, err := ConvBlocks(c.x, c.ws, c.h, c.w); !errors.Is(err, ErrShape) {
			t.Errorf("%s: error %v, want ErrShape", c.name, err)
		}
	}
}

// runGraph runs g once and returns the values of nodes as float64s.
func runGraph(t *testing.T, g *gorgonia.ExprGraph, nodes ...*gorgonia.Node) [][]float64 {
	t.Helper()
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	var out [][]float64
	for _, n := range nodes {
		v, err := Float64s(n.Value())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

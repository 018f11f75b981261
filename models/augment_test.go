package models

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/internal/gradcheck"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The resampling matrix: the identity transform is the identity, a shift by
// one pixel moves every pixel by one (zeros enter at the border), a
// rotation by 90° about the centre of a square image is the exact rotation,
// and a half-pixel shift averages neighbours.
func TestAffineMatrix(t *testing.T) {
	const h, w = 5, 5
	x := make([]float64, h*w)
	for i := range x {
		x[i] = float64(i + 1)
	}
	apply := func(angle, s, dy, dx float64) []float64 {
		m := make([]float64, h*w*h*w)
		affineMatrix(m, h, w, angle, s, dy, dx)
		y := make([]float64, h*w)
		for in := range x {
			for out := range y {
				y[out] += x[in] * m[in*h*w+out]
			}
		}
		return y
	}
	at := func(img []float64, r, c int) float64 {
		if r < 0 || r >= h || c < 0 || c >= w {
			return 0
		}
		return img[r*w+c]
	}
	for _, c := range []struct {
		name             string
		angle, s, dy, dx float64
		want             func(r, c int) float64
	}{
		{"identity", 0, 1, 0, 0, func(r, c int) float64 { return at(x, r, c) }},
		{"shift down", 0, 1, 1, 0, func(r, c int) float64 { return at(x, r-1, c) }},
		{"shift left", 0, 1, 0, -1, func(r, c int) float64 { return at(x, r, c+1) }},
		{"rotate 90°", math.Pi / 2, 1, 0, 0, func(r, c int) float64 { return at(x, w-1-c, r) }},
		{"half pixel", 0, 1, 0, 0.5, func(r, c int) float64 { return (at(x, r, c) + at(x, r, c-1)) / 2 }},
	} {
		y := apply(c.angle, c.s, c.dy, c.dx)
		for r := 0; r < h; r++ {
			for cc := 0; cc < w; cc++ {
				if got, want := y[r*w+cc], c.want(r, cc); math.Abs(got-want) > 1e-9 {
					t.Errorf("%s: pixel (%d,%d) = %v, want %v", c.name, r, cc, got, want)
				}
			}
		}
	}
}

// One draw per step shared by every mapped dataset, a new draw at the next
// step, and the gradient through the augmentation and a random ConvNet
// matches finite differences.
func TestRandomAffineSharedAndGradient(t *testing.T) {
	aug, err := RandomAffine(8, 8, DefaultAffine)
	if err != nil {
		t.Fatal(err)
	}
	env, err := functionals.NewEnv(tensor.Float64, 4)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	img := randSlice(r, 64)
	a := gorgonia.NewMatrix(env.G, tensor.Float64, gorgonia.WithShape(1, 64), gorgonia.WithName("a"), gorgonia.WithValue(graph.DenseFrom(tensor.Float64, img, 1, 64)))
	b := gorgonia.NewMatrix(env.G, tensor.Float64, gorgonia.WithShape(1, 64), gorgonia.WithName("b"), gorgonia.WithValue(graph.DenseFrom(tensor.Float64, img, 1, 64)))
	ya, err := aug(env, a)
	if err != nil {
		t.Fatal(err)
	}
	yb, err := aug(env, b)
	if err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(env.G)
	defer vm.Close()
	var prev []float64
	for step := 0; step < 3; step++ {
		if err := env.Update(r); err != nil {
			t.Fatal(err)
		}
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		va, _ := graph.Float64s(ya.Value())
		vb, _ := graph.Float64s(yb.Value())
		for i := range va {
			if va[i] != vb[i] {
				t.Fatalf("step %d: the two datasets were augmented differently at pixel %d", step, i)
			}
		}
		if prev != nil && equalSlices(prev, va) {
			t.Errorf("step %d: same augmentation as the step before", step)
		}
		prev = append([]float64(nil), va...)
		vm.Reset()
	}

	cn, err := RandomConvNet(8, 8, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	env2, _ := functionals.NewEnv(tensor.Float64, 4)
	x := gorgonia.NewMatrix(env2.G, tensor.Float64, gorgonia.WithShape(2, 64), gorgonia.WithName("x"))
	y, err := functionals.Compose(aug, cn)(env2, x)
	if err != nil {
		t.Fatal(err)
	}
	if err := env2.Update(r); err != nil {
		t.Fatal(err)
	}
	R := gorgonia.NewMatrix(env2.G, tensor.Float64, gorgonia.WithShape(y.Shape()...), gorgonia.WithName("R"),
		gorgonia.WithValue(graph.DenseFrom(tensor.Float64, randSlice(r, y.Shape().TotalSize()), y.Shape()[0], y.Shape()[1])))
	prod, err := gorgonia.HadamardProd(y, R)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := gorgonia.Sum(prod)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gradcheck.Check(env2.G, loss, x, randSlice(r, 128), 1e-6, 1e-4)
	if err != nil {
		t.Fatal(err)
	}
	if res.MaxRelErr > 1e-5 {
		t.Errorf("gradient at %d: %v vs finite difference %v", res.Index, res.Analytic, res.Numeric)
	}
}

func equalSlices(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestRandomAffineErrors(t *testing.T) {
	for _, c := range []struct {
		h, w int
		a    AffineAugment
	}{{0, 5, AffineAugment{}}, {200, 200, AffineAugment{}}, {8, 8, AffineAugment{Rotate: -1}}, {8, 8, AffineAugment{Scale: 1}},
		{8, 8, AffineAugment{Shift: math.NaN()}}} {
		if _, err := RandomAffine(c.h, c.w, c.a); !errors.Is(err, ErrParam) {
			t.Errorf("%d×%d %+v: error %v, want ErrParam", c.h, c.w, c.a, err)
		}
	}
	aug, _ := RandomAffine(8, 8, DefaultAffine)
	env, _ := functionals.NewEnv(tensor.Float64, 4)
	x := gorgonia.NewMatrix(env.G, tensor.Float64, gorgonia.WithShape(2, 63), gorgonia.WithName("x"))
	if _, err := aug(env, x); !errors.Is(err, ErrDim) {
		t.Errorf("63 pixels for 8×8 images: error %v, want ErrDim", err)
	}
}

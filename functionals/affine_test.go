package functionals_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/internal/gradcheck"
)

// One draw per step shared by every mapped dataset, a new draw at the next
// step, and the gradient through the augmentation and a random ConvNet
// matches finite differences.
func TestRandomAffineSharedAndGradient(t *testing.T) {
	aug, err := functionals.RandomAffine(8, 8, functionals.DefaultAffine)
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

	cn, err := functionals.RandomConvNet(8, 8, 3, 2)
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
		a    functionals.AffineAugment
	}{{0, 5, functionals.AffineAugment{}}, {1100, 1000, functionals.AffineAugment{}}, {8, 8, functionals.AffineAugment{Rotate: -1}},
		{8, 8, functionals.AffineAugment{Scale: 1}}, {8, 8, functionals.AffineAugment{Shift: math.NaN()}}} {
		if _, err := functionals.RandomAffine(c.h, c.w, c.a); !errors.Is(err, functionals.ErrParam) {
			t.Errorf("%d×%d %+v: error %v, want ErrParam", c.h, c.w, c.a, err)
		}
	}
	aug, _ := functionals.RandomAffine(8, 8, functionals.DefaultAffine)
	env, _ := functionals.NewEnv(tensor.Float64, 4)
	x := gorgonia.NewMatrix(env.G, tensor.Float64, gorgonia.WithShape(2, 63), gorgonia.WithName("x"))
	if _, err := aug(env, x); !errors.Is(err, functionals.ErrParam) {
		t.Errorf("63 pixels for 8×8 images: error %v, want ErrParam", err)
	}
}

package graph

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wowflow/wowflow/internal/gradcheck"
)

// Every op hash names every parameter: ops differing in one parameter hash
// differently.
func TestOpsHash(t *testing.T) {
	var ops []gorgonia.Op
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

package optim_test

import (
	"fmt"

	"github.com/wowflow/wowflow/optim"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func ExampleMomentum() {
	// f(x) = ½ Σ_j c_j (x_j − t_j)², built as a gorgonia graph, minimised
	// from x = 0 by heavy-ball momentum on its autodiff gradient.
	g := gorgonia.NewGraph()
	vec := func(name string, v ...float64) *gorgonia.Node {
		return gorgonia.NewVector(g, tensor.Float64, gorgonia.WithShape(len(v)), gorgonia.WithName(name),
			gorgonia.WithValue(tensor.New(tensor.WithBacking(v))))
	}
	x, t, c := vec("x", 0, 0), vec("t", 2, -1), vec("c", 1, 4)
	diff, err := gorgonia.Sub(x, t)
	if err != nil {
		fmt.Println(err)
		return
	}
	sq, err := gorgonia.Square(diff)
	if err != nil {
		fmt.Println(err)
		return
	}
	weighted, err := gorgonia.HadamardProd(c, sq)
	if err != nil {
		fmt.Println(err)
		return
	}
	sum, err := gorgonia.Sum(weighted)
	if err != nil {
		fmt.Println(err)
		return
	}
	loss, err := gorgonia.Mul(sum, gorgonia.NewConstant(0.5))
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := gorgonia.Grad(loss, x); err != nil {
		fmt.Println(err)
		return
	}
	var f gorgonia.Value
	gorgonia.Read(loss, &f)

	m := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(x))
	defer m.Close()
	opt := &optim.Momentum{Tau: 0.1, M: 0.5}
	for step := 0; step < 100; step++ {
		if err := m.RunAll(); err != nil {
			fmt.Println(err)
			return
		}
		if step == 0 {
			fmt.Printf("f(x_0) = %.4g\n", f.Data())
		}
		// x.Value() is updated in place from x.Grad().
		if err := opt.Step(gorgonia.NodesToValueGrads(gorgonia.Nodes{x})); err != nil {
			fmt.Println(err)
			return
		}
		// The machine adds each pass's gradient to x's; gorgonia's own
		// solvers zero it after a step, optim's leave that to the caller.
		if grad, err := x.Grad(); err == nil {
			grad.(tensor.Tensor).Zero()
		}
		m.Reset()
	}
	fmt.Printf("x = %.4g\n", x.Value().Data())
	// Output:
	// f(x_0) = 4
	// x = [2 -1]
}

package flows_test

import (
	"context"
	"fmt"
	"math"

	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/optim"
	"gorgonia.org/gorgonia"
)

// Flow two classes onto a two-class target with the Riesz MMDSW, plus a
// user-written potential energy (a weak pull of every class mean to the
// origin) written as a gorgonia expression.
func Example() {
	source, _ := graph.FromClasses(2,
		[]float64{0, 0, 0.1, 0, 0, 0.1},   // class 0: 3 points in R²
		[]float64{0, 0, -0.1, 0, 0, -0.1}) // class 1
	target, _ := graph.FromClasses(2,
		[]float64{2, 2, 2.2, 2, 2, 2.2},
		[]float64{-2, 2, -2.2, 2, -2, 2.2})

	pull := functionals.Potential{Name: "|mean|²", F: func(env *functionals.Env, x *gorgonia.Node, c int) (*gorgonia.Node, error) {
		m, err := gorgonia.Mean(x, 0) // class mean, a d-vector
		if err != nil {
			return nil, err
		}
		return gorgonia.Mul(m, m) // vector·vector: the inner product
	}}
	objective := functionals.Sum{
		{Weight: 1, F: functionals.MMD{Target: target, Kernel: functionals.Riesz{}}},
		{Weight: 0.01, F: pull},
	}
	fl, err := flows.New(source, objective, flows.Config{
		Steps: 300, Directions: 100, Seed: 1,
		Optimizer: &optim.Momentum{Tau: 0.05, M: 0.5},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer fl.Close()
	res, err := fl.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s after %d steps\n", res.Status, res.Steps)
	// Each class ends within 0.02 of its target's mean (2.07, ±2.07); the
	// last digits move with the BLAS kernel (a flow amplifies rounding), so
	// the example prints a check with a wide margin, not the digits.
	for c := 0; c < res.X.NumClasses(); c++ {
		x, y := res.X.Class(c), target.Class(c)
		dx := (x[0] + x[2] + x[4] - y[0] - y[2] - y[4]) / 3
		dy := (x[1] + x[3] + x[5] - y[1] - y[3] - y[5]) / 3
		fmt.Printf("class %d mean within 0.2 of its target's: %v\n", c, math.Hypot(dx, dy) < 0.2)
	}
	// Output:
	// finished after 300 steps
	// class 0 mean within 0.2 of its target's: true
	// class 1 mean within 0.2 of its target's: true
}

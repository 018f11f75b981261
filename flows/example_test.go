package flows_test

import (
	"context"
	"fmt"

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
	for c := 0; c < res.X.NumClasses(); c++ {
		x, n := res.X.Class(c), float64(res.X.ClassSize(c))
		fmt.Printf("class %d mean (%.1f, %.1f)\n", c, (x[0]+x[2]+x[4])/n, (x[1]+x[3]+x[5])/n)
	}
	// Output:
	// finished after 300 steps
	// class 0 mean (2.1, 2.1)
	// class 1 mean (-2.1, 2.1)
}

package graph_test

import (
	"fmt"

	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/ot"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func ExampleSliced() {
	// Two clouds on the line, of 3 and 4 points. In d = 1 every direction is
	// ±1, so SW_2² is exactly W_2².
	x, y := []float64{0, 1, 3}, []float64{2, 4, 5, 7}
	theta := []float64{1, -1} // Θ is d×L = 1×2

	g := gorgonia.NewGraph()
	xn := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(3, 1), gorgonia.WithName("x"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(3, 1), tensor.WithBacking(x))))
	yn := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(4, 1), gorgonia.WithName("y"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(4, 1), tensor.WithBacking(y))))
	th := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(1, 2), gorgonia.WithName("theta"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(1, 2), tensor.WithBacking(theta))))
	px, err := gorgonia.Mul(xn, th) // the n×L projections X·Θ
	if err != nil {
		fmt.Println(err)
		return
	}
	py, err := gorgonia.Mul(yn, th)
	if err != nil {
		fmt.Println(err)
		return
	}
	// One class per cloud: S is the 2×2 matrix of SW_2² between them.
	s, err := graph.Sliced(graph.SlicedOptions{P: 2},
		graph.Projected{Node: px, Layout: graph.Layout{Offsets: []int{0, 3}, D: 1}},
		graph.Projected{Node: py, Layout: graph.Layout{Offsets: []int{0, 4}, D: 1}})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		fmt.Println(err)
		return
	}
	sw := s.Value().Data().([]float64)[1]

	// The same in plain Go, and the exact W_2² by a transport solver.
	xs, err := graph.FromClasses(1, x)
	if err != nil {
		fmt.Println(err)
		return
	}
	ys, err := graph.FromClasses(1, y)
	if err != nil {
		fmt.Println(err)
		return
	}
	ref, err := graph.ReferenceSliced(theta, 2, 2, xs, ys)
	if err != nil {
		fmt.Println(err)
		return
	}
	w2, err := ot.W2(x, 3, y, 4, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("SW² = %.4g (Sliced op), %.4g (ReferenceSliced); W2² = %.4g\n", sw, ref[1], w2)
	// Output: SW² = 10.83 (Sliced op), 10.83 (ReferenceSliced); W2² = 10.83
}

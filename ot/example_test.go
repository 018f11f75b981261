package ot_test

import (
	"fmt"

	"github.com/wowflow/wowflow/ot"
)

func ExampleW2() {
	// Two points against three on the line: 0 sends 1/3 to -1 and 1/6 to 1,
	// 2 sends 1/6 to 1 and 1/3 to 3; all the mass moves a distance 1.
	x := []float64{0, 2}
	y := []float64{-1, 1, 3}
	w, err := ot.W2(x, 2, y, 3, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("W2² = %.4g\n", w)
	// Output: W2² = 1
}

func ExampleEMD() {
	a := []float64{0.5, 0.5}
	b := []float64{0.25, 0.75}
	cost := []float64{
		0, 1,
		1, 0,
	}
	plan, total, err := ot.EMD(a, b, cost)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("plan %.4g, cost %.4g\n", plan, total)
	// Output: plan [0.25 0.25 0 0.5], cost 0.25
}

func ExampleAssignment() {
	cost := []float64{
		4, 1, 3,
		2, 0, 5,
		3, 2, 2,
	}
	perm, total, err := ot.Assignment(cost, 3)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(perm, total)
	// Output: [1 0 2] 5
}

func ExampleWoW() {
	// Two labeled datasets on the line, two classes each, packed row-major
	// with class offsets. Q's labels are P's swapped and shifted by 1.
	p := ot.Classes{Points: []float64{0, 1, 10, 11}, D: 1, Offsets: []int{0, 2, 4}}
	q := ot.Classes{Points: []float64{11, 12, 1, 2}, D: 1, Offsets: []int{0, 2, 4}}
	res, err := ot.WoW(p, q)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("WW² = %.4g, class costs %.4g\n", res.Value, res.Cost)
	fmt.Println("class c of P gets label", res.Alignment)
	// Output:
	// WW² = 1, class costs [121 1 1 81]
	// class c of P gets label [1 0]
}

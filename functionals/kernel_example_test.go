package functionals_test

import (
	"fmt"
	"math"

	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
	"gorgonia.org/gorgonia"
)

// Cauchy is a user-written kernel on distributions,
// K(μ, ν) = 1 / (1 + SW_2²(μ, ν)/H): implementing functionals.Kernel is all
// that functionals.MMD needs to use it.
type Cauchy struct{ H float64 }

// Order 2: the kernel is a function of SW_2² (1 would mean SW_1).
func (k Cauchy) Order() int { return 2 }

// Apply builds K(S) elementwise on the graph; gorgonia differentiates it.
func (k Cauchy) Apply(env *functionals.Env, s *gorgonia.Node) (*gorgonia.Node, error) {
	v, err := gorgonia.Mul(s, env.Scalar(1/k.H))
	if err != nil {
		return nil, err
	}
	if v, err = gorgonia.Add(v, env.Scalar(1)); err != nil {
		return nil, err
	}
	return gorgonia.Inverse(v)
}

// Eval is the same function in plain Go, for reference evaluations.
func (k Cauchy) Eval(s float64) float64 { return 1 / (1 + s/k.H) }

func (k Cauchy) Validate() error {
	if !(k.H > 0) || math.IsInf(k.H, 0) {
		return fmt.Errorf("cauchy: h = %v must be positive and finite", k.H)
	}
	return nil
}

func (k Cauchy) String() string { return fmt.Sprintf("cauchy(h=%g)", k.H) }

func ExampleKernel() {
	// Two labeled datasets in R², two classes of three points each.
	x, err := graph.FromClasses(2,
		[]float64{0, 0, 1, 0, 0, 1},
		[]float64{3, 3, 4, 3, 3, 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	y, err := graph.FromClasses(2,
		[]float64{0.5, 0, 1.5, 0.5, 0.5, 1},
		[]float64{2.5, 3, 4, 3.5, 3, 5})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Four fixed directions at 0°, 45°, 90° and 135°: the columns of Θ (d×L).
	s := math.Sqrt(0.5)
	dirs := functionals.FixedDirections{L: 4, Theta: []float64{
		1, s, 0, -s,
		0, s, 1, s,
	}}
	f := functionals.MMD{Target: y, Kernel: Cauchy{H: 0.5}}

	// ½MMD² on the graph (with its WoW gradient) and in plain Go.
	fl, err := flows.New(x, f, flows.Config{Directions: dirs.L, DirectionSource: dirs})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer fl.Close()
	value, grad, err := fl.Evaluate()
	if err != nil {
		fmt.Println(err)
		return
	}
	ref, err := f.Reference(x, dirs.Theta, dirs.L)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("½MMD² = %.4g on the graph, %.4g in plain Go\n", value, ref)
	fmt.Printf("WoW gradient: %d coordinates, the first %.3g\n", len(grad), grad[0])
	// Output:
	// ½MMD² = 0.1451 on the graph, 0.1451 in plain Go
	// WoW gradient: 12 coordinates, the first -0.278
}

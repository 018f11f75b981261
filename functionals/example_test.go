package functionals_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
)

// The embedded distillation objective: MMDSW between the synthetic images
// and mini-batches of the real ones, both pushed through one random affine
// augmentation and one random ConvNet per step. Here: 2 classes of 8×8
// "images", 3 synthetic per class, flowed for 30 steps.
func ExampleRandomConvNet() {
	r := rand.New(rand.NewPCG(1, 2))
	img := func(n int, bright float64) []float64 {
		x := make([]float64, n*64)
		for i := range x {
			x[i] = bright * r.Float64()
		}
		return x
	}
	real, _ := graph.FromClasses(64, img(40, 1), img(40, 0.2))
	syn, _ := graph.FromClasses(64, img(3, 0.5), img(3, 0.5))
	aug, err := functionals.RandomAffine(8, 8, functionals.DefaultAffine)
	if err != nil {
		fmt.Println(err)
		return
	}
	net, err := functionals.RandomConvNet(8, 8, 4, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	obj := functionals.Pushforward{Name: "affine+convnet", Map: functionals.Compose(aug, net),
		F: functionals.MMD{Target: real, Batch: 16}}
	fl, err := flows.New(syn, obj, flows.Config{Steps: 30, Directions: 50, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer fl.Close()
	res, err := fl.Run(context.Background())
	fmt.Println(obj, res.Status, res.Steps, err)
	// Output:
	// pushforward(affine+convnet, mmd(kernel=riesz(r=1),target=2 classes×80 points,d=64,batch=16)) finished 30 <nil>
}

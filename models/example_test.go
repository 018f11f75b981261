package models_test

import (
	"fmt"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/models"
)

// Train an MLP on two Gaussian blobs, then test it.
func ExampleTrain() {
	r := rand.New(rand.NewPCG(1, 2))
	blobs := func(n int) ([]float64, []int) {
		var x []float64
		var y []int
		for i := 0; i < n; i++ {
			c := i % 2
			x = append(x, 3*float64(c)+r.NormFloat64(), r.NormFloat64())
			y = append(y, c)
		}
		return x, y
	}
	x, y := blobs(400)
	xt, yt := blobs(1000)
	m, err := models.NewMLP(2, []int{8}, 2, r)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m)
	cfg := models.DefaultTrainConfig() // AdamW, weight decay 0.01, batch 64
	cfg.Epochs, cfg.LR, cfg.Seed = 20, 1e-2, 3
	if _, err := models.Train(m, x, y, cfg); err != nil {
		fmt.Println(err)
		return
	}
	ev, err := models.Evaluate(m, xt, yt)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The Bayes accuracy of these blobs is Φ(1.5) ≈ 0.933.
	fmt.Println("accuracy above 0.9:", ev.Accuracy > 0.9)
	// Output:
	// mlp(2,dense:8,relu,dense:2)
	// accuracy above 0.9: true
}

// A fixed classifier as a differentiable loss of particles in another graph.
func ExampleModel_Logits() {
	m, err := models.NewLinear(2, 2, []float64{-1, 1, 0, 0}, nil) // z = (−x₁, x₁)
	if err != nil {
		fmt.Println(err)
		return
	}
	g := gorgonia.NewGraph()
	x := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(2, 2), gorgonia.WithName("particles"),
		gorgonia.WithValue(graph.DenseFrom(tensor.Float64, []float64{1, 0, -1, 0}, 2, 2)))
	z, err := m.Logits(x)
	if err != nil {
		fmt.Println(err)
		return
	}
	loss, err := graph.CrossEntropy(z, []int{1, 1}, []float64{0.5, 0.5})
	if err != nil {
		fmt.Println(err)
		return
	}
	grads, err := gorgonia.Grad(loss, x)
	if err != nil {
		fmt.Println(err)
		return
	}
	vm := gorgonia.NewTapeMachine(g.ExactSubgraphRoots(loss, grads[0]))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		fmt.Println(err)
		return
	}
	// Row i of the gradient is ½·(softmax(z_i) − e_1)·Wᵀ: particles move
	// towards x₁ > 0, fastest the one on the wrong side.
	fmt.Printf("loss %.4g, gradient %.4g\n", loss.Value().Data(), grads[0].Value().Data())
	// Output:
	// loss 1.127, gradient [-0.1192 0 -0.8808 0]
}

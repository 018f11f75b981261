// Package models provides image classifiers as gorgonia graphs: LeNet-5,
// the ConvNet of dataset distillation, a multilayer perceptron and a fixed
// linear map, trained with AdamW on mini-batches, evaluated, saved and
// loaded.
//
// A trained Model serves two purposes in a Wasserstein-over-Wasserstein flow
// library: it is the classifier trained on flowed and real images and tested
// on held-out ones (k-shot transfer, MNIST → Fashion-MNIST), and it is a
// fixed, differentiable loss inside another graph. Logits adds the forward
// pass of the rows of an input node to that node's graph, with the weights as
// input nodes holding copies of the current weights, so gradients reach the
// input and the weights stay fixed.
//
// # Architectures
//
// Every model is a Net, a sequential network whose architecture is data (its
// layers and weights); NewLeNet, NewConvNet, NewMLP and NewLinear build the
// four architectures, which Net.Arch names. An input is a row x ∈ ℝ^d; for
// the convolutional networks it is an H×W grayscale image stored row by row
// (pixel (r, c) at r·W + c), seen as one channel. With ReLU(t) = max(t, 0), a dense layer is x ↦ x·W + b (W of size
// in×out), a convolution is PyTorch's Conv2d (cross-correlation, stride 1,
// zero padding, weights out×in×k×k) and pooling is 2×2 max pooling with
// stride 2, dropping a last odd row or column (PyTorch's floor mode).
//
//	Linear  z = x·W + b
//	MLP     z = ReLU(…ReLU(x·W₁ + b₁)…)·W_L + b_L            (hidden sizes h₁ … h_{L−1})
//	LeNet   conv 5×5, 1 → 6 channels, padding 2 → ReLU → maxpool 2
//	        → conv 5×5, 6 → 16 channels, no padding → ReLU → maxpool 2
//	        → flatten (channel, row, column) → dense 120 → ReLU → dense 84 → ReLU → dense C
//
//	ConvNet [conv 3×3, padding 1, width channels → instance norm → ReLU → avgpool 2] × depth
//	        → flatten → dense C
//
// ConvNet is the evaluation network of the dataset-distillation literature
// (DC, DSA, DM and the paper use width 128, depth 3); its instance norm has no
// affine parameters here (the literature's GroupNorm(c, c) has a per-channel
// scale and shift).
//
// For 28×28 images LeNet's feature maps are 6×28×28, 6×14×14, 16×10×10 and
// 16×5×5 (400 features), as in LeCun et al. (1998). Images must be at least
// 12×12 so that the second pooling has an input of at least 2×2. The code of
// Bonet, Vauthier and Korba (2025), whose transfer protocol this package
// reproduces, gives the first convolution kernel size 1 (no padding), so its
// first layer mixes nothing spatially and has 12 weights instead of 156; the
// feature map sizes are the same. This package keeps the usual 5×5 kernel.
//
// Weights and biases are initialised as PyTorch does for nn.Linear and
// nn.Conv2d (Kaiming-uniform with a = √5, which reduces to):
//
//	W, b ~ U(−1/√fan_in, 1/√fan_in),   fan_in = in (dense) or in·k·k (convolution)
//
// # Training
//
// Train minimises the mean cross-entropy of mini-batches B,
//
//	L(θ) = (1/|B|) Σ_{i∈B} [log Σ_k exp z_k(x_i) − z_{y_i}(x_i)],
//
// with AdamW (Loshchilov & Hutter (2019), decoupled weight decay, as
// torch.optim.AdamW; optim.Adam): the defaults are the LeNet protocol of the
// paper, learning rate 3·10⁻⁴, batch 64, 50 epochs, weight decay 0.01
// (PyTorch's default), applied to all weights and biases. The data are
// shuffled every epoch with a seeded generator; the last partial batch is
// kept, as PyTorch's DataLoader does. Training runs in float32 unless
// TrainConfig.Float64 is set (AdamW's moments and update are float64 either
// way); Predict and Evaluate run in float64, at most 1000 inputs at a time.
//
// # Implementation and cost
//
// Train, Predict and Evaluate run on a tape-free engine (engine.go): the
// buffers of one batch size allocated once, a forward pass that keeps what
// the backward pass needs, a hand-written backward pass of every layer, the
// softmax cross-entropy fused with its gradient, and AdamW in place on the
// weights. Convolutions of more than 16 filters are im2col + BLAS GEMM
// (OpenBLAS, single-threaded) of the weights with the patches of several
// images side by side, which yields channel-first output. Convolutions of
// up to 16 filters (LeNet's) are wide: their output lives on the padded
// input's width, so that each row of patches is the padded image itself
// from some offset, and the convolution, its weight gradient and its input
// gradient (a correlation of the padded output gradient with the weights'
// channels swapped, over the filter rows that reach each block of the
// output gradient only) are correlation kernels that read the image at
// shifted offsets and never write the patches down (corr.go; AVX2 + FMA
// assembly in float32 on amd64, register blocks of 6 filters × 16
// columns; plain Go in float64, elsewhere and with -tags purego). ReLU is
// fused into the convolution below it, conv → ReLU → max pooling is one
// branch-free pass over the convolution's output (AVX2 in float32), whose
// backward pass also yields the bias gradient, and ReLU → average pooling
// one pass. AdamW keeps float64 moments and multiplies by the reciprocals
// of its bias corrections (AVX2 in float32). The layers before the first
// dense layer run on 16 fixed chunks of a batch in parallel, whose weight
// gradients are summed in chunk order, so results do not depend on the
// number of cores. Against the gorgonia graph
// path (Net.forward, graph.MeanCrossEntropy, gorgonia.Grad on a tape
// machine, kept for tests and benchmarks), the engine's logits, loss and
// gradients agree to 1e-10 in float64, and the same seed gives the same
// training to round-off.
//
// Net.Logits builds the forward pass in a gorgonia graph (for a fixed
// classifier inside another objective), with the ops of package graph
// (graph.Conv2D, graph.MaxPool2, graph.AvgPool2, graph.InstanceNorm).
//
// Costs on the 2-core machine (AMD EPYC, OpenBLAS single-threaded,
// GOMAXPROCS 2), float32, in CPU time per epoch (the machine was shared
// with other jobs, so wall times were up to twice these over two cores
// plus the waits), go test -bench TrainEpochEngine in this package:
//
//	                                          engine        graph path
//	LeNet, 2050 images, batch 64              236–265 ms    400–537 ms
//	ConvNet-32 (depth 3), 100 images, b. 256  104–123 ms    152–200 ms
//	ConvNet-128 (depth 3), 100 images         614–674 ms    781–902 ms
//
// Both are bound by OpenBLAS's GEMM on small shapes (LeNet's first
// convolution, 6 filters of 25 weights, runs at 10–30 GFLOP/s on one core,
// a 512³ product at 80–100).
//
// # File format
//
// Save writes, atomically:
//
//	line 1   "wowflow-model 1\n"
//	line 2   a JSON header and "\n": {"arch": "lenet"|"convnet"|"mlp"|"linear", "input": d,
//	         "height": H, "width": W, "hidden": [h₁, …], "classes": C,
//	         "params": [{"name": "conv1.weight", "shape": [6, 1, 5, 5]}, …]}
//	then     every parameter's values in the header's order, row-major, as
//	         little-endian IEEE-754 float64s
//	then     the CRC-32 (IEEE) of those value bytes, 4 bytes little-endian
//
// Dense weights have shape [in, out] (the transpose of PyTorch's), biases
// [out], convolution weights [out, in, k, k] (PyTorch's layout).
//
// References: LeCun, Bottou, Bengio, Haffner (1998), Gradient-Based Learning
// Applied to Document Recognition; He, Zhang, Ren, Sun (2015), Delving Deep
// into Rectifiers; Kingma & Ba (2015), Adam: A Method for Stochastic
// Optimization; Loshchilov & Hutter (2019), Decoupled Weight Decay
// Regularization; Bonet, Vauthier, Korba (2025), Flowing Datasets with
// Wasserstein over Wasserstein Gradient Flows; Ulyanov, Vedaldi, Lempitsky
// (2016), Instance Normalization: The Missing Ingredient for Fast
// Stylization; Zhao & Bilen (2023), Dataset Condensation with Distribution
// Matching.
package models

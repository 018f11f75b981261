// Package functionals builds objective functionals F(P) of labeled datasets
// as gorgonia graphs, so that their automatic gradients drive
// Wasserstein-over-Wasserstein flows.
//
// A Functional adds to a graph the nodes computing a scalar from the packed
// dataset node (see graph.Node). Functionals that need random or changing
// inputs (projection directions redrawn every step, target mini-batches,
// random networks) register them with the Env, which the flow runner updates
// before every evaluation.
//
// The main functional is half the squared maximum mean discrepancy between
// the flowed dataset P = Σ_c a_c δ_{μ_c} and a target Q = Σ_k b_k δ_{ν_k} with a
// kernel on distributions built from sliced Wasserstein distances:
//
//	F(P) = ½ MMD_K²(P, Q)
//	     = ½ [Σ a_c a_c' K(μ_c,μ_c') + Σ b_k b_k' K(ν_k,ν_k') − 2 Σ a_c b_k K(μ_c,ν_k)],
//
//	Gaussian  K = exp(−SW_2²/(2h))
//	Riesz     K = −(SW_2²)^{r/2},  r ∈ (0, 2), r = 1 by default (MMDSW)
//	Laplace   K = exp(−SW_1/h)
//	IMQ       K = 1/sqrt(h + SW_2²)
//
// with SW estimated on L directions shared by every class pair of a step.
// The directions are a d×L matrix Θ, column l the unit vector θ_l, in every
// API here (DirectionSource, FixedDirections, Referencer; see graph's package
// doc), and the plain-Go reference evaluations take their sliced costs from
// graph.ReferenceSliced.
// Potential energies ∫F(μ)dP(μ) = Σ_c a_c F(μ_c) and interaction energies
// ½∫∫W(μ,ν)dP(μ)dP(ν) = ½ Σ_c Σ_c' a_c a_c' W(μ_c, μ_c') take user-written graph
// functions of one or two classes; MMD is the sum of one of each. Sum forms
// weighted sums of functionals. ClassifierLoss is the cross-entropy of a fixed
// classifier on every particle against its class label. Pushforward evaluates
// a functional after a differentiable map φ applied to every particle (and to
// the target of MMD and MeanMatching), F(φ#P); φ may be redrawn every step
// (RandomFeatures; RandomConvNet and RandomAffine for images, below), and
// Compose chains maps. Random maps keep their parameter nodes on the Env
// (Env.Shared), so that every dataset mapped on one Env sees the same draw.
// MeanMatching is Distribution Matching's Σ_c ‖mean μ_c − mean ν_c‖², the
// baseline of dataset distillation.
//
// # Random embedding
//
// RandomConvNet is the random ConvNet embedding φ of distribution matching
// (Zhao & Bilen (2023)), used through Pushforward to compare datasets of
// images after a network redrawn at every step. Each of its depth blocks is
//
//	conv 3×3, padding 1 → instance norm → ReLU → 2×2 average pooling (floor mode)
//
// with instance normalisation y = (x − μ)/√(σ² + ε) per image and channel
// over the pixels (biased σ², ε = 10⁻⁵, no affine parameters) and the
// convolution weights drawn from U(−1/√fan_in, 1/√fan_in) by the flow's RNG
// before every evaluation (no bias: the normalisation removes it). The
// convolution, normalisation and pooling are the ops of package graph
// (graph.Conv2D, then graph.NormReLUPool: InstanceNorm, ReLU and AvgPool2
// fused; an input that needs no gradient goes through graph.ConvBlocks).
// Before the fusion, on 256 images of
// 28×28, width 32 and depth 3, φ and ∂/∂x Σ φ(x) ⊙ R take about 0.23 s in
// float32 and 0.32 s in float64 on 2 cores (AMD EPYC, GOMAXPROCS 2) while
// another job was using both (BenchmarkRandomConvNet).
//
// RandomAffine is a differentiable random augmentation for the same use: a
// rotation, scaling and translation (a random crop) drawn once per step and
// shared by every image, applied as y = x·M with M the bilinear resampling
// matrix of the draw (so the gradient is exact); Compose chains it before
// RandomConvNet.
//
// References: Bonet, Vauthier, Korba (2025), Flowing Datasets with
// Wasserstein over Wasserstein Gradient Flows; Kolouri, Zou, Rohde (2016),
// Sliced Wasserstein Kernels for Probability Distributions; Zhao & Bilen
// (2023), Dataset Condensation with Distribution Matching; Ulyanov, Vedaldi,
// Lempitsky (2016), Instance Normalization: The Missing Ingredient for Fast
// Stylization.
package functionals

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
// (RandomFeatures; models.RandomConvNet and models.RandomAffine for images),
// and Compose chains maps. Random maps keep their parameter nodes on the Env
// (Env.Shared), so that every dataset mapped on one Env sees the same draw.
// MeanMatching is Distribution Matching's Σ_c ‖mean μ_c − mean ν_c‖², the
// baseline of dataset distillation.
//
// References: Bonet, Vauthier, Korba (2025), Flowing Datasets with
// Wasserstein over Wasserstein Gradient Flows; Kolouri, Zou, Rohde (2016),
// Sliced Wasserstein Kernels for Probability Distributions.
package functionals

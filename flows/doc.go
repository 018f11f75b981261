// Package flows runs Wasserstein-over-Wasserstein gradient flows of labeled
// datasets.
//
// A functional F(P) of the dataset P = Σ_c a_c δ_{μ_c} is built once as a
// gorgonia graph (package functionals) over the packed particle matrix X.
// Writing F as a function F̃ of all particles, the WoW gradient at particle
// x_i^c is
//
//	∇_WoW F(P)(x_i^c) = (n_c / a_c) · ∂F̃/∂x_i^c        (= n_c·C·∂F̃/∂x_i^c for uniform weights),
//
// so each step binds the step's random inputs (projection directions shared
// by every class pair, target mini-batches), runs the tape, rescales the
// autodiff gradient per class and hands it to an optim.Optimizer, which moves
// the particles in place (explicit Euler, heavy-ball momentum, Adam or any
// gorgonia solver).
//
// Reference: Bonet, Vauthier, Korba (2025), Flowing Datasets with
// Wasserstein over Wasserstein Gradient Flows, §3.
package flows

// Package optim holds the optimizers that move particles along a gradient.
//
// An Optimizer has the signature of gorgonia's Solver, Step([]ValueGrad)
// error, so gorgonia's own solvers (gorgonia.NewVanillaSolver,
// gorgonia.NewMomentum, gorgonia.NewAdamSolver, …) plug in unchanged. Every
// optimizer updates the values in place, descending:
//
//	Euler     x ← x − τ g
//	Momentum  v ← g + m v;  x ← x − τ v          (heavy ball, v_0 = 0, as the paper)
//	Nesterov  v ← g + m v;  x ← x − τ (g + m v)
//	Adam      m ← β1 m + (1−β1) g;  s ← β2 s + (1−β2) g²;
//	          x ← x − τ (m/(1−β1^t)) / (sqrt(s/(1−β2^t)) + ε)
//	AdamW     the same after x ← (1 − τλ) x   (decoupled weight decay λ)
//
// References: Kingma, Ba (2015), Adam: A Method for Stochastic Optimization;
// Loshchilov, Hutter (2019), Decoupled Weight Decay Regularization.
package optim

// Package ot computes exact discrete optimal transport: the linear
// assignment problem, the transport problem between weighted point sets,
// the squared 2-Wasserstein distance between uniform empirical measures,
// and the Wasserstein-over-Wasserstein distance between labeled datasets.
// Nothing here is regularised (no Sinkhorn): the values are exact up to
// floating-point rounding. The package works on plain row-major matrices
// and weight vectors and imports no other package of this module.
//
// Given source weights a ∈ R^n, target weights b ∈ R^m (non-negative, equal
// sums) and costs C ∈ R^{n×m}, the transport problem (EMD) is the linear
// program
//
//	min_Γ ⟨Γ, C⟩ = Σ_ij Γ_ij C_ij   s.t.  Γ 1_m = a,  Γᵀ 1_n = b,  Γ ≥ 0,
//
// with dual
//
//	max_{u,v} Σ_i a_i u_i + Σ_j b_j v_j   s.t.  u_i + v_j ≤ C_ij.
//
// A feasible Γ and potentials (u, v) are both optimal exactly when they
// satisfy complementary slackness, u_i + v_j = C_ij wherever Γ_ij > 0; the
// tests use this as a certificate of optimality. For n = m and uniform
// weights some optimal Γ is a permutation matrix divided by n
// (Birkhoff–von Neumann), so the problem reduces to the assignment problem
//
//	min_σ Σ_i C_{i σ(i)}   over permutations σ.
//
// W2 combines the two with squared Euclidean costs,
//
//	W_2²(μ, ν) = min_Γ Σ_ij Γ_ij |x_i − y_j|²,   μ = (1/n) Σ_i δ_{x_i},  ν = (1/m) Σ_j δ_{y_j}.
//
// One level up, a labeled dataset is a measure over measures,
// P = Σ_c a_c δ_{μ_c}, given as Classes (packed points, class offsets, class
// weights). As in ott-jax, the cost and the solver are separate: ClassCosts
// is the ground cost between classes, C_ck = W_2²(μ_c, ν_k), and
// WoWFromCost solves the transport problem between the class weights on any
// C×K cost (exact, sliced, …); WoW is the two together,
//
//	WW_2²(P, Q) = min_Γ Σ_ck Γ_ck W_2²(μ_c, ν_k)   s.t.  Γ 1 = a,  Γᵀ 1 = b,  Γ ≥ 0,
//
// and Align reads the label of each class of P off the optimal coupling
// (argmax_k Γ_ck).
//
// Algorithms.
//
// Assignment is the shortest augmenting path algorithm of Jonker and
// Volgenant (LAPJV): column reduction with reduction transfer, two
// passes of augmenting row reduction (capped, so floating-point ties
// cannot make it crawl), then one Dijkstra search on reduced costs per
// row still unassigned. O(n³) in the worst case; n = 500 takes about
// 15 ms. The final potentials are checked for dual feasibility in O(n²).
//
// EMD is the primal network simplex on the bipartite graph (as in POT's emd,
// which uses LEMON's implementation; Bonneel et al. 2011). It starts from
// the north-west corner basis, which is strongly feasible, prices by block
// search (blocks of √(nm) arcs), and picks the leaving arc by Cunningham's
// rule, which keeps the basis strongly feasible and so excludes cycling on
// degenerate problems. There is no big-M artificial start, so potentials
// stay of the order of the costs. Zero weights are removed before solving,
// and costs of extreme magnitude are rescaled by an exact power of two.
// The number of pivots is capped (DefaultMaxPivots); reaching the cap is
// reported as ErrNotConverged. A 500×300 problem with uniform weights
// needs about 10⁴ pivots and 25 ms.
//
// SqEuclidean forms the cost matrix with one Gram matrix product through
// blas64, so it runs on whichever BLAS implementation the program has
// registered with blas64.Use (a program that imports this module's graph
// package gets OpenBLAS in its default build; otherwise, as in this
// package's own tests, gonum's pure Go).
//
// References: Jonker, Volgenant (1987), A shortest augmenting path
// algorithm for dense and sparse linear assignment problems; Cunningham
// (1976), A network simplex method; Ahuja, Magnanti, Orlin (1993), Network
// Flows, §11; Bonneel, van de Panne, Paris, Heidrich (2011), Displacement
// interpolation using Lagrangian mass transport; Peyré, Cuturi (2019),
// Computational Optimal Transport, §3; Bonet, Vauthier, Korba (2025),
// Flowing Datasets with Wasserstein over Wasserstein Gradient Flows; Cuturi
// et al. (2022), Optimal Transport Tools (OTT): A JAX Toolbox for all things
// Wasserstein.
package ot

// Package graph holds labeled datasets and their representation on a
// gorgonia expression graph, and the custom gorgonia ops of the library:
// sliced optimal transport between the classes of datasets, and the ops of
// classifiers and embeddings below.
//
// A labeled dataset with C classes is a distribution over distributions
//
//	P = Σ_c a_c δ_{μ_c},   μ_c = (1/n_c) Σ_i δ_{x_i^c},   x ∈ R^d,
//
// with class weights a_c (uniform 1/C unless given). On a graph, a dataset is
// one packed n×d matrix node (all classes stacked, class c occupying rows
// [Offsets[c], Offsets[c+1])), so projecting all classes on L directions is a
// single matrix product.
//
// Directions. A set of L projection directions θ_1, …, θ_L ∈ R^d is the d×L
// row-major matrix Θ whose column l is θ_l, so that the projections of an n×d
// dataset X are the n×L product X·Θ. Every Go API of this module takes and
// returns directions in this layout (the Sliced op's projection node,
// ReferenceSliced, functionals.DirectionSource and FixedDirections,
// functionals.Referencer); only files differ — `wow eval --projections`
// reads an L×d NPY matrix, one unit direction per row, and transposes it
// once when reading.
//
// Sliced costs have two entry points: the Sliced op (and SW, its single-pair
// form) on a graph, and ReferenceSliced, the same matrix from datasets and
// directions in plain Go, independent of the BLAS implementation and of the
// number of cores. Commands (`wow eval`, `wow distance`) and reference
// evaluations use it, and the tests check the op against it.
//
// The Sliced op takes projected datasets (n×L matrices) and returns the
// matrix of sliced transport costs between every pair of classes:
//
//	S_p(μ, ν) = (1/L) Σ_l W_p^p(θ_l#μ, θ_l#ν),  p ∈ {1, 2},
//
// where the one-dimensional cost is computed exactly by sorting:
//
//	W_p^p(α, β) = ∫_0^1 |F_α^{-1}(t) − F_β^{-1}(t)|^p dt,
//
// integrating the two piecewise-constant quantile functions over the merged
// breakpoints i/n and j/m (for n = m this is the mean of |a_(i) − b_(i)|^p over
// the order statistics). Each (class, direction) is sorted once per
// evaluation and the permutations are reused by every pair and by the
// gradient, which is closed form:
//
//	∂W_2^2/∂a_(i) = Σ_j 2 w_ij (a_(i) − b_(j)),   ∂W_1/∂a_(i) = Σ_j w_ij sign(a_(i) − b_(j)),
//
// with w_ij the length of the quantile interval shared by a_(i) and b_(j).
//
// The other ops, each with a closed-form gradient: SafePow, the guarded
// power of the Riesz kernel; CrossEntropy and MeanCrossEntropy, the stable
// cross-entropy of logits against labels fixed in the op (with row weights)
// or given as label rows (averaged), whose gradient is
//
//	∂/∂z_i  w_i (log Σ_k exp z_ik − Σ_k y_ik z_ik) = w_i (softmax(z_i) − y_i);
//
// and the image ops of convolutional networks on n×C×H×W nodes: Conv2D
// (stride 1, zero padding, one matrix product per image), MaxPool2 and
// AvgPool2 (2×2, stride 2, floor mode) and InstanceNorm (no affine
// parameters), with plain-Go references PlainConv2D, PlainMaxPool2,
// PlainAvgPool2 and PlainInstanceNorm. Every op hashes all its parameters
// (gorgonia merges nodes whose op hashes are equal).
//
// References: Bonet, Vauthier, Korba (2025), Flowing Datasets with
// Wasserstein over Wasserstein Gradient Flows; Rabin, Peyré, Delon, Bernot
// (2011), Wasserstein Barycenter and its Application to Texture Mixing;
// Ulyanov, Vedaldi, Lempitsky (2016), Instance Normalization: The Missing
// Ingredient for Fast Stylization.
package graph

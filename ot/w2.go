package ot

import "fmt"

// W2 returns the squared 2-Wasserstein distance W_2²(μ, ν) between the
// uniform empirical measures μ = (1/n) Σ_i δ_{x_i} and ν = (1/m) Σ_j δ_{y_j}
// on the rows of x (n×d, row-major) and y (m×d), exactly: the squared
// distances come from SqEuclidean, then for n = m the optimal plan is a
// permutation (Birkhoff–von Neumann) found by Assignment, W_2² = total/n;
// otherwise EMD solves the transport problem with weights 1/n and 1/m.
func W2(x []float64, n int, y []float64, m int, d int) (float64, error) {
	c, err := SqEuclidean(x, n, y, m, d)
	if err != nil {
		return 0, err
	}
	if n == m {
		_, total, err := Assignment(c, n)
		if err != nil {
			return 0, fmt.Errorf("ot: W2 of %d points: %w", n, err)
		}
		return total / float64(n), nil
	}
	_, total, err := EMD(uniform(n), uniform(m), c)
	if err != nil {
		return 0, fmt.Errorf("ot: W2 of %d and %d points: %w", n, m, err)
	}
	return total, nil
}

// uniform returns n weights 1/n.
func uniform(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1 / float64(n)
	}
	return w
}

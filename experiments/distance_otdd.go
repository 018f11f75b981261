package experiments

import (
	"fmt"

	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/internal/bures"
	"github.com/wowflow/wowflow/ot"
)

// otddDistance is `wow distance --metric otdd`: the exact OTDD of
// Alvarez-Melis & Fusi (2020), the transport problem between the points of x
// and y (uniform weights 1/N, 1/M, exact network simplex) with the cost
//
//	c(x_i, y_j) = |x_i − y_j|² + W₂²(N(μ_a, Σ_a), N(μ_b, Σ_b)),
//
// a, b the classes of x_i, y_j, μ and Σ the mean and population covariance
// (1/n) of each class's points — in the given features, or with labelDims
// K > 0 in a K-dimensional PCA fitted on x and y together. Cost is the C×K
// matrix of label costs W₂², Coupling the mass the optimal plan moves
// between each pair of classes, Alignment its argmax per class of x.
func otddDistance(x, y *graph.Dataset, labelDims int, res *DistanceResult) error {
	if labelDims < 0 {
		return fmt.Errorf("distance: --label-dims %d must be ≥ 0 (0: the given features)", labelDims)
	}
	ex, ey, d := x.Data, y.Data, x.D
	if labelDims > 0 {
		p, err := fitPCA(labelDims, x, y)
		if err != nil {
			return fmt.Errorf("distance: --label-dims %d: %w", labelDims, err)
		}
		ex, ey, d = p.project(x.Data, x.Len()), p.project(y.Data, y.Len()), labelDims
	}
	gx, err := classGaussians(ex, x.Layout(), d, false, false)
	if err != nil {
		return fmt.Errorf("distance: %w", err)
	}
	gy, err := classGaussians(ey, y.Layout(), d, false, false)
	if err != nil {
		return fmt.Errorf("distance: %w", err)
	}
	C, K := x.NumClasses(), y.NumClasses()
	label := make([]float64, C*K)
	for a := 0; a < C; a++ {
		for b := 0; b < K; b++ {
			if label[a*K+b], err = bures.W2Sq(gx[a].Mean, gx[a].Cov, gy[b].Mean, gy[b].Cov, d); err != nil {
				return fmt.Errorf("distance: label cost of class %d of X and class %d of Y: %w", a, b, err)
			}
		}
	}
	N, M := x.Len(), y.Len()
	cost, err := ot.SqEuclidean(x.Data, N, y.Data, M, x.D)
	if err != nil {
		return fmt.Errorf("distance: %w", err)
	}
	lx, ly := x.Labels(), y.Labels()
	for i := 0; i < N; i++ {
		for j := 0; j < M; j++ {
			cost[i*M+j] += label[lx[i]*K+ly[j]]
		}
	}
	a, b := make([]float64, N), make([]float64, M)
	for i := range a {
		a[i] = 1 / float64(N)
	}
	for j := range b {
		b[j] = 1 / float64(M)
	}
	plan, total, err := ot.EMD(a, b, cost)
	if err != nil {
		return fmt.Errorf("distance: OTDD transport: %w", err)
	}
	coupling := make([]float64, C*K)
	for i := 0; i < N; i++ {
		for j := 0; j < M; j++ {
			coupling[lx[i]*K+ly[j]] += plan[i*M+j]
		}
	}
	res.Value = total
	res.Cost, res.Coupling, res.Alignment = rows(label, C, K), rows(coupling, C, K), ot.Align(coupling, C, K)
	res.LabelDims = labelDims
	return nil
}

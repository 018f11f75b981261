package experiments

import (
	"fmt"
	"math"

	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/internal/bures"
	"github.com/wowflow/wowflow/optim"
	"gorgonia.org/tensor"
)

// The baselines of the paper's Table 2, as the authors' code runs them
// (lib/baseline_otdd_jax.py, lib/baseline_mmd_product_space.py of
// clbonet/Flowing_Datasets_with_WoW_Gradient_Flows): each particle carries
// (x, μ, Σ), its features and the Gaussian of its class in a 2-D PCA space
// fitted on source and target features together.
const (
	BaselineOTDD = "otdd" // Alvarez-Melis & Fusi's OTDD flow
	BaselineHua  = "hua"  // Hua et al.'s MMD flow with a product kernel
)

// baselineLabelDims is the dimension of the label embedding (the authors'
// reduced_dim = 2; graph.BuresCost is the 2×2 closed form).
const baselineLabelDims = 2

// BaselineSteps returns the authors' number of steps of a baseline: OTDD
// 5000 (AdamW lr 1e-3), Hua et al. 20000 (heavy ball, step 10, m 0.9).
func BaselineSteps(method string) int {
	if method == BaselineHua {
		return 20000
	}
	return 5000
}

// baselineSets is a source and a target in the product space: rows
// [x, μ, Σ] grouped by class, and the target classes' Gaussians (for the
// labels after the flow).
type baselineSets struct {
	x, y     *graph.Dataset
	tgt      []classGaussian
	features int
}

// embedBaseline builds the product-space source and target of the
// baselines from labeled feature sets: a 2-D PCA fitted on src and tgt
// together; each class's mean and sample covariance (1/(n−1), numpy's
// np.cov as in the authors' code) there; a target class of one point gets
// Σ = I (the authors' code, for k = 1). A source class of one point has no
// covariance: an error naming it.
func embedBaseline(src, tgt *graph.Dataset) (baselineSets, error) {
	p, err := fitPCA(baselineLabelDims, src, tgt)
	if err != nil {
		return baselineSets{}, err
	}
	gs, err := classGaussians(p.project(src.Data, src.Len()), src.Layout(), baselineLabelDims, true, false)
	if err != nil {
		return baselineSets{}, fmt.Errorf("source: %w", err)
	}
	gt, err := classGaussians(p.project(tgt.Data, tgt.Len()), tgt.Layout(), baselineLabelDims, true, true)
	if err != nil {
		return baselineSets{}, fmt.Errorf("target: %w", err)
	}
	regularise(gs)
	regularise(gt)
	for c, g := range gt {
		if err := bures.Check2(fmt.Sprintf("target class %d covariance", c), g.Cov); err != nil {
			return baselineSets{}, err
		}
	}
	for c, g := range gs {
		if err := bures.Check2(fmt.Sprintf("source class %d covariance", c), g.Cov); err != nil {
			return baselineSets{}, err
		}
	}
	aug := func(ds *graph.Dataset, g []classGaussian) *graph.Dataset {
		d, D := ds.D, ds.D+graph.GaussCols
		out := &graph.Dataset{D: D, Offsets: append([]int(nil), ds.Offsets...), Data: make([]float64, ds.Len()*D)}
		lab := ds.Labels()
		for i := 0; i < ds.Len(); i++ {
			row := out.Data[i*D : (i+1)*D]
			copy(row, ds.Data[i*d:(i+1)*d])
			copy(row[d:], g[lab[i]].Mean)
			copy(row[d+2:], g[lab[i]].Cov)
		}
		return out
	}
	return baselineSets{x: aug(src, gs), y: aug(tgt, gt), tgt: gt, features: src.D}, nil
}

// singularRidge is the documented regularisation of a singular class
// covariance (a class of two points, or of points on a line, in the 2-D
// embedding): Σ + singularRidge·(tr Σ / 2)·I, so that its BW distances and
// their gradients are finite (the authors' code gets NaN there and maps it
// to 0 with nan_to_num).
const singularRidge = 1e-3

func regularise(gs []classGaussian) {
	for i := range gs {
		s := gs[i].Cov
		tr := s[0] + s[3]
		if bures.Det2(s) <= 1e-9*tr*tr {
			r := singularRidge * math.Max(tr/2, 1e-12)
			s[0] += r
			s[3] += r
		}
	}
}

// baselineFlow returns the flow of a baseline on sets: float64 particles,
// gradient ×N (the authors' ×n), and
//   - otdd: functionals.OTDD with ott-jax's default ε, AdamW (lr 1e-3,
//     optax's defaults β = 0.9, 0.999, ε 1e-8, weight decay 1e-4) on every
//     coordinate, Σ projected back to SPD after each step;
//   - hua: functionals.ProductMMD (h = 100, h_μ = 50, h_Σ = 1000, noise
//     0.01), heavy ball (step 10, m 0.9) on x and μ, Σ by the BW exponential
//     map with step 10.
func baselineFlow(method string, sets baselineSets, cfg flows.Config) (*flows.Flow, functionals.Functional, error) {
	var f functionals.Functional
	D := sets.x.D
	switch method {
	case BaselineOTDD:
		f = functionals.OTDD{Target: sets.y, Features: sets.features}
		cfg.Optimizer = &optim.ProductSpace{Inner: &optim.Adam{Tau: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 1e-4}, Cols: D}
	case BaselineHua:
		f = functionals.DefaultProductMMD(sets.y, sets.features)
		cfg.Optimizer = &optim.ProductSpace{Inner: &optim.Momentum{Tau: 10, M: 0.9}, Cols: D, BWStep: 10}
	default:
		return nil, nil, fmt.Errorf("baseline %q: want %s or %s", method, BaselineOTDD, BaselineHua)
	}
	cfg.Dtype, cfg.ParticleScale, cfg.Directions = tensor.Float64, true, 1
	fl, err := flows.New(sets.x, f, cfg)
	return fl, f, err
}

// baselineLabels returns the features of the flowed particles, clipped to
// [0,1], and their labels: the target class whose Gaussian is nearest in
// Bures–Wasserstein distance to the particle's (μ, Σ). (The authors' code
// solves a transport problem between the target class weights and the
// particles on that distance instead, which balances the classes; the
// nearest class is the rule of the issue.) A particle whose Σ left the SPD
// cone is an error naming it.
func baselineLabels(out *graph.Dataset, sets baselineSets) ([]float64, []int, error) {
	d, D, n := sets.features, out.D, out.Len()
	x := make([]float64, n*d)
	labels := make([]int, n)
	for i := 0; i < n; i++ {
		row := out.Data[i*D : (i+1)*D]
		for k := 0; k < d; k++ {
			x[i*d+k] = math.Min(1, math.Max(0, row[k]))
		}
		best, arg := math.Inf(1), -1
		for c, g := range sets.tgt {
			w, err := bures.W2Sq2(row[d:d+2], row[d+2:D], g.Mean, g.Cov)
			if err != nil {
				return nil, nil, fmt.Errorf("particle %d: %w", i, err)
			}
			if w < best {
				best, arg = w, c
			}
		}
		labels[i] = arg
	}
	return x, labels, nil
}

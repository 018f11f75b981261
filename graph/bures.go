package graph

import (
	"fmt"
	"math"

	"github.com/wowflow/wowflow/internal/bures"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ErrNotSPD is wrapped by the errors of a covariance that is not symmetric
// positive definite (BuresCost, the baselines' label Gaussians).
var ErrNotSPD = bures.ErrNotSPD

// GaussCols is the number of columns of a row of 2-D Gaussians in BuresCost:
// the mean (2) then the covariance, row-major (4: Σ11, Σ12, Σ21, Σ22).
const GaussCols = 6

// BuresCost returns the n×m matrix of squared Bures–Wasserstein distances
// W₂²(N(μ_i, Σ_i), N(μ'_j, Σ'_j)) between the 2-D Gaussians of the rows of a
// (n×6) and b (m×6), each row [μ1, μ2, Σ11, Σ12, Σ21, Σ22], by the closed form
// of package bures,
//
//	W₂² = |μ − μ'|² + tr Σ + tr Σ' − 2 sqrt(t + 2q),  t = tr(ΣΣ'),  q = sqrt(det Σ det Σ').
//
// It is differentiable in both inputs, with the four entries of Σ treated
// as free coordinates:
//
//	∂W₂²/∂μ = 2(μ − μ'),   ∂W₂²/∂Σ = I − (Σ'ᵀ + sqrt(det Σ'/det Σ) cof Σ) / sqrt(t + 2q),
//
// cof Σ = [[Σ22, −Σ21], [−Σ12, Σ11]] (the gradient of det Σ). Every Σ must
// have a positive diagonal and determinant: evaluating on any other input
// is an error wrapping ErrNotSPD that names the input and the row,
// never a NaN.
func BuresCost(a, b *gorgonia.Node) (*gorgonia.Node, error) {
	if len(a.Shape()) != 2 || len(b.Shape()) != 2 || a.Shape()[1] != GaussCols || b.Shape()[1] != GaussCols {
		return nil, fmt.Errorf("graph: BuresCost of shapes %v and %v, want n×6 and m×6: %w", a.Shape(), b.Shape(), ErrShape)
	}
	if a.Dtype() != tensor.Float64 || b.Dtype() != tensor.Float64 {
		return nil, fmt.Errorf("graph: BuresCost is float64 only (got %v, %v): %w", a.Dtype(), b.Dtype(), ErrOption)
	}
	n, m := a.Shape()[0], b.Shape()[0]
	return gorgonia.ApplyOp(buresOp{newOpBase(fmt.Sprintf("BuresCost{%d,%d}", n, m), []int{2, 2}, 2, tensor.Shape{n, m}, []bool{true, true}), n, m, newOutBuffer()}, a, b)
}

type buresOp struct {
	opBase
	n, m int
	out  outBuffer
}

func checkGaussRows(what string, g []float64, n int) error {
	for i := 0; i < n; i++ {
		if err := bures.Check2(fmt.Sprintf("%s row %d: Σ", what, i), g[i*GaussCols+2:(i+1)*GaussCols]); err != nil {
			return fmt.Errorf("graph: BuresCost: %w", err)
		}
	}
	return nil
}

// buresPair returns W₂² between Gaussian rows p and r and, if dp is not
// nil, adds w·∂W₂²/∂p to dp.
func buresPair(p, r []float64, w float64, dp []float64) float64 {
	s, s2 := p[2:], r[2:]
	dm0, dm1 := p[0]-r[0], p[1]-r[1]
	t := s[0]*s2[0] + s[1]*s2[2] + s[2]*s2[1] + s[3]*s2[3]
	det, det2 := bures.Det2(s), bures.Det2(s2)
	q := math.Sqrt(det * det2)
	root := math.Sqrt(t + 2*q)
	v := dm0*dm0 + dm1*dm1 + s[0] + s[3] + s2[0] + s2[3] - 2*root
	if dp != nil {
		dp[0] += w * 2 * dm0
		dp[1] += w * 2 * dm1
		k := math.Sqrt(det2/det) / root
		dp[2] += w * (1 - s2[0]/root - k*s[3])
		dp[3] += w * (-s2[2]/root + k*s[2])
		dp[4] += w * (-s2[1]/root + k*s[1])
		dp[5] += w * (1 - s2[3]/root - k*s[0])
	}
	return v
}

func (op buresOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := inputs[float64](op, vals, op.n*GaussCols, op.m*GaussCols)
	if err != nil {
		return nil, err
	}
	if err := checkGaussRows("input 0", in[0], op.n); err != nil {
		return nil, err
	}
	if err := checkGaussRows("input 1", in[1], op.m); err != nil {
		return nil, err
	}
	out := op.out.get(op.n * op.m)
	for i := 0; i < op.n; i++ {
		p := in[0][i*GaussCols : (i+1)*GaussCols]
		for j := 0; j < op.m; j++ {
			out[i*op.m+j] = buresPair(p, in[1][j*GaussCols:(j+1)*GaussCols], 0, nil)
		}
	}
	return tensor.New(tensor.WithShape(op.n, op.m), tensor.WithBacking(out)), nil
}

func (op buresOp) SymDiff(in gorgonia.Nodes, out, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	res := make(gorgonia.Nodes, 2)
	for w := 0; w < 2; w++ {
		rows := op.n
		if w == 1 {
			rows = op.m
		}
		g, err := gorgonia.ApplyOp(buresGradOp{newOpBase(fmt.Sprintf("BuresCostGrad{%d,%d,wrt=%d}", op.n, op.m, w), []int{2, 2, 2}, 2, tensor.Shape{rows, GaussCols}, nil), op.n, op.m, w}, in[0], in[1], grad)
		if err != nil {
			return nil, err
		}
		res[w] = g
	}
	return res, nil
}

type buresGradOp struct {
	opBase
	n, m, wrt int
}

func (op buresGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := inputs[float64](op, vals, op.n*GaussCols, op.m*GaussCols, op.n*op.m)
	if err != nil {
		return nil, err
	}
	a, b, g := in[0], in[1], in[2]
	if op.wrt == 0 {
		out := make([]float64, op.n*GaussCols)
		for i := 0; i < op.n; i++ {
			p, dp := a[i*GaussCols:(i+1)*GaussCols], out[i*GaussCols:(i+1)*GaussCols]
			for j := 0; j < op.m; j++ {
				if w := g[i*op.m+j]; w != 0 {
					buresPair(p, b[j*GaussCols:(j+1)*GaussCols], w, dp)
				}
			}
		}
		return tensor.New(tensor.WithShape(op.n, GaussCols), tensor.WithBacking(out)), nil
	}
	out := make([]float64, op.m*GaussCols)
	for j := 0; j < op.m; j++ {
		r, dr := b[j*GaussCols:(j+1)*GaussCols], out[j*GaussCols:(j+1)*GaussCols]
		for i := 0; i < op.n; i++ {
			if w := g[i*op.m+j]; w != 0 {
				buresPair(r, a[i*GaussCols:(i+1)*GaussCols], w, dr) // W₂² is symmetric in its arguments
			}
		}
	}
	return tensor.New(tensor.WithShape(op.m, GaussCols), tensor.WithBacking(out)), nil
}

func (op buresGradOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, op.notDifferentiable()
}

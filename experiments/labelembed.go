package experiments

import (
	"fmt"
	"math"

	"github.com/wowflow/wowflow/graph"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// pca is a fitted principal-component projection onto K dimensions.
type pca struct {
	mean []float64  // d
	vecs *mat.Dense // d×K, the first K principal directions
	d, k int
}

// fitPCA fits a K-dimensional PCA (gonum's stat.PC, by SVD) to the rows of
// the datasets together.
func fitPCA(k int, sets ...*graph.Dataset) (*pca, error) {
	d, n := sets[0].D, 0
	for _, s := range sets {
		if s.D != d {
			return nil, fmt.Errorf("label embedding: datasets of dimension %d and %d", d, s.D)
		}
		n += s.Len()
	}
	if k < 1 || k > d || k > n {
		return nil, fmt.Errorf("label embedding: %d PCA dimensions for %d points of dimension %d", k, n, d)
	}
	x := mat.NewDense(n, d, nil)
	row := 0
	for _, s := range sets {
		for i := 0; i < s.Len(); i++ {
			x.SetRow(row, s.Data[i*d:(i+1)*d])
			row++
		}
	}
	var pc stat.PC
	if !pc.PrincipalComponents(x, nil) {
		return nil, fmt.Errorf("label embedding: PCA of %d×%d points failed", n, d)
	}
	var vecs mat.Dense
	pc.VectorsTo(&vecs)
	p := &pca{mean: make([]float64, d), vecs: mat.DenseCopyOf(vecs.Slice(0, d, 0, k)), d: d, k: k}
	for j := 0; j < d; j++ {
		p.mean[j] = stat.Mean(mat.Col(nil, j, x), nil)
	}
	return p, nil
}

// project returns the n×K projections of the rows of x (n×d), centred.
func (p *pca) project(x []float64, n int) []float64 {
	c := make([]float64, len(x))
	for i := 0; i < n; i++ {
		for j := 0; j < p.d; j++ {
			c[i*p.d+j] = x[i*p.d+j] - p.mean[j]
		}
	}
	var out mat.Dense
	out.Mul(mat.NewDense(n, p.d, c), p.vecs)
	return out.RawMatrix().Data
}

// classGaussian is the mean and covariance (d×d, row-major) of one class.
type classGaussian struct {
	Mean, Cov []float64
}

// classGaussians returns the mean and covariance of every class of the
// points x (n×d, grouped as in layout). unbiased divides by n_c − 1 (numpy's
// np.cov, the authors' code), else by n_c (the population covariance). A
// class with one point has no covariance: with identityForSingletons it
// gets I (as in the authors' code for k = 1), otherwise an error names it.
func classGaussians(x []float64, lay graph.Layout, d int, unbiased, identityForSingletons bool) ([]classGaussian, error) {
	out := make([]classGaussian, lay.NumClasses())
	for c := range out {
		lo, nc := lay.Offsets[c], lay.ClassSize(c)
		g := classGaussian{Mean: make([]float64, d), Cov: make([]float64, d*d)}
		for i := lo; i < lo+nc; i++ {
			for j := 0; j < d; j++ {
				g.Mean[j] += x[i*d+j] / float64(nc)
			}
		}
		div := float64(nc)
		if unbiased {
			div = float64(nc - 1)
		}
		if nc == 1 && unbiased {
			if !identityForSingletons {
				return nil, fmt.Errorf("label embedding: class %d has one point: no sample covariance", c)
			}
			for j := 0; j < d; j++ {
				g.Cov[j*d+j] = 1
			}
			out[c] = g
			continue
		}
		if nc == 1 && identityForSingletons {
			for j := 0; j < d; j++ {
				g.Cov[j*d+j] = 1
			}
			out[c] = g
			continue
		}
		for i := lo; i < lo+nc; i++ {
			for a := 0; a < d; a++ {
				da := x[i*d+a] - g.Mean[a]
				for b := a; b < d; b++ {
					g.Cov[a*d+b] += da * (x[i*d+b] - g.Mean[b]) / div
				}
			}
		}
		for a := 0; a < d; a++ {
			for b := 0; b < a; b++ {
				g.Cov[a*d+b] = g.Cov[b*d+a]
			}
		}
		for _, v := range g.Cov {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("label embedding: class %d has a non-finite covariance", c)
			}
		}
		out[c] = g
	}
	return out, nil
}

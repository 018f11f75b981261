package functionals

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/wowflow/wowflow/graph"
	"gorgonia.org/gorgonia"
)

// The baselines of the paper's Table 2 flow particles of a product space:
// each row of the dataset is [x, μ, Σ] — Features coordinates of the point,
// then the Gaussian of its class in a label embedding, graph.GaussCols = 6
// columns (the 2-D mean and the 2×2 covariance, row-major). The target is a
// dataset of the same layout. Both functionals are float64 only.

// OTDD is the functional of Alvarez-Melis & Fusi's OTDD flow (2021), as the
// authors of the WoW paper run it: the entropic transport cost between all
// particles and all target points (uniform weights),
//
//	F(P) = OT_ε(C̃),  C_ij = |x_i − y_j|² + W₂²(N(μ_i, Σ_i), N(μ'_j, Σ'_j)),  C̃ = C / mean(C),
//
// by log-domain Sinkhorn with ott-jax's PointCloud default ε (0.05 × std of
// C̃) unless Sinkhorn sets it; the gradient is the envelope theorem's
// ⟨P*, ∂C⟩/mean(C) (graph.EntropicOT). The authors' ×n is the flow's
// (flows.Config.ParticleScale).
type OTDD struct {
	Target   *graph.Dataset
	Features int
	Sinkhorn graph.EntropicOptions
	// Stats, if not nil, is set at Build to the Sinkhorn node's statistics.
	Stats **graph.SinkhornStats
}

func checkProduct(name string, t *graph.Dataset, features int, d int) error {
	if t == nil {
		return fmt.Errorf("functionals: %s has no target: %w", name, ErrParam)
	}
	if err := t.Validate(); err != nil {
		return fmt.Errorf("functionals: %s target: %w", name, err)
	}
	if features < 1 || d != features+graph.GaussCols || t.D != d {
		return fmt.Errorf("functionals: %s with %d features needs rows of %d+%d columns; particles have %d, the target %d: %w",
			name, features, features, graph.GaussCols, d, t.D, ErrParam)
	}
	return nil
}

// productBlocks returns the point and Gaussian blocks of the rows of x.
func productBlocks(x *gorgonia.Node, features int) (pts, gauss *gorgonia.Node, err error) {
	if pts, err = graph.Columns(x, 0, features); err != nil {
		return nil, nil, err
	}
	gauss, err = graph.Columns(x, features, features+graph.GaussCols)
	return pts, gauss, err
}

// Build implements Functional.
func (o OTDD) Build(env *Env, x graph.Node) (*gorgonia.Node, error) {
	if err := checkProduct("OTDD", o.Target, o.Features, x.Layout.D); err != nil {
		return nil, err
	}
	y, err := env.Constant("otdd_target", o.Target.Len(), o.Target.D, o.Target.Data)
	if err != nil {
		return nil, err
	}
	xp, xg, err := productBlocks(x.X, o.Features)
	if err != nil {
		return nil, err
	}
	yp, yg, err := productBlocks(y, o.Features)
	if err != nil {
		return nil, err
	}
	d2, err := graph.SqDist(xp, yp)
	if err != nil {
		return nil, err
	}
	bw, err := graph.BuresCost(xg, yg)
	if err != nil {
		return nil, err
	}
	c, err := gorgonia.Add(d2, bw)
	if err != nil {
		return nil, err
	}
	v, st, err := graph.EntropicOT(c, o.Sinkhorn)
	if err != nil {
		return nil, err
	}
	if o.Stats != nil {
		*o.Stats = st
	}
	return v, nil
}

func (o OTDD) String() string {
	s := fmt.Sprintf("otdd(features=%d,scale=%v,eps=%v,tol=%v,iter=%d", o.Features, o.Sinkhorn.Scale, o.Sinkhorn.Epsilon, o.Sinkhorn.Tol, o.Sinkhorn.MaxIter)
	if o.Target != nil {
		s += fmt.Sprintf(",target=%d points", o.Target.Len())
	}
	return s + ")"
}

// ProductMMD is the functional of Hua et al. (2023) as the authors of the
// WoW paper run it (their mmd_product_flow): ½MMD² between all particles
// and all target points (uniform weights) with the product Gaussian kernel
//
//	k((x,μ,Σ), (y,μ',Σ')) = exp(−|x−y|²/2H) exp(−|μ−μ'|²/2HMu) exp(−|Σ−Σ'|²_F/2HSigma),
//
// evaluated after adding N(0, Noise²) to every coordinate of the particles
// (x, μ and the four entries of Σ, independently: the authors' noise
// injection), redrawn at each evaluation. The gradient is taken at the
// noisy particles. Start from DefaultProductMMD for the authors' values.
type ProductMMD struct {
	Target         *graph.Dataset
	Features       int
	H, HMu, HSigma float64 // bandwidths, > 0
	Noise          float64 // standard deviation of the injected noise, ≥ 0 (0: none)
	// Float32 computes the kernel's matrix products in float32, as the
	// authors' JAX code does (graph.GaussKernel.Float32); the rest is float64.
	Float32 bool
}

// DefaultProductMMD returns the authors' settings: h = 100, h_μ = 50,
// h_Σ = 1000, noise 0.01, the kernel's products in float32 (JAX's default
// dtype).
func DefaultProductMMD(target *graph.Dataset, features int) ProductMMD {
	return ProductMMD{Target: target, Features: features, H: 100, HMu: 50, HSigma: 1000, Noise: 0.01, Float32: true}
}

func (p ProductMMD) validate(d int) error {
	if err := checkProduct("ProductMMD", p.Target, p.Features, d); err != nil {
		return err
	}
	for _, v := range []float64{p.H, p.HMu, p.HSigma} {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("functionals: ProductMMD bandwidths %v, %v, %v must be positive: %w", p.H, p.HMu, p.HSigma, ErrParam)
		}
	}
	if !(p.Noise >= 0) || math.IsInf(p.Noise, 0) {
		return fmt.Errorf("functionals: ProductMMD noise %v must be ≥ 0: %w", p.Noise, ErrParam)
	}
	return nil
}

// kernel returns the product kernel on product rows: features (bandwidth
// H), μ (HMu) and Σ (HSigma).
func (p ProductMMD) kernel() graph.GaussKernel {
	f := p.Features
	return graph.GaussKernel{Float32: p.Float32, Blocks: []graph.KernelBlock{{Start: 0, End: f, H: p.H}, {Start: f, End: f + 2, H: p.HMu}, {Start: f + 2, End: f + graph.GaussCols, H: p.HSigma}}}
}

// Build implements Functional.
func (p ProductMMD) Build(env *Env, x graph.Node) (*gorgonia.Node, error) {
	if err := p.validate(x.Layout.D); err != nil {
		return nil, err
	}
	y, err := env.Constant("hua_target", p.Target.Len(), p.Target.D, p.Target.Data)
	if err != nil {
		return nil, err
	}
	xs := x.X
	if p.Noise > 0 {
		noise, err := env.Input("hua_noise", x.Layout.Len(), x.Layout.D, func(rng *rand.Rand, z []float64) error {
			for i := range z {
				z[i] = p.Noise * rng.NormFloat64()
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if xs, err = graph.Add(xs, noise); err != nil {
			return nil, err
		}
	}
	kxx, err := p.kernel().Mean(xs, nil)
	if err != nil {
		return nil, err
	}
	kxy, err := p.kernel().Mean(xs, y)
	if err != nil {
		return nil, err
	}
	kyy := p.meanKernel(p.Target.Data, p.Target.Len(), p.Target.Data, p.Target.Len())
	v, err := gorgonia.Mul(kxy, env.Scalar(-2))
	if err != nil {
		return nil, err
	}
	if v, err = gorgonia.Add(v, kxx); err != nil {
		return nil, err
	}
	if v, err = gorgonia.Add(v, env.Scalar(kyy)); err != nil {
		return nil, err
	}
	return gorgonia.Mul(v, env.Scalar(0.5))
}

// meanKernel is the mean of the kernel over all pairs of rows of a and b,
// in plain Go.
func (p ProductMMD) meanKernel(a []float64, n int, b []float64, m int) float64 {
	f, d := p.Features, p.Features+graph.GaussCols
	s := 0.0
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			var dx, dm, ds float64
			for k := 0; k < d; k++ {
				e := a[i*d+k] - b[j*d+k]
				switch {
				case k < f:
					dx += e * e
				case k < f+2:
					dm += e * e
				default:
					ds += e * e
				}
			}
			s += math.Exp(-dx/(2*p.H) - dm/(2*p.HMu) - ds/(2*p.HSigma))
		}
	}
	return s / float64(n*m)
}

// Reference implements Referencer (without noise: Noise must be 0): the
// value in plain Go; theta and L are not used.
func (p ProductMMD) Reference(x *graph.Dataset, _ []float64, _ int) (float64, error) {
	if err := p.validate(x.D); err != nil {
		return 0, err
	}
	if p.Noise != 0 {
		return 0, fmt.Errorf("functionals: %v: no reference evaluation with noise", p)
	}
	n, m := x.Len(), p.Target.Len()
	return 0.5 * (p.meanKernel(x.Data, n, x.Data, n) + p.meanKernel(p.Target.Data, m, p.Target.Data, m) - 2*p.meanKernel(x.Data, n, p.Target.Data, m)), nil
}

func (p ProductMMD) String() string {
	s := fmt.Sprintf("product-mmd(features=%d,h=%v,h_mu=%v,h_sigma=%v,noise=%v", p.Features, p.H, p.HMu, p.HSigma, p.Noise)
	if p.Target != nil {
		s += fmt.Sprintf(",target=%d points", p.Target.Len())
	}
	return s + ")"
}

var (
	_ Functional = OTDD{}
	_ Functional = ProductMMD{}
	_ Referencer = ProductMMD{}
)

package functionals

import (
	"fmt"
	"math"

	"github.com/wowflow/wowflow/graph"
	"gorgonia.org/gorgonia"
)

// A Kernel on distributions is an elementwise function of a sliced transport
// cost: S = SW_2² when Order is 2, S = SW_1 when Order is 1.
type Kernel interface {
	// Order is the exponent p of the cost S_p the kernel is applied to.
	Order() int
	// Apply returns K(S) elementwise as graph nodes.
	Apply(env *Env, s *gorgonia.Node) (*gorgonia.Node, error)
	// Eval is the plain-Go K(s), for reference evaluations.
	Eval(s float64) float64
	// Validate reports invalid parameters.
	Validate() error
	String() string
}

// Gaussian is K(μ,ν) = exp(−SW_2²(μ,ν)/(2H)). H > 0 is the bandwidth; the
// paper's rings figure uses 0.05, its code's default is 0.1.
type Gaussian struct{ H float64 }

func (k Gaussian) Order() int { return 2 }
func (k Gaussian) Validate() error {
	if !(k.H > 0) || math.IsInf(k.H, 0) {
		return fmt.Errorf("functionals: gaussian bandwidth h=%v must be positive: %w", k.H, ErrParam)
	}
	return nil
}
func (k Gaussian) Apply(env *Env, s *gorgonia.Node) (*gorgonia.Node, error) {
	v, err := gorgonia.Mul(s, env.Scalar(-1/(2*k.H)))
	if err != nil {
		return nil, err
	}
	return gorgonia.Exp(v)
}
func (k Gaussian) Eval(s float64) float64 { return math.Exp(-s / (2 * k.H)) }
func (k Gaussian) String() string         { return fmt.Sprintf("gaussian(h=%g)", k.H) }

// Riesz is K(μ,ν) = −(SW_2²(μ,ν))^{R/2}, R ∈ (0, 2); the zero value R = 0
// means R = 1, K = −SW_2 (the MMDSW of every image experiment). Its
// derivative in SW² is infinite at 0; the kernel uses graph.SafePow so a class
// compared with itself contributes a zero gradient, never NaN.
type Riesz struct{ R float64 }

func (k Riesz) r() float64 {
	if k.R == 0 {
		return 1
	}
	return k.R
}
func (k Riesz) Order() int { return 2 }
func (k Riesz) Validate() error {
	if r := k.r(); !(r > 0 && r < 2) {
		return fmt.Errorf("functionals: riesz exponent r=%v must be in (0, 2): %w", r, ErrParam)
	}
	return nil
}
func (k Riesz) Apply(env *Env, s *gorgonia.Node) (*gorgonia.Node, error) {
	v, err := graph.SafePow(s, k.r()/2)
	if err != nil {
		return nil, err
	}
	return gorgonia.Neg(v)
}
func (k Riesz) Eval(s float64) float64 {
	if s <= 0 {
		return 0
	}
	return -math.Pow(s, k.r()/2)
}
func (k Riesz) String() string { return fmt.Sprintf("riesz(r=%g)", k.r()) }

// Laplace is K(μ,ν) = exp(−SW_1(μ,ν)/H), H > 0.
type Laplace struct{ H float64 }

func (k Laplace) Order() int { return 1 }
func (k Laplace) Validate() error {
	if !(k.H > 0) || math.IsInf(k.H, 0) {
		return fmt.Errorf("functionals: laplace bandwidth h=%v must be positive: %w", k.H, ErrParam)
	}
	return nil
}
func (k Laplace) Apply(env *Env, s *gorgonia.Node) (*gorgonia.Node, error) {
	v, err := gorgonia.Mul(s, env.Scalar(-1/k.H))
	if err != nil {
		return nil, err
	}
	return gorgonia.Exp(v)
}
func (k Laplace) Eval(s float64) float64 { return math.Exp(-s / k.H) }
func (k Laplace) String() string         { return fmt.Sprintf("laplace(h=%g)", k.H) }

// IMQ is the inverse multiquadric K(μ,ν) = 1/sqrt(H + SW_2²(μ,ν)), H > 0.
type IMQ struct{ H float64 }

func (k IMQ) Order() int { return 2 }
func (k IMQ) Validate() error {
	if !(k.H > 0) || math.IsInf(k.H, 0) {
		return fmt.Errorf("functionals: imq parameter h=%v must be positive: %w", k.H, ErrParam)
	}
	return nil
}
func (k IMQ) Apply(env *Env, s *gorgonia.Node) (*gorgonia.Node, error) {
	v, err := gorgonia.Add(s, env.Scalar(k.H))
	if err != nil {
		return nil, err
	}
	return graph.SafePow(v, -0.5)
}
func (k IMQ) Eval(s float64) float64 { return 1 / math.Sqrt(k.H+s) }
func (k IMQ) String() string         { return fmt.Sprintf("imq(h=%g)", k.H) }

var _ = []Kernel{Gaussian{}, Riesz{}, Laplace{}, IMQ{}}

// KernelByName returns the kernel called name ("gaussian", "riesz",
// "laplace", "imq") with parameter p (h, or r for riesz; 0 means the
// default: h = 0.1, r = 1).
func KernelByName(name string, p float64) (Kernel, error) {
	var k Kernel
	h := p
	if h == 0 {
		h = 0.1
	}
	switch name {
	case "gaussian":
		k = Gaussian{H: h}
	case "riesz", "":
		k = Riesz{R: p}
	case "laplace":
		k = Laplace{H: h}
	case "imq":
		k = IMQ{H: h}
	default:
		return nil, fmt.Errorf("functionals: unknown kernel %q (want gaussian, riesz, laplace or imq): %w", name, ErrParam)
	}
	return k, k.Validate()
}

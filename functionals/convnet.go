package functionals

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wowflow/wowflow/graph"
)

// RandomConvNet returns the map φ of the distribution-matching literature
// (Zhao & Bilen (2023), Dataset Condensation with Distribution Matching):
// depth blocks of
//
//	conv 3×3 (padding 1, width channels) → instance norm → ReLU → 2×2 average pooling
//
// applied to h×w single-channel images given as the rows of an n×(h·w) node
// (pixel (r, c) at r·w + c). The output is n×(width·h'·w'), the last feature
// maps flattened in (channel, row, column) order, with h' = ⌊h/2^depth⌋ and
// w' = ⌊w/2^depth⌋ (every pooling drops a last odd row or column); h and w
// must be at least 2^depth. Instance normalisation standardises every image
// and channel over its pixels (biased variance, ε = 10⁻⁵, no affine
// parameters: PyTorch's InstanceNorm2d).
//
// The weights are drawn as PyTorch initialises nn.Conv2d (Kaiming-uniform
// with a = √5), W ~ U(−1/√fan_in, 1/√fan_in) with fan_in = 9·(input
// channels), and redrawn at every step from the flow's RNG: they are Env
// inputs (Env.Input), created on the first call of φ on an Env and reused by
// every later call on it (Env.Shared), so that every dataset mapped on one
// Env (the particles and an MMD target) goes through the same network at each
// step. The convolutions have no bias: the instance normalisation that follows
// subtracts every per-channel constant, so a bias would have no effect.
//
// Inputs that need no gradient (Env.Fixed: an MMD target) go through
// graph.ConvBlocks, which streams them through the network and keeps only
// their features; the particles go through the differentiable ops (Conv2D,
// then graph.NormReLUPool: InstanceNorm, Rectify and AvgPool2 in one op).
// The two agree up to rounding.
//
// The map is scale-invariant up to ε: φ(a·x) ≈ φ(x) for a > 0.
func RandomConvNet(h, w, width, depth int) (MapFunc, error) {
	const maxPixels = 1 << 20
	switch {
	case depth < 1 || depth > 20:
		return nil, fmt.Errorf("functionals: random convnet of depth %d, want 1 to 20: %w", depth, ErrParam)
	case h < 1<<depth || w < 1<<depth || h > maxPixels || w > maxPixels || h*w > maxPixels:
		return nil, fmt.Errorf("functionals: random convnet of depth %d on %d×%d images, want sides of at least %d and at most %d pixels: %w", depth, h, w, 1<<depth, maxPixels, ErrParam)
	case width < 1 || width > 1<<12:
		return nil, fmt.Errorf("functionals: random convnet of width %d, want 1 to %d: %w", width, 1<<12, ErrParam)
	}
	prefix := fmt.Sprintf("random_convnet_%dx%d_w%d_d%d", h, w, width, depth)
	return func(env *Env, x *gorgonia.Node) (*gorgonia.Node, error) {
		if env == nil || x == nil {
			return nil, fmt.Errorf("functionals: random convnet: nil env or input: %w", ErrParam)
		}
		s := x.Shape()
		if len(s) != 2 || s[0] < 1 || s[1] != h*w {
			return nil, fmt.Errorf("functionals: random convnet on %d×%d images: input %s has shape %v, want n×%d: %w", h, w, x.Name(), s, h*w, ErrParam)
		}
		if dt := x.Dtype(); dt != tensor.Float64 && dt != tensor.Float32 {
			return nil, fmt.Errorf("functionals: random convnet: input %s has dtype %v, want float64 or float32: %w", x.Name(), dt, ErrParam)
		}
		v, err := env.Shared(prefix, func() (any, error) { return newConvNetParams(env, prefix, width, depth) })
		if err != nil {
			return nil, fmt.Errorf("functionals: random convnet: %w", err)
		}
		p := v.(convNetParams)
		if env.Fixed(x) { // a target: streamed through, no activations kept
			y, err := graph.ConvBlocks(x, p.weights, h, w)
			if err != nil {
				return nil, fmt.Errorf("functionals: random convnet: %w", err)
			}
			return y, nil
		}
		y, err := convNetForward(x, p, h, w, depth)
		if err != nil {
			return nil, fmt.Errorf("functionals: random convnet: %w", err)
		}
		return y, nil
	}, nil
}

// convNetParams are the parameter nodes of a random ConvNet on one Env:
// the weights of every block (width×(c·9), c = 1 for the first) and a
// zero bias (1×width) shared by every block.
type convNetParams struct {
	weights []*gorgonia.Node
	bias    *gorgonia.Node
}

func newConvNetParams(env *Env, prefix string, width, depth int) (convNetParams, error) {
	var p convNetParams
	in := 1
	for i := 0; i < depth; i++ {
		fanIn := 9 * in
		bound := 1 / math.Sqrt(float64(fanIn))
		wn, err := env.Input(fmt.Sprintf("%s.conv%d.weight", prefix, i+1), width, fanIn, func(rng *rand.Rand, dst []float64) error {
			for k := range dst {
				dst[k] = bound * (2*rng.Float64() - 1)
			}
			return nil
		})
		if err != nil {
			return p, err
		}
		p.weights = append(p.weights, wn)
		in = width
	}
	b, err := env.Constant(prefix+".bias", 1, width, make([]float64, width))
	if err != nil {
		return p, err
	}
	p.bias = b
	return p, nil
}

// convNetForward adds the ConvNet applied to the rows of x.
func convNetForward(x *gorgonia.Node, p convNetParams, h, w, depth int) (*gorgonia.Node, error) {
	n := x.Shape()[0]
	cur, err := gorgonia.Reshape(x, tensor.Shape{n, 1, h, w})
	if err != nil {
		return nil, fmt.Errorf("reshape input: %w", err)
	}
	for i := 0; i < depth; i++ {
		if cur, err = graph.Conv2D(cur, p.weights[i], p.bias, 3, 1); err != nil {
			return nil, fmt.Errorf("block %d: %w", i+1, err)
		}
		if cur, err = graph.NormReLUPool(cur); err != nil { // instance norm → ReLU → 2×2 average pool
			return nil, fmt.Errorf("block %d: %w", i+1, err)
		}
	}
	s := cur.Shape()
	return gorgonia.Reshape(cur, tensor.Shape{n, s[1] * s[2] * s[3]})
}

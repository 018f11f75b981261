package models

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
)

// Model is a classifier of d-dimensional inputs (flattened H×W grayscale
// images for convolutional networks) into Classes() classes.
type Model interface {
	// Logits adds the forward pass of the rows of x (an n×d matrix node,
	// float64 or float32) to x's graph and returns the n×Classes() logits
	// node. The weights enter as input nodes with unique names holding
	// copies of the model's current weights in x's dtype: they are fixed in
	// that graph, and the logits are differentiable with respect to x.
	Logits(x *gorgonia.Node) (*gorgonia.Node, error)
	// InputDim returns d.
	InputDim() int
	// Classes returns the number of classes, at least 2.
	Classes() int
	// String names the architecture and every size.
	String() string
}

var _ Model = (*Net)(nil)

// netOf returns the network of a model of this package.
func netOf(m Model) (*Net, error) {
	n, ok := m.(*Net)
	if !ok {
		return nil, fmt.Errorf("models: %T is not a model of this package: %w", m, ErrParam)
	}
	if n == nil || n.arch == "" {
		return nil, fmt.Errorf("models: %T has no network (use a constructor): %w", m, ErrParam)
	}
	return n, nil
}

// NewLeNet returns the convolutional network of LeCun et al. (1998) for h×w
// grayscale images (h, w ≥ 12) and classes ≥ 2 classes, with PyTorch's
// initialisation drawn from rng; see the package documentation for its
// layers and how it differs from the paper's code.
func NewLeNet(h, w, classes int, rng *rand.Rand) (*Net, error) {
	n, err := newLeNetNet(h, w, classes)
	if err != nil {
		return nil, err
	}
	return n.initialize(rng)
}

// NewConvNet returns the network of the dataset-distillation literature
// (Gidaris & Komodakis (2018); the evaluation model of DC, DSA, DM and the
// paper) for h×w images (sides at least 2^depth): depth blocks of conv 3×3
// (padding 1, width channels, with bias) → instance norm → ReLU → 2×2
// average pooling, then a dense layer to the classes, with PyTorch's
// initialisation drawn from rng. The literature's default is width 128,
// depth 3; its instance norm has per-channel affine parameters, this one has
// none (see the package documentation).
func NewConvNet(h, w, width, depth, classes int, rng *rand.Rand) (*Net, error) {
	n, err := newConvNetNet(h, w, width, depth, classes)
	if err != nil {
		return nil, err
	}
	return n.initialize(rng)
}

// NewMLP returns a multilayer perceptron with ReLU activations from ℝ^d to
// classes ≥ 2 logits with the given hidden layer sizes (none: a linear
// model), with PyTorch's initialisation drawn from rng.
func NewMLP(d int, hidden []int, classes int, rng *rand.Rand) (*Net, error) {
	n, err := newMLPNet(d, hidden, classes)
	if err != nil {
		return nil, err
	}
	return n.initialize(rng)
}

// NewLinear returns the linear classifier z = x·W + b of ℝ^d into classes ≥ 2
// classes, with W the d×classes matrix stored row by row in w and b of
// length classes (nil: zero). Both are copied and must be finite.
func NewLinear(d, classes int, w, b []float64) (*Net, error) {
	n, err := newLinearNet(d, classes)
	if err != nil {
		return nil, err
	}
	if len(w) != d*classes {
		return nil, fmt.Errorf("models: linear W has %d values, want %d×%d: %w", len(w), d, classes, ErrDim)
	}
	if b != nil && len(b) != classes {
		return nil, fmt.Errorf("models: linear b has %d values, want %d: %w", len(b), classes, ErrDim)
	}
	if err := checkFinite("linear W", w); err != nil {
		return nil, err
	}
	if err := checkFinite("linear b", b); err != nil {
		return nil, err
	}
	copy(n.params[0].data, w)
	copy(n.params[1].data, b)
	return n, nil
}

// Arch names the architecture: "lenet", "convnet", "mlp" or "linear" (the
// "arch" of the file format).
func (n *Net) Arch() string { return n.arch }

// InputDim implements Model: d, H·W for the convolutional networks.
func (n *Net) InputDim() int { return n.d }

// Classes implements Model.
func (n *Net) Classes() int { return n.classes }

// Size returns the image height and width of a convolutional network
// (LeNet, ConvNet), zero for the others.
func (n *Net) Size() (h, w int) { return n.h, n.w }

// Hidden returns a copy of the hidden layer sizes of an MLP (nil for the
// other architectures).
func (n *Net) Hidden() []int { return append([]int(nil), n.hidden...) }

// checkFinite reports the first non-finite value of v.
func checkFinite(what string, v []float64) error {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("models: %s[%d] = %v: %w", what, i, x, ErrNaN)
		}
	}
	return nil
}

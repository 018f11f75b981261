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

// A trainable model is one of this package's models, whose weights Train,
// Save and Load reach.
type trainable interface {
	Model
	network() *net
}

var (
	_ trainable = (*LeNet)(nil)
	_ trainable = (*ConvNet)(nil)
	_ trainable = (*MLP)(nil)
	_ trainable = (*Linear)(nil)
)

// netOf returns the network of a model of this package.
func netOf(m Model) (*net, error) {
	t, ok := m.(trainable)
	if !ok {
		return nil, fmt.Errorf("models: %T is not a model of this package: %w", m, ErrParam)
	}
	n := t.network()
	if n == nil {
		return nil, fmt.Errorf("models: %T has no network (use a constructor): %w", m, ErrParam)
	}
	return n, nil
}

// LeNet is the convolutional network of LeCun et al. (1998) for H×W
// grayscale images; see the package documentation for its layers and how it
// differs from the paper's code.
type LeNet struct{ n *net }

// NewLeNet returns a LeNet for h×w images (h, w ≥ 12) and classes ≥ 2
// classes, with PyTorch's initialisation drawn from rng.
func NewLeNet(h, w, classes int, rng *rand.Rand) (*LeNet, error) {
	n, err := newLeNetNet(h, w, classes)
	if err != nil {
		return nil, err
	}
	if err := n.initialize(rng); err != nil {
		return nil, err
	}
	return &LeNet{n}, nil
}

// Logits implements Model.
func (m *LeNet) Logits(x *gorgonia.Node) (*gorgonia.Node, error) { return m.network().logits(x) }

// InputDim implements Model: H·W.
func (m *LeNet) InputDim() int { return m.n.d }

// Classes implements Model.
func (m *LeNet) Classes() int { return m.n.classes }

// Size returns the image height and width.
func (m *LeNet) Size() (h, w int) { return m.n.h, m.n.w }

// String implements Model, e.g. for 28×28 images and 10 classes
// lenet(1x28x28,conv5x5p2:6x28x28,relu,maxpool2:6x14x14,conv5x5:16x10x10,relu,maxpool2:16x5x5,dense:120,relu,dense:84,relu,dense:10).
func (m *LeNet) String() string { return m.n.String() }

// LogitsOf returns the logits of the n rows of x computed in plain Go
// (slowly), as a reference for the graph.
func (m *LeNet) LogitsOf(x []float64, n int) ([]float64, error) { return m.n.plainLogits(x, n) }

func (m *LeNet) network() *net {
	if m == nil {
		return nil
	}
	return m.n
}

// ConvNet is the network of the dataset-distillation literature (Gidaris &
// Komodakis (2018); the evaluation model of DC, DSA, DM and the paper): depth
// blocks of conv 3×3 (padding 1, width channels, with bias) → instance
// norm → ReLU → 2×2 average pooling, then a dense layer to the classes. The
// literature's default is width 128, depth 3; its instance norm has
// per-channel affine parameters, this one has none (see the package
// documentation).
type ConvNet struct{ n *net }

// NewConvNet returns a ConvNet for h×w images (sides at least 2^depth) with
// PyTorch's initialisation drawn from rng.
func NewConvNet(h, w, width, depth, classes int, rng *rand.Rand) (*ConvNet, error) {
	n, err := newConvNetNet(h, w, width, depth, classes)
	if err != nil {
		return nil, err
	}
	if err := n.initialize(rng); err != nil {
		return nil, err
	}
	return &ConvNet{n}, nil
}

// Logits implements Model.
func (m *ConvNet) Logits(x *gorgonia.Node) (*gorgonia.Node, error) { return m.network().logits(x) }

// InputDim implements Model: H·W.
func (m *ConvNet) InputDim() int { return m.n.d }

// Classes implements Model.
func (m *ConvNet) Classes() int { return m.n.classes }

// String implements Model, e.g. for 28×28 images, width 8, depth 2
// convnet(1x28x28,conv3x3p1:8x28x28,instnorm,relu,avgpool2:8x14x14,conv3x3p1:8x14x14,instnorm,relu,avgpool2:8x7x7,dense:10).
func (m *ConvNet) String() string { return m.n.String() }

// LogitsOf returns the logits of the n rows of x computed in plain Go.
func (m *ConvNet) LogitsOf(x []float64, n int) ([]float64, error) { return m.n.plainLogits(x, n) }

func (m *ConvNet) network() *net {
	if m == nil {
		return nil
	}
	return m.n
}

// MLP is a multilayer perceptron with ReLU activations.
type MLP struct{ n *net }

// NewMLP returns an MLP from ℝ^d to classes ≥ 2 logits with the given hidden
// layer sizes (none: a linear model), with PyTorch's initialisation drawn
// from rng.
func NewMLP(d int, hidden []int, classes int, rng *rand.Rand) (*MLP, error) {
	n, err := newMLPNet(d, hidden, classes)
	if err != nil {
		return nil, err
	}
	if err := n.initialize(rng); err != nil {
		return nil, err
	}
	return &MLP{n}, nil
}

// Logits implements Model.
func (m *MLP) Logits(x *gorgonia.Node) (*gorgonia.Node, error) { return m.network().logits(x) }

// InputDim implements Model.
func (m *MLP) InputDim() int { return m.n.d }

// Classes implements Model.
func (m *MLP) Classes() int { return m.n.classes }

// Hidden returns a copy of the hidden layer sizes.
func (m *MLP) Hidden() []int { return append([]int(nil), m.n.hidden...) }

// String implements Model, e.g. mlp(784,dense:256,relu,dense:10).
func (m *MLP) String() string { return m.n.String() }

// LogitsOf returns the logits of the n rows of x computed in plain Go.
func (m *MLP) LogitsOf(x []float64, n int) ([]float64, error) { return m.n.plainLogits(x, n) }

func (m *MLP) network() *net {
	if m == nil {
		return nil
	}
	return m.n
}

// Linear is the affine classifier z = x·W + b.
type Linear struct{ n *net }

// NewLinear returns the linear classifier z = x·W + b of ℝ^d into classes ≥ 2
// classes, with W the d×classes matrix stored row by row in w and b of
// length classes (nil: zero). Both are copied and must be finite.
func NewLinear(d, classes int, w, b []float64) (*Linear, error) {
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
	return &Linear{n}, nil
}

// Logits implements Model.
func (m *Linear) Logits(x *gorgonia.Node) (*gorgonia.Node, error) { return m.network().logits(x) }

// InputDim implements Model.
func (m *Linear) InputDim() int { return m.n.d }

// Classes implements Model.
func (m *Linear) Classes() int { return m.n.classes }

// String implements Model, e.g. linear(784,dense:10).
func (m *Linear) String() string { return m.n.String() }

// LogitsOf returns the logits of the n rows of x computed in plain Go.
func (m *Linear) LogitsOf(x []float64, n int) ([]float64, error) { return m.n.plainLogits(x, n) }

func (m *Linear) network() *net {
	if m == nil {
		return nil
	}
	return m.n
}

// checkFinite reports the first non-finite value of v.
func checkFinite(what string, v []float64) error {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("models: %s[%d] = %v: %w", what, i, x, ErrNaN)
		}
	}
	return nil
}

package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync/atomic"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wowflow/wowflow/graph" // also sets up OpenBLAS for gorgonia and tensor
)

// maxDim bounds every size of a model (inputs, channels, units, classes), so
// that products of sizes cannot overflow and a corrupt file cannot ask for
// huge allocations.
const maxDim = 1 << 20

// maxParams bounds the number of weights of a model.
const maxParams = 1 << 28

type layerKind int

const (
	kDense layerKind = iota
	kConv
	kReLU
	kPool // 2×2 max pooling
	kFlatten
	kInstNorm // instance normalisation, no affine parameters
	kAvgPool  // 2×2 average pooling
)

// layer is one stage of a sequential network.
type layer struct {
	kind    layerKind
	in, out int // dense: features; conv: channels
	k, pad  int // conv: kernel size and zero padding
	param   int // dense, conv: index of the weight; the bias follows it
	// c, h, w are the channels, height and width of the output of a conv or
	// pool layer.
	c, h, w int
}

// param is one weight array. Its graph node is the rows×cols matrix of the
// same row-major data: dense W in×out, conv W out×(in·k·k), bias 1×out.
type param struct {
	name       string
	shape      []int // as saved
	rows, cols int
	fanIn      int
	data       []float64
}

// Net is a classifier of this package: a sequential network whose
// architecture (LeNet, ConvNet, MLP or linear, see the constructors and the
// package documentation) is data, its layers and weights. Train, Save and
// Load reach its weights; the zero Net is not a model (use a constructor).
type Net struct {
	arch            string // "lenet", "convnet", "mlp" or "linear"
	d, classes      int
	h, w            int   // image height and width (convolutional nets), else 0
	hidden          []int // MLP hidden sizes
	channels, depth int   // ConvNet width and number of blocks
	layers          []layer
	params          []param
}

// ids makes the names of the weight nodes unique across graphs and calls.
var ids atomic.Uint64

func (n *Net) addDense(name string, in, out int) {
	n.layers = append(n.layers, layer{kind: kDense, in: in, out: out, param: len(n.params)})
	n.params = append(n.params,
		param{name: name + ".weight", shape: []int{in, out}, rows: in, cols: out, fanIn: in, data: make([]float64, in*out)},
		param{name: name + ".bias", shape: []int{out}, rows: 1, cols: out, fanIn: in, data: make([]float64, out)})
}

func (n *Net) addConv(name string, in, out, k, pad, h, w int) {
	n.layers = append(n.layers, layer{kind: kConv, in: in, out: out, k: k, pad: pad, param: len(n.params),
		c: out, h: h + 2*pad - k + 1, w: w + 2*pad - k + 1})
	z := in * k * k
	n.params = append(n.params,
		param{name: name + ".weight", shape: []int{out, in, k, k}, rows: out, cols: z, fanIn: z, data: make([]float64, out*z)},
		param{name: name + ".bias", shape: []int{out}, rows: 1, cols: out, fanIn: z, data: make([]float64, out)})
}

// newLeNetNet returns LeNet's structure with zero weights.
func newLeNetNet(h, w, classes int) (*Net, error) {
	if h < 12 || w < 12 || h > maxDim || w > maxDim || h*w > maxDim {
		return nil, fmt.Errorf("models: lenet on %d×%d images, want at least 12×12 and at most %d pixels: %w", h, w, maxDim, ErrParam)
	}
	if err := checkClasses(classes); err != nil {
		return nil, err
	}
	n := &Net{arch: "lenet", d: h * w, classes: classes, h: h, w: w}
	n.addConv("conv1", 1, 6, 5, 2, h, w)
	n.layers = append(n.layers, layer{kind: kReLU})
	h1, w1 := h/2, w/2
	n.layers = append(n.layers, layer{kind: kPool, c: 6, h: h1, w: w1})
	n.addConv("conv2", 6, 16, 5, 0, h1, w1)
	n.layers = append(n.layers, layer{kind: kReLU})
	h2, w2 := (h1-4)/2, (w1-4)/2
	n.layers = append(n.layers, layer{kind: kPool, c: 16, h: h2, w: w2}, layer{kind: kFlatten})
	n.addDense("fc1", 16*h2*w2, 120)
	n.layers = append(n.layers, layer{kind: kReLU})
	n.addDense("fc2", 120, 84)
	n.layers = append(n.layers, layer{kind: kReLU})
	n.addDense("fc3", 84, classes)
	return n, nil
}

// newConvNetNet returns the ConvNet's structure with zero weights: depth
// blocks of conv 3×3 (padding 1, width channels) → instance norm → ReLU →
// 2×2 average pooling, then a dense layer to the classes.
func newConvNetNet(h, w, width, depth, classes int) (*Net, error) {
	if err := checkConvNet(h, w, width, depth); err != nil {
		return nil, err
	}
	if err := checkClasses(classes); err != nil {
		return nil, err
	}
	n := &Net{arch: "convnet", d: h * w, classes: classes, h: h, w: w, channels: width, depth: depth}
	in, hh, ww := 1, h, w
	for i := 0; i < depth; i++ {
		n.addConv(fmt.Sprintf("conv%d", i+1), in, width, 3, 1, hh, ww)
		hh, ww = hh/2, ww/2
		n.layers = append(n.layers, layer{kind: kInstNorm}, layer{kind: kReLU}, layer{kind: kAvgPool, c: width, h: hh, w: ww})
		in = width
	}
	if width*hh*ww*classes > maxParams {
		return nil, fmt.Errorf("models: convnet has more than %d weights: %w", maxParams, ErrParam)
	}
	n.layers = append(n.layers, layer{kind: kFlatten})
	n.addDense("fc", width*hh*ww, classes)
	return n, nil
}

// checkConvNet validates the sizes of a ConvNet.
func checkConvNet(h, w, width, depth int) error {
	switch {
	case depth < 1 || depth > 20:
		return fmt.Errorf("models: convnet of depth %d, want 1 to 20: %w", depth, ErrParam)
	case h < 1<<depth || w < 1<<depth || h > maxDim || w > maxDim || h*w > maxDim:
		return fmt.Errorf("models: convnet of depth %d on %d×%d images, want sides of at least %d and at most %d pixels: %w", depth, h, w, 1<<depth, maxDim, ErrParam)
	case width < 1 || width > 1<<12:
		return fmt.Errorf("models: convnet of width %d, want 1 to %d: %w", width, 1<<12, ErrParam)
	}
	return nil
}

// newMLPNet returns an MLP's structure with zero weights.
func newMLPNet(d int, hidden []int, classes int) (*Net, error) {
	if d < 1 || d > maxDim {
		return nil, fmt.Errorf("models: mlp input dimension %d, want 1 to %d: %w", d, maxDim, ErrParam)
	}
	if err := checkClasses(classes); err != nil {
		return nil, err
	}
	n := &Net{arch: "mlp", d: d, classes: classes, hidden: append([]int{}, hidden...)}
	in, total := d, 0
	for i, h := range hidden {
		if h < 1 || h > maxDim {
			return nil, fmt.Errorf("models: mlp hidden layer %d has %d units, want 1 to %d: %w", i, h, maxDim, ErrParam)
		}
		if total += in * h; total > maxParams {
			return nil, fmt.Errorf("models: mlp has more than %d weights: %w", maxParams, ErrParam)
		}
		n.addDense(fmt.Sprintf("fc%d", i+1), in, h)
		n.layers = append(n.layers, layer{kind: kReLU})
		in = h
	}
	if total+in*classes > maxParams {
		return nil, fmt.Errorf("models: mlp has more than %d weights: %w", maxParams, ErrParam)
	}
	n.addDense(fmt.Sprintf("fc%d", len(hidden)+1), in, classes)
	return n, nil
}

// newLinearNet returns a linear model's structure with zero weights.
func newLinearNet(d, classes int) (*Net, error) {
	if d < 1 || d > maxDim {
		return nil, fmt.Errorf("models: linear input dimension %d, want 1 to %d: %w", d, maxDim, ErrParam)
	}
	if err := checkClasses(classes); err != nil {
		return nil, err
	}
	if d*classes > maxParams {
		return nil, fmt.Errorf("models: linear model has more than %d weights: %w", maxParams, ErrParam)
	}
	n := &Net{arch: "linear", d: d, classes: classes}
	n.addDense("fc", d, classes)
	return n, nil
}

func checkClasses(k int) error {
	if k < 2 || k > maxDim {
		return fmt.Errorf("models: %d classes, want 2 to %d: %w", k, maxDim, ErrParam)
	}
	return nil
}

// initialize draws every weight and bias from U(−1/√fan_in, 1/√fan_in), as
// PyTorch initialises nn.Linear and nn.Conv2d, in parameter order, and
// returns n.
func (n *Net) initialize(rng *rand.Rand) (*Net, error) {
	if rng == nil {
		return nil, fmt.Errorf("models: %s: nil random generator: %w", n.arch, ErrParam)
	}
	for _, p := range n.params {
		bound := 1 / math.Sqrt(float64(p.fanIn))
		for i := range p.data {
			p.data[i] = bound * (2*rng.Float64() - 1)
		}
	}
	return n, nil
}

// String implements Model: the architecture and every size, e.g. for a
// LeNet on 28×28 images and 10 classes
// lenet(1x28x28,conv5x5p2:6x28x28,relu,maxpool2:6x14x14,conv5x5:16x10x10,relu,maxpool2:16x5x5,dense:120,relu,dense:84,relu,dense:10),
// for a ConvNet of width 8 and depth 2 on the same images
// convnet(1x28x28,conv3x3p1:8x28x28,instnorm,relu,avgpool2:8x14x14,conv3x3p1:8x14x14,instnorm,relu,avgpool2:8x7x7,dense:10),
// mlp(784,dense:256,relu,dense:10) or linear(784,dense:10).
func (n *Net) String() string {
	var b strings.Builder
	b.WriteString(n.arch + "(")
	if n.h > 0 {
		fmt.Fprintf(&b, "1x%dx%d", n.h, n.w)
	} else {
		fmt.Fprintf(&b, "%d", n.d)
	}
	for _, l := range n.layers {
		switch l.kind {
		case kDense:
			fmt.Fprintf(&b, ",dense:%d", l.out)
		case kConv:
			fmt.Fprintf(&b, ",conv%dx%d", l.k, l.k)
			if l.pad > 0 {
				fmt.Fprintf(&b, "p%d", l.pad)
			}
			fmt.Fprintf(&b, ":%dx%dx%d", l.c, l.h, l.w)
		case kReLU:
			b.WriteString(",relu")
		case kPool:
			fmt.Fprintf(&b, ",maxpool2:%dx%dx%d", l.c, l.h, l.w)
		case kAvgPool:
			fmt.Fprintf(&b, ",avgpool2:%dx%dx%d", l.c, l.h, l.w)
		case kInstNorm:
			b.WriteString(",instnorm")
		case kFlatten:
			// implied by the dense layer that follows
		}
	}
	b.WriteString(")")
	return b.String()
}

// numParams returns the number of weights.
func (n *Net) numParams() int {
	s := 0
	for _, p := range n.params {
		s += len(p.data)
	}
	return s
}

// checkInput validates the logits input node.
func (n *Net) checkInput(x *gorgonia.Node) (tensor.Dtype, error) {
	if x == nil {
		return tensor.Dtype{}, fmt.Errorf("models: %s: nil input node: %w", n.arch, ErrParam)
	}
	s := x.Shape()
	if len(s) != 2 || s[1] != n.d || s[0] < 1 {
		return tensor.Dtype{}, fmt.Errorf("models: %s: input %s has shape %v, want n×%d: %w", n.arch, x.Name(), s, n.d, ErrDim)
	}
	dt := x.Dtype()
	if dt != tensor.Float64 && dt != tensor.Float32 {
		return tensor.Dtype{}, fmt.Errorf("models: %s: input %s has dtype %v, want float64 or float32: %w", n.arch, x.Name(), dt, ErrParam)
	}
	return dt, nil
}

// weightNodes adds to g one input node per parameter, named uniquely with
// the given prefix, holding a copy of the weights in dtype dt.
func (n *Net) weightNodes(g *gorgonia.ExprGraph, dt tensor.Dtype, prefix string) []*gorgonia.Node {
	ws := make([]*gorgonia.Node, len(n.params))
	for i, p := range n.params {
		v := denseOf(dt, p.data, p.rows, p.cols)
		ws[i] = gorgonia.NewMatrix(g, dt, gorgonia.WithShape(p.rows, p.cols),
			gorgonia.WithName(prefix+p.name), gorgonia.WithValue(v))
	}
	return ws
}

// Logits implements Model.
func (n *Net) Logits(x *gorgonia.Node) (*gorgonia.Node, error) {
	if n == nil || n.arch == "" {
		return nil, fmt.Errorf("models: model has no network (use a constructor): %w", ErrParam)
	}
	dt, err := n.checkInput(x)
	if err != nil {
		return nil, err
	}
	prefix := fmt.Sprintf("models.%s#%d.", n.arch, ids.Add(1))
	z, err := n.forward(x, n.weightNodes(x.Graph(), dt, prefix))
	if err != nil {
		return nil, fmt.Errorf("models: %s: %w", n.arch, err)
	}
	return z, nil
}

// forward adds the network applied to the rows of x, with weight nodes ws
// (one per parameter, shaped as weightNodes makes them), to x's graph.
func (n *Net) forward(x *gorgonia.Node, ws []*gorgonia.Node) (*gorgonia.Node, error) {
	rows := x.Shape()[0]
	cur := x
	var err error
	if n.h > 0 {
		if cur, err = gorgonia.Reshape(x, tensor.Shape{rows, 1, n.h, n.w}); err != nil {
			return nil, fmt.Errorf("reshape input: %w", err)
		}
	}
	for i, l := range n.layers {
		switch l.kind {
		case kDense:
			if cur, err = gorgonia.Mul(cur, ws[l.param]); err == nil {
				cur, err = addBias(cur, ws[l.param+1])
			}
		case kConv:
			cur, err = graph.Conv2D(cur, ws[l.param], ws[l.param+1], l.k, l.pad)
		case kReLU:
			cur, err = gorgonia.Rectify(cur)
		case kPool:
			cur, err = graph.MaxPool2(cur)
		case kAvgPool:
			cur, err = graph.AvgPool2(cur)
		case kInstNorm:
			cur, err = graph.InstanceNorm(cur)
		case kFlatten:
			s := cur.Shape()
			cur, err = gorgonia.Reshape(cur, tensor.Shape{rows, s[1] * s[2] * s[3]})
		}
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
	}
	return cur, nil
}

// addBias returns z + 1·b for z of shape m×k and b of shape 1×k.
func addBias(z, b *gorgonia.Node) (*gorgonia.Node, error) {
	if z.Shape()[0] == 1 {
		return gorgonia.Add(z, b)
	}
	return gorgonia.BroadcastAdd(z, b, nil, []byte{0})
}

// LogitsOf returns the logits of the rows of x (rows×d, row-major) computed
// in plain Go (slowly), as a reference for the graph: rows×Classes() values.
func (n *Net) LogitsOf(x []float64, rows int) ([]float64, error) {
	if rows < 1 || len(x) != rows*n.d {
		return nil, fmt.Errorf("models: %s: %d values for %d rows of %d: %w", n.arch, len(x), rows, n.d, ErrDim)
	}
	out := make([]float64, 0, rows*n.classes)
	for r := 0; r < rows; r++ {
		cur := append([]float64(nil), x[r*n.d:(r+1)*n.d]...)
		c, h, w := 1, n.h, n.w
		for _, l := range n.layers {
			switch l.kind {
			case kDense:
				W, b := n.params[l.param].data, n.params[l.param+1].data
				next := append([]float64(nil), b...)
				for i, v := range cur {
					for j := range next {
						next[j] += v * W[i*l.out+j]
					}
				}
				cur = next
			case kConv:
				cur = graph.PlainConv2D(cur, n.params[l.param].data, n.params[l.param+1].data, c, h, w, l.k, l.pad)
				c, h, w = l.c, l.h, l.w
			case kReLU:
				for i, v := range cur {
					cur[i] = math.Max(v, 0)
				}
			case kPool:
				cur, c, h, w = graph.PlainMaxPool2(cur, c, h, w), l.c, l.h, l.w
			case kAvgPool:
				cur, c, h, w = graph.PlainAvgPool2(cur, c, h, w), l.c, l.h, l.w
			case kInstNorm:
				cur = graph.PlainInstanceNorm(cur, c, h*w)
			case kFlatten:
			}
		}
		out = append(out, cur...)
	}
	return out, nil
}

// denseOf returns a rows×cols tensor of dtype dt holding a copy of v.
func denseOf(dt tensor.Dtype, v []float64, rows, cols int) *tensor.Dense {
	if dt == tensor.Float32 {
		f := make([]float32, len(v))
		for i, x := range v {
			f[i] = float32(x)
		}
		return tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(f))
	}
	return tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(append([]float64(nil), v...)))
}

// copyOut copies the values of a float64 or float32 tensor into dst.
func copyOut(dst []float64, v gorgonia.Value) error {
	t, ok := v.(tensor.Tensor)
	if !ok || t.Shape().TotalSize() != len(dst) {
		return fmt.Errorf("models: value %v, want %d values: %w", v.Shape(), len(dst), ErrDim)
	}
	switch d := t.Data().(type) {
	case []float64:
		copy(dst, d)
	case []float32:
		for i, x := range d {
			dst[i] = float64(x)
		}
	default:
		return fmt.Errorf("models: value of dtype %v: %w", t.Dtype(), ErrParam)
	}
	return nil
}

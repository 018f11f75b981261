package graph

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wowflow/wowflow/internal/kern"
)

// ConvBlocks is the forward-only evaluation of the blocks of the
// distribution-matching ConvNet,
//
//	conv 3×3 (padding 1, no bias) → instance norm → ReLU → 2×2 average pooling
//
// once per weight matrix in ws (block i: O×(C_i·9), C_1 = 1, C_i = O after),
// applied to the h×w single-channel images in the rows of x (n×(h·w)): the
// n×(O·h'·w') node of the last feature maps, flattened in (channel, row,
// column) order. It equals the composition of Conv2D (zero bias),
// InstanceNorm, gorgonia.Rectify and AvgPool2, up to rounding, but keeps no
// intermediate activation: it is for inputs that need no gradient (an MMD
// target mapped through a random network), and it is not differentiable.
//
// The images go through the network in fixed groups of convBlocksGroup.
// Per group and layer, a layer of fewer than winoMinChannels input channels
// (the first) is one im2col matrix (strided copies of runs of each image's
// zero-padded planes) and one GEMM; a wider one is Winograd's F(2×2, 3×3)
// (winograd.go: 16 GEMMs of the transformed filters with the transformed
// 4×4 tiles, 2.25× fewer multiply-adds). Each group's convolution output is
// normalised, rectified and pooled in one pass. The copies, the transforms,
// the moments and the pooling are package kern's kernels (AVX2 in float32);
// the groups run in parallel. The memory it needs is the output and, per core,
// the buffers of one group, whatever n is. Each image's result depends on
// its own pixels only, so it does not depend on the number of cores.
func ConvBlocks(x *gorgonia.Node, ws []*gorgonia.Node, h, w int) (*gorgonia.Node, error) {
	s := x.Shape()
	if len(s) != 2 || s[0] < 1 || s[1] != h*w {
		return nil, fmt.Errorf("graph: conv blocks on %d×%d images: input %s of shape %v, want n×%d: %w", h, w, x.Name(), s, h*w, ErrShape)
	}
	if len(ws) == 0 || h < 1<<len(ws) || w < 1<<len(ws) {
		return nil, fmt.Errorf("graph: %d conv blocks on %d×%d images: want 1 or more blocks and sides of at least 2^blocks: %w", len(ws), h, w, ErrShape)
	}
	g := blocksGeom{n: s[0], h: h, w: w}
	for i, wn := range ws {
		in := 1
		if i > 0 {
			in = g.width
		}
		sh := wn.Shape()
		if len(sh) != 2 || sh[1] != 9*in || (i > 0 && sh[0] != g.width) || sh[0] < 1 {
			return nil, fmt.Errorf("graph: conv block %d: weights %s of shape %v, want O×%d with the O of the first block: %w", i+1, wn.Name(), sh, 9*in, ErrShape)
		}
		g.width = sh[0]
	}
	g.depth = len(ws)
	return gorgonia.ApplyOp(newConvBlocksOp(g), append(gorgonia.Nodes{x}, ws...)...)
}

// convBlocksGroup is the number of images that share one GEMM per layer: a
// fixed number, so that the work (and the rounding) of an image does not
// depend on the machine.
const convBlocksGroup = 4

// blocksGeom is the geometry of a ConvBlocks evaluation: n images of h×w,
// depth blocks of width channels.
type blocksGeom struct{ n, h, w, width, depth int }

// layer returns the convolution geometry of block i for a group of images.
func (g blocksGeom) layer(i int) convGeom {
	c := 1
	if i > 0 {
		c = g.width
	}
	return convGeom{n: 1, c: c, h: g.h >> i, w: g.w >> i, o: g.width, k: 3, pad: 1}
}

// outDim is the number of features of an image's result.
func (g blocksGeom) outDim() int { return g.width * (g.h >> g.depth) * (g.w >> g.depth) }

type convBlocksOp struct {
	opBase
	blocksGeom
}

func newConvBlocksOp(g blocksGeom) convBlocksOp {
	name := fmt.Sprintf("ConvBlocks{n=%d,h=%d,w=%d,width=%d,depth=%d}", g.n, g.h, g.w, g.width, g.depth)
	in := make([]int, 1+g.depth)
	for i := range in {
		in[i] = 2
	}
	return convBlocksOp{newOpBase(name, in, 2, tensor.Shape{g.n, g.outDim()}, nil), g}
}

// SymDiff is there for gorgonia's analysis of the graph, which asks every op
// on a path to the loss which inputs have a gradient (none here).
func (op convBlocksOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, op.notDifferentiable()
}

func (op convBlocksOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	g := op.blocksGeom
	want := []int{g.n * g.h * g.w}
	for i := 0; i < g.depth; i++ {
		want = append(want, g.width*g.layer(i).z())
	}
	return doTyped(op, vals, want, op.shape,
		func(in [][]float64, out []float64) { convBlocksDo(g, in[0], in[1:], out) },
		func(in [][]float32, out []float32) { convBlocksDo(g, in[0], in[1:], out) })
}

// blocksScratch holds one core's buffers: the im2col matrix and the
// convolution output of a group at the largest layer, two feature-map
// buffers (the input and output of a block), per layer one image's
// zero-padded input planes (their borders are never written, so they stay
// zero), and the buffers of the Winograd layers.
type blocksScratch[F float32 | float64] struct {
	col, conv, a, b []F
	pad             [][]F
	v, mm, tmp      []F // Winograd layers: the transformed tiles, their products, one output plane
}

func convBlocksDo[F float32 | float64](g blocksGeom, x []F, ws [][]F, out []F) {
	G := convBlocksGroup
	groups := (g.n + G - 1) / G
	l0, l1 := g.layer(0), g.layer(min(1, g.depth-1))
	colSize := max(l0.z()*l0.p(), l1.z()*l1.p()) * G
	// The layers that run as Winograd F(2×2, 3×3), their transformed
	// filters (once per call, shared by the groups) and buffer sizes.
	wino := make([]bool, g.depth)
	us := make([][]F, g.depth)
	vSize, mSize := 0, 0
	for i := range wino {
		lg := g.layer(i)
		if wino[i] = lg.c >= winoMinChannels && lg.k == 3 && lg.pad == 1; wino[i] {
			us[i] = make([]F, 16*lg.o*lg.c)
			winoFilters(ws[i], lg.o, lg.c, us[i])
			T := G * winoTiles(lg.h) * winoTiles(lg.w)
			vSize, mSize = max(vSize, 16*lg.c*T), max(mSize, 16*lg.o*T)
		}
	}
	newScratch := func() any {
		s := &blocksScratch[F]{col: make([]F, colSize), conv: make([]F, g.width*l0.p()*G),
			a: make([]F, max(l0.c*l0.h*l0.w, g.width*l1.h*l1.w)*G), b: make([]F, g.width*l1.h*l1.w*G),
			v: make([]F, vSize), mm: make([]F, mSize), tmp: make([]F, 4*winoTiles(g.h)*winoTiles(g.w))}
		for i := 0; i < g.depth; i++ {
			lg := g.layer(i)
			H, W := lg.h+2*lg.pad, lg.w+2*lg.pad
			if wino[i] {
				H, W = winoPadded(lg.h), winoPadded(lg.w)
			}
			s.pad = append(s.pad, make([]F, lg.c*H*W))
		}
		return s
	}
	dim := g.outDim()
	parallel(groups, newScratch, func(gi int, sc any) {
		s := sc.(*blocksScratch[F])
		lo, hi := gi*G, min(g.n, (gi+1)*G)
		m := hi - lo // images in this group
		cur := x[lo*g.h*g.w : hi*g.h*g.w]
		for i := 0; i < g.depth; i++ {
			lg := g.layer(i)
			z, p, ld := lg.z(), lg.p(), m*lg.p()
			conv := s.conv[:g.width*ld]
			if wino[i] {
				winoConv(cur, m, lg.c, lg.h, lg.w, lg.o, us[i], s.pad[i], s.v, s.mm, conv, s.tmp)
			} else {
				col := s.col[:z*ld]
				for j := 0; j < m; j++ {
					im2colPadded(lg, cur[j*lg.c*lg.h*lg.w:(j+1)*lg.c*lg.h*lg.w], s.pad[i], col[j*p:], ld)
				}
				gemm(blas.NoTrans, blas.NoTrans, g.width, ld, z, 1, ws[i], z, col, ld, 0, conv, ld)
			}
			next := s.b
			if i%2 == 1 {
				next = s.a
			}
			if i == g.depth-1 {
				next = out[lo*dim : hi*dim]
			}
			normReLUPool(conv, next, g.width, m, lg.h, lg.w)
			cur = next
		}
	})
}

// im2colPadded is im2colAt for a convolution whose output has the input's
// size (k = 2·pad + 1, stride 1), through pad, the zero-padded planes of
// the image x: row (c, a, b) of the patches, output row r, is the run
// pad[c][r + a][b : b + w], so the matrix is nine strided copies of runs
// (kern.CopyRows) without a test per value.
func im2colPadded[F float32 | float64](g convGeom, x, pad, col []F, ld int) {
	H, W := g.h+2*g.pad, g.w+2*g.pad
	kern.CopyRows(pad[g.pad*W+g.pad:], W, H*W, x, g.w, g.h*g.w, g.w, g.h, g.c)
	for a := 0; a < g.k; a++ {
		for b := 0; b < g.k; b++ {
			kern.CopyRows(col[(a*g.k+b)*ld:], g.ow(), g.k*g.k*ld, pad[a*W+b:], W, H*W, g.ow(), g.oh(), g.c)
		}
	}
}

// normReLUPool reads the o×(m·h·w) convolution output of a group of m
// images (channel-major, then image, then pixel) and writes, per image in
// channel-first order, 2×2 average pools of ReLU(instance norm): the
// m×o×⌊h/2⌋×⌊w/2⌋ result. The statistics of each plane are taken in one
// pass, in float64, about its first value (kern.Moments); normalisation
// and pooling run in F (kern.ReluPool).
func normReLUPool[F float32 | float64](conv, dst []F, o, m, h, w int) {
	hw, ph, pw := h*w, h/2, w/2
	inv := 1 / float64(hw)
	for c := 0; c < o; c++ {
		for j := 0; j < m; j++ {
			plane := conv[(c*m+j)*hw:][:hw]
			s1, s2 := kern.Moments(plane)
			k := float64(plane[0])
			mean := s1 * inv
			r := 1 / math.Sqrt(max(0, s2*inv-mean*mean)+instNormEps)
			// y = ReLU((x − μ)·r) = r·max(x − μ, 0); the pool of four
			// values is r/4 times the sum of max(x − μ, 0).
			kern.ReluPool(plane, w, ph, pw, F(k+mean), F(r/4), dst[(j*o+c)*ph*pw:][:ph*pw])
		}
	}
}

// ConvBlocksFLOPs is the number of floating-point operations of the
// convolutions of ConvBlocks on one h×w image with depth blocks of width
// channels (2 per multiply-add; normalisation and pooling, a few per
// value, are left out).
func ConvBlocksFLOPs(h, w, width, depth int) float64 {
	g := blocksGeom{n: 1, h: h, w: w, width: width, depth: depth}
	f := 0.0
	for i := 0; i < depth; i++ {
		l := g.layer(i)
		f += 2 * float64(l.o) * float64(l.z()) * float64(l.p())
	}
	return f
}

package graph

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The convolution is a custom op rather than gorgonia.Conv2d, whose im2col
// of the whole batch and transpose of the result to channel-first order (a
// generic strided copy) were the largest costs of LeNet's training.
// Here every image is convolved by one matrix product of the weights with
// its own im2col matrix, which yields channel-first output directly:
//
//	col_i[(c,a,b), (r,s)] = x_i[c, r+a−pad, s+b−pad]   (0 outside the image)
//	out_i = W·col_i + b·1ᵀ                              (O×P, P = H'·W')
//	∂L/∂W = Σ_i ∂L/∂out_i · col_iᵀ,   ∂L/∂b = Σ_i ∂L/∂out_i · 1,
//	∂L/∂x_i = col2im(Wᵀ · ∂L/∂out_i)
//
// Images are processed in parallel; sums over images are taken in a fixed
// order, so results do not depend on the number of cores.

// convGeom is the geometry of a stride-1 convolution with zero padding of
// n images of c×h×w by o filters of c×k×k.
type convGeom struct{ n, c, h, w, o, k, pad int }

func (g convGeom) oh() int { return g.h + 2*g.pad - g.k + 1 }
func (g convGeom) ow() int { return g.w + 2*g.pad - g.k + 1 }
func (g convGeom) z() int  { return g.c * g.k * g.k }
func (g convGeom) p() int  { return g.oh() * g.ow() }

type convKind int

const (
	convForward convKind = iota // x, W, b → out
	convGradX                   // W, ∂out → ∂x
	convGradW                   // x, ∂out → ∂W
	convGradB                   // ∂out → ∂b
)

// convOp is one of the forward or gradient computations of a convolution.
type convOp struct {
	opBase
	kind convKind
	convGeom
}

func newConvOp(kind convKind, g convGeom) convOp {
	name := [...]string{"Conv", "ConvGradX", "ConvGradW", "ConvGradB"}[kind]
	name = fmt.Sprintf("%s{n=%d,c=%d,h=%d,w=%d,o=%d,k=%d,pad=%d}", name, g.n, g.c, g.h, g.w, g.o, g.k, g.pad)
	var b opBase
	switch kind {
	case convForward: // x, W, b → out
		b = newOpBase(name, []int{4, 2, 2}, 4, tensor.Shape{g.n, g.o, g.oh(), g.ow()}, []bool{true, true, true})
	case convGradX: // W, ∂out → ∂x
		b = newOpBase(name, []int{2, 4}, 4, tensor.Shape{g.n, g.c, g.h, g.w}, nil)
	case convGradW: // x, ∂out → ∂W
		b = newOpBase(name, []int{4, 4}, 2, tensor.Shape{g.o, g.z()}, nil)
	default: // ∂out → ∂b
		b = newOpBase(name, []int{4}, 2, tensor.Shape{1, g.o}, nil)
	}
	return convOp{b, kind, g}
}

// Conv2D adds the stride-1 convolution with zero padding pad of the
// n×C×H×W node x by the O filters of C×k×k in the rows of w (O×(C·k·k), each
// row in PyTorch's (c, a, b) order), plus the bias b (1×O): the
// n×O×H'×W' node, H' = H + 2·pad − k + 1 and W' = W + 2·pad − k + 1. It is
// differentiable with respect to x, w and b.
func Conv2D(x, w, b *gorgonia.Node, k, pad int) (*gorgonia.Node, error) {
	s := x.Shape()
	if len(s) != 4 {
		return nil, fmt.Errorf("graph: convolution input %s of shape %v, want n×C×H×W: %w", x.Name(), s, ErrShape)
	}
	if k < 1 || pad < 0 {
		return nil, fmt.Errorf("graph: convolution of kernel size %d and padding %d: %w", k, pad, ErrOption)
	}
	o := 0
	if ws := w.Shape(); len(ws) == 2 {
		o = ws[0]
	}
	g := convGeom{n: s[0], c: s[1], h: s[2], w: s[3], o: o, k: k, pad: pad}
	if !w.Shape().Eq(tensor.Shape{o, g.z()}) || o < 1 || !b.Shape().Eq(tensor.Shape{1, o}) {
		return nil, fmt.Errorf("graph: convolution of %d channels by %d×%d kernels: weights %v and bias %v, want O×%d and 1×O: %w", g.c, k, k, w.Shape(), b.Shape(), g.z(), ErrShape)
	}
	if g.oh() < 1 || g.ow() < 1 {
		return nil, fmt.Errorf("graph: convolution of %d×%d images with %d×%d kernels: %w", g.h, g.w, g.k, g.k, ErrShape)
	}
	return gorgonia.ApplyOp(newConvOp(convForward, g), x, w, b)
}

// PlainConv2D is Conv2D of one c×h×w image x in plain Go, for reference
// evaluations: the len(b)×h'×w' output of the filters w (len(b)×(c·k·k))
// and bias b.
func PlainConv2D(x, w, b []float64, c, h, wd, k, pad int) []float64 {
	o, oh, ow := len(b), h+2*pad-k+1, wd+2*pad-k+1
	out := make([]float64, o*oh*ow)
	for f := 0; f < o; f++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				s := b[f]
				for ch := 0; ch < c; ch++ {
					for a := 0; a < k; a++ {
						r := i + a - pad
						if r < 0 || r >= h {
							continue
						}
						for bb := 0; bb < k; bb++ {
							q := j + bb - pad
							if q < 0 || q >= wd {
								continue
							}
							s += x[(ch*h+r)*wd+q] * w[((f*c+ch)*k+a)*k+bb]
						}
					}
				}
				out[(f*oh+i)*ow+j] = s
			}
		}
	}
	return out
}

func (op convOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.kind != convForward {
		return nil, op.notDifferentiable()
	}
	dx, err := gorgonia.ApplyOp(newConvOp(convGradX, op.convGeom), in[1], grad)
	if err != nil {
		return nil, err
	}
	dw, err := gorgonia.ApplyOp(newConvOp(convGradW, op.convGeom), in[0], grad)
	if err != nil {
		return nil, err
	}
	db, err := gorgonia.ApplyOp(newConvOp(convGradB, op.convGeom), grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx, dw, db}, nil
}

func (op convOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	g := op.convGeom
	x, w, b, out := g.n*g.c*g.h*g.w, g.o*g.z(), g.o, g.n*g.o*g.p()
	want := map[convKind][]int{convForward: {x, w, b}, convGradX: {w, out}, convGradW: {x, out}, convGradB: {out}}[op.kind]
	return doTyped(op, vals, want, op.shape,
		func(in [][]float64, out []float64) { convDo(op, in, out) },
		func(in [][]float32, out []float32) { convDo(op, in, out) })
}

// convChunks is the number of groups of images processed in parallel; it
// is fixed, so that sums over groups are taken in the same order on any
// machine.
const convChunks = 64

func convDo[F float32 | float64](op convOp, in [][]F, out []F) {
	g := op.convGeom
	z, p, xs, os := g.z(), g.p(), g.c*g.h*g.w, g.o*g.p()
	if op.kind == convGradB {
		dout := in[0]
		for i := 0; i < g.n; i++ {
			for o := 0; o < g.o; o++ {
				s := F(0)
				for _, v := range dout[i*os+o*p : i*os+(o+1)*p] {
					s += v
				}
				out[o] += s
			}
		}
		return
	}
	per := (g.n + convChunks - 1) / convChunks
	chunks := (g.n + per - 1) / per
	var partial [][]F
	if op.kind == convGradW {
		partial = make([][]F, chunks)
	}
	parallel(chunks, func() any { return make([]F, z*p) }, func(ch int, scratch any) {
		col := scratch.([]F)
		var acc []F
		if op.kind == convGradW {
			acc = make([]F, g.o*z)
			partial[ch] = acc
		}
		for i := ch * per; i < min(g.n, (ch+1)*per); i++ {
			switch op.kind {
			case convForward:
				x, w, b := in[0][i*xs:(i+1)*xs], in[1], in[2]
				im2col(g, x, col)
				o := out[i*os : (i+1)*os]
				for c := 0; c < g.o; c++ {
					for j := range p {
						o[c*p+j] = b[c]
					}
				}
				gemm(blas.NoTrans, blas.NoTrans, g.o, p, z, 1, w, z, col, p, 1, o, p)
			case convGradX:
				w, dout := in[0], in[1][i*os:(i+1)*os]
				gemm(blas.Trans, blas.NoTrans, z, p, g.o, 1, w, z, dout, p, 0, col, p)
				col2im(g, col, out[i*xs:(i+1)*xs])
			case convGradW:
				x, dout := in[0][i*xs:(i+1)*xs], in[1][i*os:(i+1)*os]
				im2col(g, x, col)
				gemm(blas.NoTrans, blas.Trans, g.o, z, p, 1, dout, p, col, p, 1, acc, z)
			}
		}
	})
	for _, acc := range partial {
		for j, v := range acc {
			out[j] += v
		}
	}
}

// im2col fills col (z×P) from one c×h×w image x.
func im2col[F float32 | float64](g convGeom, x, col []F) { im2colAt(g, x, col, g.p()) }

// im2colAt fills the z×P matrix at col, whose rows are ld apart, from one
// c×h×w image x (ld > P puts the matrices of several images side by side).
func im2colAt[F float32 | float64](g convGeom, x, col []F, ld int) {
	oh, ow, p := g.oh(), g.ow(), g.p()
	for c := 0; c < g.c; c++ {
		for a := 0; a < g.k; a++ {
			for b := 0; b < g.k; b++ {
				row := col[((c*g.k+a)*g.k+b)*ld:][:p]
				// Output column s reads input column s+b−pad ∈ [0, w).
				lo, hi := max(0, g.pad-b), min(ow, g.w+g.pad-b)
				for r := 0; r < oh; r++ {
					seg := row[r*ow : (r+1)*ow]
					ir := r + a - g.pad
					if ir < 0 || ir >= g.h || lo >= hi {
						clear(seg)
						continue
					}
					// Loops rather than clear and copy: the segments are
					// short (a row of the image), the calls cost more.
					for s := range seg[:lo] {
						seg[s] = 0
					}
					src := x[(c*g.h+ir)*g.w+lo+b-g.pad:][:hi-lo]
					dst := seg[lo:hi]
					for s, v := range src {
						dst[s] = v
					}
					for s := hi; s < ow; s++ {
						seg[s] = 0
					}
				}
			}
		}
	}
}

// col2im sets the c×h×w image dx to the adjoint of im2col applied to col.
func col2im[F float32 | float64](g convGeom, col, dx []F) {
	clear(dx)
	oh, ow, p := g.oh(), g.ow(), g.p()
	for c := 0; c < g.c; c++ {
		for a := 0; a < g.k; a++ {
			for b := 0; b < g.k; b++ {
				row := col[((c*g.k+a)*g.k+b)*p:][:p]
				lo, hi := max(0, g.pad-b), min(ow, g.w+g.pad-b)
				if lo >= hi {
					continue
				}
				for r := 0; r < oh; r++ {
					ir := r + a - g.pad
					if ir < 0 || ir >= g.h {
						continue
					}
					seg := row[r*ow+lo : r*ow+hi]
					dst := dx[(c*g.h+ir)*g.w+lo+b-g.pad:][:len(seg)]
					for j, v := range seg {
						dst[j] += v
					}
				}
			}
		}
	}
}

// gemm computes C = alpha·A·B + beta·C (with A and B optionally transposed)
// with the BLAS in use (OpenBLAS, set up by package graph).
func gemm[F float32 | float64](tA, tB blas.Transpose, m, n, k int, alpha F, a []F, lda int, b []F, ldb int, beta F, c []F, ldc int) {
	switch a := any(a).(type) {
	case []float64:
		blas64.Implementation().Dgemm(tA, tB, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	case []float32:
		blas32.Implementation().Sgemm(tA, tB, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	}
}

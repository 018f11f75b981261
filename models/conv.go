package models

import (
	"fmt"
	"hash"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/chewxy/hm"
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
	kind convKind
	convGeom
}

// conv adds the convolution of the n×C×H×W node x with the weights w
// (O×(C·k·k), rows in PyTorch's (c, a, b) order) and bias b (1×O).
func conv(x, w, b *gorgonia.Node, l layer) (*gorgonia.Node, error) {
	s := x.Shape()
	if len(s) != 4 || s[1] != l.in {
		return nil, fmt.Errorf("convolution input %v, want n×%d×H×W", s, l.in)
	}
	g := convGeom{n: s[0], c: s[1], h: s[2], w: s[3], o: l.out, k: l.k, pad: l.pad}
	if g.oh() < 1 || g.ow() < 1 {
		return nil, fmt.Errorf("convolution of %d×%d images with %d×%d kernels", g.h, g.w, g.k, g.k)
	}
	return gorgonia.ApplyOp(convOp{convForward, g}, x, w, b)
}

func (op convOp) Arity() int {
	switch op.kind {
	case convForward:
		return 3
	case convGradB:
		return 1
	}
	return 2
}

func (op convOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t4, t2 := gorgonia.TensorType{Dims: 4, Of: a}, gorgonia.TensorType{Dims: 2, Of: a}
	switch op.kind {
	case convForward:
		return hm.NewFnType(t4, t2, t2, t4)
	case convGradX:
		return hm.NewFnType(t2, t4, t4)
	case convGradW:
		return hm.NewFnType(t4, t4, t2)
	default:
		return hm.NewFnType(t4, t2)
	}
}

func (op convOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	switch op.kind {
	case convForward:
		return tensor.Shape{op.n, op.o, op.oh(), op.ow()}, nil
	case convGradX:
		return tensor.Shape{op.n, op.c, op.h, op.w}, nil
	case convGradW:
		return tensor.Shape{op.o, op.z()}, nil
	default:
		return tensor.Shape{1, op.o}, nil
	}
}

func (op convOp) ReturnsPtr() bool      { return false }
func (op convOp) CallsExtern() bool     { return false }
func (op convOp) OverwritesInput() int  { return -1 }
func (op convOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op convOp) Hashcode() uint32      { return hashOf(op) }
func (op convOp) String() string {
	name := [...]string{"Conv", "ConvGradX", "ConvGradW", "ConvGradB"}[op.kind]
	return fmt.Sprintf("models.%s{n=%d,c=%d,h=%d,w=%d,o=%d,k=%d,pad=%d}", name, op.n, op.c, op.h, op.w, op.o, op.k, op.pad)
}

func (op convOp) DiffWRT(int) []bool {
	if op.kind == convForward {
		return []bool{true, true, true}
	}
	return make([]bool, op.Arity())
}

func (op convOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.kind != convForward {
		return nil, fmt.Errorf("models: %v is not differentiable", op)
	}
	dx, err := gorgonia.ApplyOp(convOp{convGradX, op.convGeom}, in[1], grad)
	if err != nil {
		return nil, err
	}
	dw, err := gorgonia.ApplyOp(convOp{convGradW, op.convGeom}, in[0], grad)
	if err != nil {
		return nil, err
	}
	db, err := gorgonia.ApplyOp(convOp{convGradB, op.convGeom}, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx, dw, db}, nil
}

func (op convOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vals) != op.Arity() {
		return nil, fmt.Errorf("models: %v: %d inputs: %w", op, len(vals), ErrDim)
	}
	shape, _ := op.InferShape()
	switch vals[0].Dtype() {
	case tensor.Float64:
		return typedDo(shape, func() ([][]float64, error) { return dataOf[float64](op, vals) }, func(in [][]float64, out []float64) { convDo(op, in, out) })
	case tensor.Float32:
		return typedDo(shape, func() ([][]float32, error) { return dataOf[float32](op, vals) }, func(in [][]float32, out []float32) { convDo(op, in, out) })
	}
	return nil, fmt.Errorf("models: %v: dtype %v: %w", op, vals[0].Dtype(), ErrParam)
}

// dataOf returns the contiguous data of the inputs, checking their sizes.
func dataOf[F float32 | float64](op convOp, vals []gorgonia.Value) ([][]F, error) {
	g := op.convGeom
	x, w, b, out := g.n*g.c*g.h*g.w, g.o*g.z(), g.o, g.n*g.o*g.p()
	want := map[convKind][]int{convForward: {x, w, b}, convGradX: {w, out}, convGradW: {x, out}, convGradB: {out}}[op.kind]
	res := make([][]F, len(vals))
	for i, v := range vals {
		t, ok := v.(tensor.Tensor)
		if !ok {
			return nil, fmt.Errorf("models: %v: input %d is a %T: %w", op, i, v, ErrParam)
		}
		d, ok := t.Data().([]F)
		if !ok || len(d) != want[i] || t.Shape().TotalSize() != want[i] {
			return nil, fmt.Errorf("models: %v: input %d of shape %v and dtype %v, want %d values: %w", op, i, t.Shape(), t.Dtype(), want[i], ErrDim)
		}
		res[i] = d
	}
	return res, nil
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
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(chunks, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			col := make([]F, z*p)
			for {
				ch := int(next.Add(1)) - 1
				if ch >= chunks {
					return
				}
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
						gemm(blas.NoTrans, blas.NoTrans, g.o, p, z, w, z, col, p, 1, o, p)
					case convGradX:
						w, dout := in[0], in[1][i*os:(i+1)*os]
						gemm(blas.Trans, blas.NoTrans, z, p, g.o, w, z, dout, p, 0, col, p)
						col2im(g, col, out[i*xs:(i+1)*xs])
					case convGradW:
						x, dout := in[0][i*xs:(i+1)*xs], in[1][i*os:(i+1)*os]
						im2col(g, x, col)
						gemm(blas.NoTrans, blas.Trans, g.o, z, p, dout, p, col, p, 1, acc, z)
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, acc := range partial {
		for j, v := range acc {
			out[j] += v
		}
	}
}

// im2col fills col (z×P) from one c×h×w image x.
func im2col[F float32 | float64](g convGeom, x, col []F) {
	oh, ow, p := g.oh(), g.ow(), g.p()
	for c := 0; c < g.c; c++ {
		for a := 0; a < g.k; a++ {
			for b := 0; b < g.k; b++ {
				row := col[((c*g.k+a)*g.k+b)*p:][:p]
				// Output column s reads input column s+b−pad ∈ [0, w).
				lo, hi := max(0, g.pad-b), min(ow, g.w+g.pad-b)
				for r := 0; r < oh; r++ {
					seg := row[r*ow : (r+1)*ow]
					ir := r + a - g.pad
					if ir < 0 || ir >= g.h || lo >= hi {
						clear(seg)
						continue
					}
					clear(seg[:lo])
					copy(seg[lo:hi], x[(c*g.h+ir)*g.w+lo+b-g.pad:])
					clear(seg[hi:])
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

// gemm computes C = A·B + beta·C (with A and B optionally transposed) with
// the BLAS in use (OpenBLAS, set up by package graph).
func gemm[F float32 | float64](tA, tB blas.Transpose, m, n, k int, a []F, lda int, b []F, ldb int, beta F, c []F, ldc int) {
	switch a := any(a).(type) {
	case []float64:
		blas64.Implementation().Dgemm(tA, tB, m, n, k, 1, a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	case []float32:
		blas32.Implementation().Sgemm(tA, tB, m, n, k, 1, a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	}
}

// typedDo reads an op's inputs with read, fills a new output of the given
// shape with run and returns it as a dense tensor of the inputs' float type.
func typedDo[F float32 | float64](shape tensor.Shape, read func() ([][]F, error), run func(in [][]F, out []F)) (gorgonia.Value, error) {
	in, err := read()
	if err != nil {
		return nil, err
	}
	out := make([]F, shape.TotalSize())
	run(in, out)
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(out)), nil
}

package graph

import (
	"fmt"
	"math"
	"strings"
	"sync/atomic"

	"github.com/wowflow/wowflow/internal/par"
	"gonum.org/v1/gonum/blas"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A KernelBlock is a run of columns [Start, End) of a product Gaussian
// kernel with its bandwidth H > 0: the kernel's factor exp(−|u−v|²/2H) over
// those columns.
type KernelBlock struct {
	Start, End int
	H          float64
}

// GaussKernel is a product Gaussian kernel on the rows of a matrix,
//
//	k(u, v) = Π_blocks exp(−|u − v|²_block / 2H_block),
//
// whose blocks partition the columns.
type GaussKernel struct {
	Blocks []KernelBlock
	// Float32 computes the op's two matrix products (the Gram matrix and the
	// gradient's kernel product) in float32, at about twice the float64
	// rate, as the float32 default of JAX does in the authors' code; the
	// kernel values, sums and gradients are float64 otherwise. The scaled
	// squared distances then carry a relative error of about 1e-7 of the
	// rows' squared norms.
	Float32 bool
}

// Mean returns the scalar mean over all pairs of rows (i, j) of the kernel
// between the rows of a (n×d) and b (m×d), float64,
//
//	(1/nm) Σ_ij k(a_i, b_j).
//
// With b nil it is the mean over all n² pairs of rows of a (i = j
// included). It is one fused op: the scaled distances come from one Gram
// product, the kernel matrix is kept from the forward pass, and the
// gradient is one more product,
//
//	∂/∂a_i = (1/nm) Σ_j K_ij (b_j − a_i) / H   (per block; twice that for b nil).
//
// The gradients' backings are reused from one run of the graph to the
// next (read a gradient before the next run, as with gorgonia's
// preallocated values).
//
// It replaces the n×m intermediates of SqDist → Mul → Exp → Mean (a few
// times the kernel matrix, each allocated and differentiated by gorgonia)
// with one n×m buffer.
func (g GaussKernel) Mean(a, b *gorgonia.Node) (*gorgonia.Node, error) {
	if len(a.Shape()) != 2 || a.Dtype() != tensor.Float64 {
		return nil, fmt.Errorf("graph: GaussKernel.Mean of a %v %v, want a float64 n×d matrix: %w", a.Dtype(), a.Shape(), ErrShape)
	}
	n, d := a.Shape()[0], a.Shape()[1]
	m := n
	if b != nil {
		if len(b.Shape()) != 2 || b.Dtype() != tensor.Float64 || b.Shape()[1] != d {
			return nil, fmt.Errorf("graph: GaussKernel.Mean of %v and a %v %v, want float64 n×%d and m×%d: %w", a.Shape(), b.Dtype(), b.Shape(), d, d, ErrShape)
		}
		m = b.Shape()[0]
	}
	scale, err := blockScales(g.Blocks, d)
	if err != nil {
		return nil, err
	}
	var sb strings.Builder
	for _, bl := range g.Blocks {
		fmt.Fprintf(&sb, "[%d:%d]h=%v,", bl.Start, bl.End, bl.H)
	}
	op := gaussMeanOp{n: n, m: m, d: d, self: b == nil, f32: g.Float32, scale: scale, st: &gaussState{grads: [2]outBuffer{newOutBuffer(), newOutBuffer()}}}
	name := fmt.Sprintf("GaussKernelMean{%d×%d,%d×%d,self=%v,f32=%v,%sid=%d}", n, d, m, d, op.self, op.f32, sb.String(), gaussIDs.Add(1))
	if op.self {
		op.opBase = newOpBase(name, []int{2}, 0, tensor.ScalarShape(), []bool{true})
		return gorgonia.ApplyOp(op, a)
	}
	op.opBase = newOpBase(name, []int{2, 2}, 0, tensor.ScalarShape(), []bool{true, true})
	return gorgonia.ApplyOp(op, a, b)
}

var gaussIDs atomic.Int64

// blockScales checks that blocks partition [0, d) with positive finite
// bandwidths and returns the per-column factors 1/√H.
func blockScales(blocks []KernelBlock, d int) ([]float64, error) {
	scale := make([]float64, d)
	next := 0
	for i, bl := range blocks {
		if bl.Start != next || bl.End <= bl.Start || bl.End > d {
			return nil, fmt.Errorf("graph: kernel block %d [%d, %d) does not continue a partition of the %d columns at %d: %w", i, bl.Start, bl.End, d, next, ErrOption)
		}
		if !(bl.H > 0) || math.IsInf(bl.H, 0) {
			return nil, fmt.Errorf("graph: kernel block %d [%d, %d) has bandwidth %v, want > 0 and finite: %w", i, bl.Start, bl.End, bl.H, ErrOption)
		}
		for k := bl.Start; k < bl.End; k++ {
			scale[k] = 1 / math.Sqrt(bl.H)
		}
		next = bl.End
	}
	if next != d {
		return nil, fmt.Errorf("graph: kernel blocks cover columns [0, %d) of %d: %w", next, d, ErrOption)
	}
	return scale, nil
}

// gaussState is shared by a GaussKernelMean node and its gradients: the
// scaled inputs, the kernel matrix and its row and column sums of the last
// forward pass.
type gaussState struct {
	as, bs     []float64    // a and b with column k multiplied by scale[k] (bs = as for self)
	rows, cols []float64    // the kernel matrix's row and column sums (cols = rows for self)
	grads      [2]outBuffer // the gradients' backings (wrt a, b)
	b64        gaussBuf[float64]
	b32        gaussBuf[float32] // Float32
}

// gaussBuf holds the scaled inputs and the kernel matrix in the precision
// of the matrix products.
type gaussBuf[F float32 | float64] struct {
	as, bs []F
	k      []F    // n×m
	grad   [2][]F // the float32 gradients' kernel products (wrt a, b), reused
}

type gaussMeanOp struct {
	opBase
	n, m, d   int
	self, f32 bool
	scale     []float64
	st        *gaussState
}

func (op gaussMeanOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.ScalarShape(), nil
}

func (op gaussMeanOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	want := []int{op.n * op.d}
	if !op.self {
		want = append(want, op.m*op.d)
	}
	in, err := inputs[float64](op, vals, want...)
	if err != nil {
		return nil, err
	}
	st := op.st
	st.as = scaleCols(st.as, in[0], op.scale)
	st.bs = st.as
	if !op.self {
		st.bs = scaleCols(st.bs, in[1], op.scale)
	}
	na := rowNorms(st.as, op.n, op.d)
	nb := na
	if !op.self {
		nb = rowNorms(st.bs, op.m, op.d)
	}
	var v float64
	if op.f32 {
		v = gaussForward(&st.b32, st, na, nb, op)
	} else {
		v = gaussForward(&st.b64, st, na, nb, op)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, fmt.Errorf("graph: %v: the kernel mean is %v (non-finite input?): %w", op, v, ErrShape)
	}
	return gorgonia.NewF64(v), nil
}

// scaleCols returns dst (reallocated if its length is wrong) holding x with
// column k of each row multiplied by scale[k].
func scaleCols(dst, x, scale []float64) []float64 {
	if len(dst) != len(x) {
		dst = make([]float64, len(x))
	}
	d := len(scale)
	for i := 0; i < len(x); i += d {
		for k, s := range scale {
			dst[i+k] = x[i+k] * s
		}
	}
	return dst
}

// gaussRows is the number of kernel rows per piece of parallel work.
const gaussRows = 128

// gaussForward fills buf's kernel matrix (n×m) with exp(−½|a_i − b_j|²) of
// the scaled rows, the state's row and column sums, and returns the mean.
// The Gram matrix is one product per block of gaussRows rows; for self only
// the blocks on and above the diagonal are computed, and the rest mirrored.
// Every sum is taken per fixed block and then in order, so the result does
// not depend on the number of cores.
func gaussForward[F float32 | float64](buf *gaussBuf[F], st *gaussState, na, nb []float64, op gaussMeanOp) float64 {
	n, m, d := op.n, op.m, op.d
	buf.as = convert(buf.as, st.as)
	buf.bs = buf.as
	if !op.self {
		buf.bs = convert(buf.bs, st.bs)
	}
	if len(buf.k) != n*m {
		buf.k = make([]F, n*m)
	}
	a, b, k := buf.as, buf.bs, buf.k
	pieces := (n + gaussRows - 1) / gaussRows
	par.Run(pieces, par.Workers(pieces), func(p, _ int) {
		lo, hi := p*gaussRows, min(n, (p+1)*gaussRows)
		j0 := 0
		if op.self {
			j0 = lo // the diagonal block and those right of it
		}
		gemm(blas.NoTrans, blas.Trans, hi-lo, m-j0, d, 1, a[lo*d:], d, b[j0*d:], d, 0, k[lo*m+j0:], m)
		for i := lo; i < hi; i++ {
			row := k[i*m+j0 : (i+1)*m]
			for j, g := range row {
				row[j] = F(math.Exp(min(0, float64(g)-0.5*(na[i]+nb[j0+j]))))
			}
		}
	})
	if op.self {
		par.Run(pieces, par.Workers(pieces), func(p, _ int) {
			lo, hi := p*gaussRows, min(n, (p+1)*gaussRows)
			for j := hi; j < n; j++ { // row j left of the diagonal block, from column j of rows lo..hi
				dst := k[j*m+lo : j*m+hi]
				for i := range dst {
					dst[i] = k[(lo+i)*m+j]
				}
			}
		})
	}
	if len(st.rows) != n {
		st.rows = make([]float64, n)
	}
	par.Run(pieces, par.Workers(pieces), func(p, _ int) {
		for i := p * gaussRows; i < min(n, (p+1)*gaussRows); i++ {
			s := 0.0
			for _, e := range k[i*m : (i+1)*m] {
				s += float64(e)
			}
			st.rows[i] = s
		}
	})
	st.cols = st.rows
	if !op.self {
		st.cols = columnSums(k, n, m)
	}
	total := 0.0
	for _, s := range st.rows {
		total += s
	}
	return total / float64(n*m)
}

// convert returns dst (reallocated if its length is wrong) holding x in F.
func convert[F float32 | float64](dst []F, x []float64) []F {
	if len(dst) != len(x) {
		dst = make([]F, len(x))
	}
	for i, v := range x {
		dst[i] = F(v)
	}
	return dst
}

// columnSums returns the column sums of the n×m matrix k (in row order).
func columnSums[F float32 | float64](k []F, n, m int) []float64 {
	s := make([]float64, m)
	for i := 0; i < n; i++ {
		for j, v := range k[i*m : (i+1)*m] {
			s[j] += float64(v)
		}
	}
	return s
}

func (op gaussMeanOp) SymDiff(in gorgonia.Nodes, out, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	wrts := 1
	if !op.self {
		wrts = 2
	}
	res := make(gorgonia.Nodes, wrts)
	for w := 0; w < wrts; w++ {
		rows := op.n
		if w == 1 {
			rows = op.m
		}
		// The forward value is an input so that the gradient runs after the
		// forward pass whose kernel matrix it reads.
		g, err := gorgonia.ApplyOp(gaussMeanGradOp{newOpBase(fmt.Sprintf("%sGrad{wrt=%d}", op.name, w), []int{0, 0}, 2, tensor.Shape{rows, op.d}, nil), op, w}, out, grad)
		if err != nil {
			return nil, err
		}
		res[w] = g
	}
	return res, nil
}

// gaussMeanGradOp is the gradient of a GaussKernelMean with respect to
// input wrt, from the state of the last forward pass.
type gaussMeanGradOp struct {
	opBase
	f   gaussMeanOp
	wrt int
}

func (op gaussMeanGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vals) != 2 {
		return nil, fmt.Errorf("graph: %v: %d inputs: %w", op, len(vals), ErrShape)
	}
	up, err := scalarValue(vals[1])
	if err != nil {
		return nil, fmt.Errorf("graph: %v: upstream gradient: %w", op, err)
	}
	f, st := op.f, op.f.st
	if len(st.rows) != f.n || len(st.cols) != f.m {
		return nil, fmt.Errorf("graph: %v: no forward pass to differentiate: %w", op, ErrShape)
	}
	// For a: (K bs − diag(K 1) as) ⊙ scale · up/nm (×2 for self);
	// for b: (Kᵀ as − diag(Kᵀ 1) bs) ⊙ scale · up/nm.
	c := up / float64(f.n*f.m)
	if f.self {
		c *= 2
	}
	rows, own, sums := f.n, st.as, st.rows
	if op.wrt == 1 {
		rows, own, sums = f.m, st.bs, st.cols
	}
	out := st.grads[op.wrt].get(rows * f.d)
	if f.f32 {
		gaussGrad(&st.b32, op, float32(c), out)
	} else {
		gaussGrad(&st.b64, op, c, out)
	}
	for i := 0; i < rows; i++ {
		s := c * sums[i]
		o, x := out[i*f.d:(i+1)*f.d], own[i*f.d:(i+1)*f.d]
		for k, sc := range f.scale {
			o[k] = (o[k] - s*x[k]) * sc
		}
	}
	return tensor.New(tensor.WithShape(rows, f.d), tensor.WithBacking(out)), nil
}

// gaussGrad sets out (rows×d, float64) to c K bs (wrt a) or c Kᵀ as (wrt
// b), one product in the precision of buf, in blocks of gaussRows output
// rows.
func gaussGrad[F float32 | float64](buf *gaussBuf[F], op gaussMeanGradOp, c F, out []float64) {
	f := op.f
	rows, kr, other, tr := f.n, f.m, buf.bs, blas.NoTrans
	if op.wrt == 1 {
		rows, kr, other, tr = f.m, f.n, buf.as, blas.Trans
	}
	res, direct := any(out).([]F) // float64 products go straight into out
	if !direct {
		if len(buf.grad[op.wrt]) != rows*f.d {
			buf.grad[op.wrt] = make([]F, rows*f.d)
		}
		res = buf.grad[op.wrt]
	}
	pieces := (rows + gaussRows - 1) / gaussRows
	par.Run(pieces, par.Workers(pieces), func(p, _ int) {
		lo, hi := p*gaussRows, min(rows, (p+1)*gaussRows)
		kOff := lo * f.m // K's rows lo..hi, or (transposed) its columns lo..hi
		if tr == blas.Trans {
			kOff = lo
		}
		gemm(tr, blas.NoTrans, hi-lo, f.d, kr, c, buf.k[kOff:], f.m, other, f.d, 0, res[lo*f.d:], f.d)
		if !direct {
			for i := lo * f.d; i < hi*f.d; i++ {
				out[i] = float64(res[i])
			}
		}
	})
}

func (op gaussMeanGradOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, op.notDifferentiable()
}

package graph

import (
	"fmt"
	"math"
	"strings"
	"sync/atomic"

	"github.com/wowflow/wowflow/internal/par"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
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
	op := gaussMeanOp{n: n, m: m, d: d, self: b == nil, f32: g.Float32, scale: scale, st: &gaussState{}}
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
// scaled inputs and the kernel matrix of the last forward pass.
type gaussState struct {
	as, bs     []float64 // a and b with column k multiplied by scale[k] (bs = as for self)
	as32, bs32 []float32 // the same in float32 (Float32)
	k          []float64 // n×m kernel matrix
	k32        []float32 // the same in float32 (Float32)
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
	if op.self {
		st.bs = st.as
	} else {
		st.bs = scaleCols(st.bs, in[1], op.scale)
	}
	if len(st.k) != op.n*op.m {
		st.k = make([]float64, op.n*op.m)
	}
	if op.f32 {
		st.as32 = toF32(st.as32, st.as)
		st.bs32 = st.as32
		if !op.self {
			st.bs32 = toF32(st.bs32, st.bs)
		}
		if len(st.k32) != op.n*op.m {
			st.k32 = make([]float32, op.n*op.m)
		}
	}
	v := op.kernel()
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
const gaussRows = 64

// kernel fills the state's kernel matrix (n×m) with exp(−½|a_i − b_j|²)
// of the scaled rows by one Gram product and returns its mean. The sum is
// taken per fixed block of rows and then in order, so it does not depend on
// the number of cores.
func (op gaussMeanOp) kernel() float64 {
	st, n, m, d := op.st, op.n, op.m, op.d
	if op.f32 {
		blas32.Gemm(blas.NoTrans, blas.Trans, 1,
			blas32.General{Rows: n, Cols: d, Stride: d, Data: st.as32},
			blas32.General{Rows: m, Cols: d, Stride: d, Data: st.bs32}, 0,
			blas32.General{Rows: n, Cols: m, Stride: m, Data: st.k32})
	} else {
		blas64.Gemm(blas.NoTrans, blas.Trans, 1,
			blas64.General{Rows: n, Cols: d, Stride: d, Data: st.as},
			blas64.General{Rows: m, Cols: d, Stride: d, Data: st.bs}, 0,
			blas64.General{Rows: n, Cols: m, Stride: m, Data: st.k})
	}
	na, nb := rowNorms(st.as, n, d), []float64(nil)
	if op.self {
		nb = na
	} else {
		nb = rowNorms(st.bs, m, d)
	}
	pieces := (n + gaussRows - 1) / gaussRows
	sums := make([]float64, pieces)
	par.Run(pieces, par.Workers(pieces), func(p, _ int) {
		s := 0.0
		for i := p * gaussRows; i < min(n, (p+1)*gaussRows); i++ {
			row := st.k[i*m : (i+1)*m]
			if op.f32 {
				for j, g := range st.k32[i*m : (i+1)*m] {
					row[j] = float64(g)
				}
			}
			for j, g := range row {
				e := math.Exp(min(0, g-0.5*(na[i]+nb[j])))
				row[j] = e
				s += e
			}
			if op.f32 {
				for j, e := range row {
					st.k32[i*m+j] = float32(e)
				}
			}
		}
		sums[p] = s
	})
	total := 0.0
	for _, s := range sums {
		total += s
	}
	return total / float64(n*m)
}

// toF32 returns dst (reallocated if its length is wrong) holding x in float32.
func toF32(dst []float32, x []float64) []float32 {
	if len(dst) != len(x) {
		dst = make([]float32, len(x))
	}
	for i, v := range x {
		dst[i] = float32(v)
	}
	return dst
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
	var up []float64
	switch u := vals[1].(type) {
	case *gorgonia.F64:
		up = []float64{float64(*u)}
	default:
		var err error
		if up, err = asFloat64s(vals[1], 1); err != nil {
			return nil, fmt.Errorf("graph: %v: upstream gradient: %w", op, err)
		}
	}
	f, st := op.f, op.f.st
	if len(st.k) != f.n*f.m {
		return nil, fmt.Errorf("graph: %v: no forward pass to differentiate: %w", op, ErrShape)
	}
	// For a: (K bs − diag(K 1) as) ⊙ scale · up/nm (×2 for self);
	// for b: (Kᵀ as − diag(Kᵀ 1) bs) ⊙ scale · up/nm.
	rows, own, other, tr := f.n, st.as, st.bs, blas.NoTrans
	if op.wrt == 1 {
		rows, own, other, tr = f.m, st.bs, st.as, blas.Trans
	}
	c := up[0] / float64(f.n*f.m)
	if f.self {
		c *= 2
	}
	kr := f.m // the rows of the other input
	if op.wrt == 1 {
		kr = f.n
	}
	out := make([]float64, rows*f.d)
	if f.f32 {
		other32 := st.as32
		if op.wrt == 0 {
			other32 = st.bs32
		}
		out32 := make([]float32, rows*f.d)
		blas32.Gemm(tr, blas.NoTrans, float32(c),
			blas32.General{Rows: f.n, Cols: f.m, Stride: f.m, Data: st.k32},
			blas32.General{Rows: kr, Cols: f.d, Stride: f.d, Data: other32}, 0,
			blas32.General{Rows: rows, Cols: f.d, Stride: f.d, Data: out32})
		for i, v := range out32 {
			out[i] = float64(v)
		}
	} else {
		blas64.Gemm(tr, blas.NoTrans, c, blas64.General{Rows: f.n, Cols: f.m, Stride: f.m, Data: st.k},
			blas64.General{Rows: kr, Cols: f.d, Stride: f.d, Data: other}, 0,
			blas64.General{Rows: rows, Cols: f.d, Stride: f.d, Data: out})
	}
	sums := kernelSums(st.k, f.n, f.m, op.wrt == 1)
	for i := 0; i < rows; i++ {
		s := c * sums[i]
		o, x := out[i*f.d:(i+1)*f.d], own[i*f.d:(i+1)*f.d]
		for k, sc := range f.scale {
			o[k] = (o[k] - s*x[k]) * sc
		}
	}
	return tensor.New(tensor.WithShape(rows, f.d), tensor.WithBacking(out)), nil
}

// kernelSums returns the row sums of the n×m matrix k, or its column sums.
func kernelSums(k []float64, n, m int, cols bool) []float64 {
	if !cols {
		s := make([]float64, n)
		for i := range s {
			for _, v := range k[i*m : (i+1)*m] {
				s[i] += v
			}
		}
		return s
	}
	s := make([]float64, m)
	for i := 0; i < n; i++ {
		for j, v := range k[i*m : (i+1)*m] {
			s[j] += v
		}
	}
	return s
}

func (op gaussMeanGradOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, op.notDifferentiable()
}

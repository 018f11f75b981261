package models

import (
	"math"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/wowflow/wowflow/internal/par"
)

// The slice kernels of the engine (engine.go): im2col and its adjoint with
// a row stride, so that the columns of several images sit side by side in
// one matrix and one GEMM convolves them all; pooling, instance
// normalisation and their gradients on planes of pixels; the BLAS product.

// float is the element type of the engine's buffers.
type float interface{ float32 | float64 }

// convShape is the geometry of one stride-1 convolution with zero padding
// of c×h×w images by o filters of c×k×k, whose outputs are o×oh×ow.
//
// A wide convolution computes its output on the padded grid's width, ow
// columns plus k−1 unused ones per row: then row (c, a, b) of its patches
// is the padded image itself from offset c·H'·W' + a·W' + b on (H' = h +
// 2·pad, W' = w + 2·pad), and the convolution, its weight gradient and its
// input gradient are the correlation kernels of corr.go, which read the
// padded image instead of an im2col matrix. The cost is W'/ow times the
// columns. The engine makes convolutions of few filters wide (LeNet's),
// where the copies cost more than the extra columns; the others multiply
// the weights with im2col matrices.
type convShape struct {
	c, h, w, o, k, pad, oh, ow int
	wide                       bool
}

func (g convShape) z() int { return g.c * g.k * g.k }
func (g convShape) p() int { return g.oh * g.ow }

// rs is the row stride of an output plane in the convolution's output: ow,
// or the padded width for a wide convolution.
func (g convShape) rs() int {
	if g.wide {
		return g.w + 2*g.pad
	}
	return g.ow
}

// ps is the number of output columns of one image: p, or oh·rs rounded up
// to corrCols for a wide convolution (the columns past oh·rs are unused).
func (g convShape) ps() int {
	if g.wide {
		return roundUp(g.oh*g.rs(), corrCols)
	}
	return g.p()
}

// outRows is the number of rows of the convolution's output buffer: o, or
// corrPad(o) for a wide convolution (corr).
func (g convShape) outRows() int {
	if g.wide {
		return corrPad(g.o)
	}
	return g.o
}

// roundUp returns n rounded up to a multiple of m.
func roundUp(n, m int) int { return (n + m - 1) / m * m }

// padLen is the length of the padded copy of an image a wide convolution
// reads: c planes of H'×W' and the slack its unused columns read.
func (g convShape) padLen() int {
	return g.c*(g.h+2*g.pad)*(g.w+2*g.pad) + g.k + corrCols
}

// offsets returns the offset in the padded image of each row (c, a, b) of
// a wide convolution's patches.
func (g convShape) offsets() []int32 {
	wp, plane := g.w+2*g.pad, (g.h+2*g.pad)*(g.w+2*g.pad)
	offs := make([]int32, 0, g.z())
	for c := 0; c < g.c; c++ {
		for a := 0; a < g.k; a++ {
			for b := 0; b < g.k; b++ {
				offs = append(offs, int32(c*plane+a*wp+b))
			}
		}
	}
	return offs
}

// padImage writes the zero-padded copy of the c×h×w image x (padLen
// values) into dst.
func padImage[F float](g convShape, x, dst []F) {
	wp, hp := g.w+2*g.pad, g.h+2*g.pad
	dst = dst[:g.padLen()]
	if g.pad == 0 {
		n := copy(dst, x[:g.c*g.h*g.w])
		clear(dst[n:])
		return
	}
	clear(dst)
	for c := 0; c < g.c; c++ {
		for r := 0; r < g.h; r++ {
			copy(dst[c*hp*wp+(r+g.pad)*wp+g.pad:][:g.w], x[(c*g.h+r)*g.w:])
		}
	}
}

// The input gradient of a wide convolution is the correlation of its
// output gradient dt with the weights, channels swapped:
//
//	dP[c, Y, X] = Σ_{o,a,b} w[o, c, a, b] · dt[o, Y−a, X−b]
//
// on the padded grid (row stride W'), dt being 0 outside its oh×ow
// planes. Each plane of dt is copied behind gradPre zeros into a plane of
// gradLen values (padGrad); as dt's rows are W' apart with zeros in their
// k−1 unused columns, a read left of a row lands in those of the row
// above, and one below the plane in the zeros after it.

// gradPre is the number of zeros before each plane of padGrad's layout.
func (g convShape) gradPre() int { return (g.k-1)*(g.w+2*g.pad) + g.k - 1 }

// gradCols is the number of columns of the padded input gradient: H'·W'
// rounded up to corrCols.
func (g convShape) gradCols() int {
	return roundUp((g.h+2*g.pad)*(g.w+2*g.pad), corrCols)
}

// gradLen is the length of one plane of padGrad's layout.
func (g convShape) gradLen() int { return g.gradPre() + g.gradCols() }

// gradOffsets returns the offset of term (a, o, b) of the input
// gradient's correlation in padGrad's layout, and for each column block of
// corrCols columns of the padded input gradient, the range [lo, hi) of the
// terms that read inside dt's planes: those of the rows a with 0 ≤ Y − a <
// oh for a row Y of the block (the others read zeros). The terms are in
// the order (a, o, b) so that these ranges are contiguous.
func (g convShape) gradOffsets() (offs []int32, lo, hi []int) {
	wp, L, pre := g.w+2*g.pad, g.gradLen(), g.gradPre()
	offs = make([]int32, 0, g.o*g.k*g.k)
	for a := 0; a < g.k; a++ {
		for o := 0; o < g.o; o++ {
			for b := 0; b < g.k; b++ {
				offs = append(offs, int32(o*L+pre-a*wp-b))
			}
		}
	}
	blocks := g.gradCols() / corrCols
	lo, hi = make([]int, blocks), make([]int, blocks)
	for j := range lo {
		y0, y1 := j*corrCols/wp, (j*corrCols+corrCols-1)/wp
		a0, a1 := max(0, y0-(g.oh-1)), min(g.k-1, y1)
		if a0 <= a1 {
			lo[j], hi[j] = a0*g.o*g.k, (a1+1)*g.o*g.k
		}
	}
	return offs, lo, hi
}

// swapChannels sets wf[c, (a, o, b)] = w[o, (c, a, b)] (c·o·k·k values).
func swapChannels[F float](g convShape, w, wf []F) {
	for o := 0; o < g.o; o++ {
		for c := 0; c < g.c; c++ {
			for a := 0; a < g.k; a++ {
				copy(wf[((c*g.k+a)*g.o+o)*g.k:][:g.k], w[((o*g.c+c)*g.k+a)*g.k:])
			}
		}
	}
}

// padGrad writes the o planes of one image's output gradient (oh·rs
// values each, rows ld apart) into dst (o·gradLen values) in the layout
// of gradOffsets.
func padGrad[F float](g convShape, dt []F, ld int, dst []F) {
	L, pre, m := g.gradLen(), g.gradPre(), g.oh*g.rs()
	clear(dst[:g.o*L])
	for o := 0; o < g.o; o++ {
		copy(dst[o*L+pre:][:m], dt[o*ld:][:m])
	}
}

// unpadGrad sets the c×h×w image gradient dx from the input gradient dP
// on the padded grid (c rows, gradCols apart).
func unpadGrad[F float](g convShape, dP, dx []F) {
	wp, T := g.w+2*g.pad, g.gradCols()
	for c := 0; c < g.c; c++ {
		for r := 0; r < g.h; r++ {
			copy(dx[(c*g.h+r)*g.w:][:g.w], dP[c*T+(r+g.pad)*wp+g.pad:])
		}
	}
}

// im2col writes the z×p matrix of the patches of one c×h×w image x into
// col, whose rows are ld apart:
//
//	col[(c,a,b), (r,s)] = x[c, r+a−pad, s+b−pad]   (0 outside the image).
//
// Rows of images are short (28 values for MNIST): the middle of each
// segment is one copy, its few padding values are set in a loop.
func im2col[F float](g convShape, x, col []F, ld int) {
	p, hw := g.p(), g.h*g.w
	for c := 0; c < g.c; c++ {
		xc := x[c*hw : (c+1)*hw]
		for a := 0; a < g.k; a++ {
			for b := 0; b < g.k; b++ {
				row := col[((c*g.k+a)*g.k+b)*ld:][:p]
				// Output column s reads input column s+b−pad ∈ [0, w).
				lo, hi := max(0, g.pad-b), min(g.ow, g.w+g.pad-b)
				for r := 0; r < g.oh; r++ {
					seg := row[r*g.ow : (r+1)*g.ow]
					ir := r + a - g.pad
					if ir < 0 || ir >= g.h || lo >= hi {
						clear(seg)
						continue
					}
					for q := 0; q < lo; q++ {
						seg[q] = 0
					}
					copy(seg[lo:hi], xc[ir*g.w+lo+b-g.pad:])
					for q := hi; q < len(seg); q++ {
						seg[q] = 0
					}
				}
			}
		}
	}
}

// col2im adds the adjoint of im2col applied to col (rows ld apart) to the
// c×h×w image dx.
func col2im[F float](g convShape, col []F, ld int, dx []F) {
	for c := 0; c < g.c; c++ {
		for a := 0; a < g.k; a++ {
			for b := 0; b < g.k; b++ {
				row := col[((c*g.k+a)*g.k+b)*ld:][:g.p()]
				lo, hi := max(0, g.pad-b), min(g.ow, g.w+g.pad-b)
				if lo >= hi {
					continue
				}
				for r := 0; r < g.oh; r++ {
					ir := r + a - g.pad
					if ir < 0 || ir >= g.h {
						continue
					}
					seg := row[r*g.ow+lo : r*g.ow+hi]
					dst := dx[(c*g.h+ir)*g.w+lo+b-g.pad:][:len(seg)]
					for j, v := range seg {
						dst[j] += v
					}
				}
			}
		}
	}
}

// sum returns Σ x[i], in eight interleaved partial sums (no chain of
// dependent additions).
func sum[F float](x []F) F {
	var s [8]F
	i := 0
	for ; i+8 <= len(x); i += 8 {
		v := x[i : i+8 : i+8]
		s[0] += v[0]
		s[1] += v[1]
		s[2] += v[2]
		s[3] += v[3]
		s[4] += v[4]
		s[5] += v[5]
		s[6] += v[6]
		s[7] += v[7]
	}
	for ; i < len(x); i++ {
		s[i&7] += x[i]
	}
	return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]))
}

// addTo sets y[i] += x[i] for i < len(y) with gonum's vector kernels
// (SSE assembly on amd64; the same sums as a loop: one rounding each).
func addTo[F float](y, x []F) {
	switch y := any(y).(type) {
	case []float32:
		gonum.Implementation{}.Saxpy(len(y), 1, any(x).([]float32), 1, y, 1)
	case []float64:
		gonum.Implementation{}.Daxpy(len(y), 1, any(x).([]float64), 1, y, 1)
	}
}

// gemm computes C = op(A)·op(B) + beta·C with the BLAS in use (OpenBLAS,
// single-threaded, set up by package graph; gonum's with -tags purego).
func gemm[F float](tA, tB blas.Transpose, m, n, k int, a []F, lda int, b []F, ldb int, beta F, c []F, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	switch a := any(a).(type) {
	case []float64:
		blas64.Implementation().Dgemm(tA, tB, m, n, k, 1, a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	case []float32:
		blas32.Implementation().Sgemm(tA, tB, m, n, k, 1, a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	}
}

// gemmRows is gemm split into blocks of gemmBlock rows of C computed in
// parallel, for the products of the dense layers (one per batch, which
// would otherwise run on one core). The blocks are fixed, so the result
// does not depend on the number of cores. Small products run whole.
func gemmRows[F float](tA, tB blas.Transpose, m, n, k int, a []F, lda int, b []F, ldb int, beta F, c []F, ldc int) {
	blocks := (m + gemmBlock - 1) / gemmBlock
	if blocks < 2 || m*n*k < 1<<20 {
		gemm(tA, tB, m, n, k, a, lda, b, ldb, beta, c, ldc)
		return
	}
	parallel(blocks, func(int) {}, func(i, _ int) {
		lo, hi := i*gemmBlock, min(m, (i+1)*gemmBlock)
		aoff := lo * lda // A is m×k (NoTrans) or k×m (Trans): its rows or columns lo..hi
		if tA != blas.NoTrans {
			aoff = lo
		}
		gemm(tA, tB, hi-lo, n, k, a[aoff:], lda, b, ldb, beta, c[lo*ldc:], ldc)
	})
}

// gemmBlock is the number of rows of C of one block of gemmRows.
const gemmBlock = 32

// maxPool2 writes the 2×2 maxima (stride 2, a last odd row or column
// dropped) of the h×w planes of x into y and the offset in its plane of
// each window's first maximum in row-major order (a NaN wins) into idx,
// as graph.MaxPool2 chooses it.
func maxPool2[F float](x, y []F, idx []int32, planes, h, w int) {
	ph, pw, hw := h/2, w/2, h*w
	for m := 0; m < planes; m++ {
		plane := x[m*hw : (m+1)*hw]
		for i := 0; i < ph; i++ {
			r0, r1 := plane[2*i*w:][:w], plane[(2*i+1)*w:][:w]
			for j := 0; j < pw; j++ {
				best, v := 2*i*w+2*j, r0[2*j]
				if c := r0[2*j+1]; c > v || c != c {
					best, v = 2*i*w+2*j+1, c
				}
				if c := r1[2*j]; c > v || c != c {
					best, v = (2*i+1)*w+2*j, c
				}
				if c := r1[2*j+1]; c > v || c != c {
					best, v = (2*i+1)*w+2*j+1, c
				}
				o := (m*ph+i)*pw + j
				y[o], idx[o] = v, int32(best)
			}
		}
	}
}

// maxPool2Grad sets dx, the gradient of the h×w planes, to dy routed to the
// maxima idx of maxPool2 (zero elsewhere).
func maxPool2Grad[F float](dy, dx []F, idx []int32, planes, h, w int) {
	q, hw := (h/2)*(w/2), h*w
	clear(dx[:planes*hw])
	for m := 0; m < planes; m++ {
		d := dx[m*hw : (m+1)*hw]
		for o, g := range dy[m*q : (m+1)*q] {
			d[idx[m*q+o]] = g // windows do not overlap
		}
	}
}

// reluMaxPool is a convolution's output pass fused with the ReLU and 2×2
// max pooling above it: from the GEMM output tmp (o rows of n = nb·ps,
// image j in columns [j·ps, (j+1)·ps), its output rows rs apart) and the
// bias b, it writes
// the nb×o×⌊oh/2⌋×⌊ow/2⌋ maxima of max(tmp + b, 0) into y and the offsets
// of the maxima within their planes of tmp into idx: the values and maxima
// maxPool2 finds on the stored ReLU output where the maximum is positive
// (where the gradient flows). A window of no positive value gives 0 and
// its first position; a NaN with the sign bit set gives 0 (a NaN weight
// shows in the loss or in Train's final check of the weights).
//
// It runs without branches on the data: a non-negative float's bits order
// as unsigned integers, so the ReLU clears the bits of negative values and
// the maximum and its first position are integer operations.
func reluMaxPool[F float](tmp []F, n int, b, y []F, idx []int32, nb, o, oh, ow, rs, ps int) {
	switch t := any(tmp).(type) {
	case []float32:
		if useAVX2 {
			reluMaxPoolAVX2(t, n, any(b).([]float32), any(y).([]float32), idx, nb, o, oh, ow, rs, ps)
			return
		}
		reluMaxPoolBits[float32, uint32](t, n, any(b).([]float32), any(y).([]float32), idx, nb, o, oh, ow, rs, ps)
	case []float64:
		reluMaxPoolBits[float64, uint64](t, n, any(b).([]float64), any(y).([]float64), idx, nb, o, oh, ow, rs, ps)
	}
}

// reluMaxPoolAVX2 is reluMaxPoolBits with the planes pooled in assembly
// (reluMaxPoolPlane), but for a plane whose reads past its last window
// would leave tmp.
func reluMaxPoolAVX2(tmp []float32, n int, b, y []float32, idx []int32, nb, o, oh, ow, rs, ps int) {
	ph, pw := oh/2, ow/2
	reach := (2*ph-1)*rs + 16*((pw+7)/8)
	for j := 0; j < nb; j++ {
		for c := 0; c < o; c++ {
			at, out := c*n+j*ps, (j*o+c)*ph*pw
			if ph == 0 || pw == 0 {
				continue
			}
			if at+reach > len(tmp) {
				reluMaxPoolBits[float32, uint32](tmp[at:], n, b[c:c+1], y[out:], idx[out:], 1, 1, oh, ow, rs, ps)
				continue
			}
			reluMaxPoolPlane(&tmp[at], rs, ph, pw, b[c], &y[out], &idx[out])
		}
	}
}

// reluBits returns the bits of max(v, 0) (+0 for a negative v or a NaN
// with the sign bit set) as an unsigned integer U of F's size.
func reluBits[F float, U uint32 | uint64](v F) U {
	u := *(*U)(unsafe.Pointer(&v))
	sign := U(1) << (8*unsafe.Sizeof(u) - 1)
	if u&sign != 0 { // compiled to a conditional move
		u = 0
	}
	return u
}

func reluMaxPoolBits[F float, U uint32 | uint64](tmp []F, n int, b, y []F, idx []int32, nb, o, oh, ow, rs, ps int) {
	ph, pw := oh/2, ow/2
	for j := 0; j < nb; j++ {
		for c := 0; c < o; c++ {
			plane, bc := tmp[c*n+j*ps:][:ps], b[c]
			yo, io := y[(j*o+c)*ph*pw:][:ph*pw], idx[(j*o+c)*ph*pw:][:ph*pw]
			for i := 0; i < ph; i++ {
				r0, r1 := plane[2*i*rs:][:ow], plane[(2*i+1)*rs:][:ow]
				for q := 0; q < pw; q++ {
					u0 := reluBits[F, U](r0[2*q] + bc)
					u1 := reluBits[F, U](r0[2*q+1] + bc)
					u2 := reluBits[F, U](r1[2*q] + bc)
					u3 := reluBits[F, U](r1[2*q+1] + bc)
					m := max(u0, u1, u2, u3)
					k := 3
					if u2 == m {
						k = 2
					}
					if u1 == m {
						k = 1
					}
					if u0 == m {
						k = 0
					}
					yo[i*pw+q] = *(*F)(unsafe.Pointer(&m))
					io[i*pw+q] = int32((2*i+k>>1)*rs + 2*q + k&1)
				}
			}
		}
	}
}

// reluMaxPoolGrad sets dt (o rows of n = nb·p, laid out as reluMaxPool's
// tmp) to the gradient with respect to the convolution's output from the
// gradient dy of the pooled output y (q values per plane) and the maxima
// idx: dy routed to each window's maximum where that maximum is positive
// (the ReLU's mask; its gradient at an exact 0 is taken as 0). It sets db
// to the sums of dt's rows (the bias gradient), which are the sums of the
// routed values.
func reluMaxPoolGrad[F float](dy, y []F, idx []int32, dt, db []F, n, nb, o, p, q int) {
	clear(dt[:o*n])
	clear(db[:o])
	for j := 0; j < nb; j++ {
		for c := 0; c < o; c++ {
			k := (j*o + c) * q
			d := dt[c*n+j*p:][:p]
			s := F(0)
			for m, g := range dy[k : k+q] {
				if y[k+m] > 0 {
					d[idx[k+m]] = g
					s += g
				}
			}
			db[c] += s
		}
	}
}

// avgPool2 writes the 2×2 means (stride 2, a last odd row or column
// dropped) of the h×w planes of x into y; with relu set, of max(x, 0).
func avgPool2[F float](x, y []F, planes, h, w int, relu bool) {
	ph, pw, hw := h/2, w/2, h*w
	for m := 0; m < planes; m++ {
		p, o := x[m*hw:(m+1)*hw], y[m*ph*pw:(m+1)*ph*pw]
		for i := 0; i < ph; i++ {
			r0, r1 := p[2*i*w:][:w], p[(2*i+1)*w:][:w]
			row := o[i*pw : (i+1)*pw]
			if relu {
				for j := range row {
					row[j] = (rect(r0[2*j]) + rect(r0[2*j+1]) + rect(r1[2*j]) + rect(r1[2*j+1])) / 4
				}
				continue
			}
			for j := range row {
				row[j] = (r0[2*j] + r0[2*j+1] + r1[2*j] + r1[2*j+1]) / 4
			}
		}
	}
}

// avgPool2Grad sets dx to the gradient of avgPool2 for the output gradient
// dy: dx[2i+a, 2j+b] = dy[i, j]/4, zero on a dropped row or column; with
// relu set, also zero where x < 0 (x is the input of avgPool2).
func avgPool2Grad[F float](dy, dx, x []F, planes, h, w int, relu bool) {
	ph, pw, hw := h/2, w/2, h*w
	if h%2 != 0 || w%2 != 0 {
		clear(dx[:planes*hw])
	}
	for m := 0; m < planes; m++ {
		d := dx[m*hw : (m+1)*hw]
		for i := 0; i < ph; i++ {
			r0, r1 := d[2*i*w:][:w], d[(2*i+1)*w:][:w]
			for j, g := range dy[(m*ph+i)*pw : (m*ph+i+1)*pw] {
				g /= 4
				r0[2*j], r0[2*j+1], r1[2*j], r1[2*j+1] = g, g, g, g
			}
		}
		if relu {
			for k, v := range x[m*hw : (m+1)*hw] {
				if !(v >= 0) {
					d[k] = 0
				}
			}
		}
	}
}

// rect is ReLU as gorgonia.Rectify computes it, x·[x ≥ 0]: a NaN stays
// NaN, −∞ becomes NaN.
func rect[F float](x F) F {
	if x >= 0 {
		return x
	}
	return x * 0
}

// instNorm standardises each of the planes of m values of x into y (which
// may be x) as graph.InstanceNorm does, means and variances in float64,
// and stores each plane's 1/√(σ² + ε) in r.
func instNorm[F float](x, y []F, r []float64, planes, m int) {
	inv := 1 / float64(m)
	for p := 0; p < planes; p++ {
		xp, yp := x[p*m:(p+1)*m], y[p*m:(p+1)*m]
		mu := 0.0
		for _, v := range xp {
			mu += float64(v)
		}
		mu *= inv
		v2 := 0.0
		for _, v := range xp {
			d := float64(v) - mu
			v2 += d * d
		}
		rs := 1 / math.Sqrt(v2*inv+instNormEps)
		r[p] = rs
		for k, v := range xp {
			yp[k] = F((float64(v) - mu) * rs)
		}
	}
}

// instNormEps is graph.InstanceNorm's ε (PyTorch's default).
const instNormEps = 1e-5

// instNormGrad sets dx (which may be dy) to the gradient of instNorm from
// its output y, its r and the output gradient dy:
//
//	∂x = r (∂y − mean(∂y) − y ⊙ mean(∂y ⊙ y)).
func instNormGrad[F float](dy, dx, y []F, r []float64, planes, m int) {
	inv := 1 / float64(m)
	for p := 0; p < planes; p++ {
		g, yp, d := dy[p*m:(p+1)*m], y[p*m:(p+1)*m], dx[p*m:(p+1)*m]
		sg, sgy := 0.0, 0.0
		for k, v := range g {
			sg += float64(v)
			sgy += float64(v) * float64(yp[k])
		}
		sg *= inv
		sgy *= inv
		rs := r[p]
		for k, v := range g {
			d[k] = F(rs * (float64(v) - sg - float64(yp[k])*sgy))
		}
	}
}

// argmax returns the index of the largest value of row (the first on ties;
// a NaN counts as smaller than any number).
func argmax[F float32 | float64](row []F) int {
	best := 0
	for j, v := range row {
		if v > row[best] || (v == v && row[best] != row[best]) {
			best = j
		}
	}
	return best
}

// parallel calls work(i, w) for i in [0, n) on up to GOMAXPROCS
// goroutines, w in [0, workers) naming the goroutine (for its scratch
// space); it returns the number of goroutines before starting them through
// start(workers), so that the caller can size per-worker state. Calls must
// be independent.
func parallel(n int, start func(workers int), work func(i, w int)) {
	workers := par.Workers(n)
	start(workers)
	par.Run(n, workers, work)
}

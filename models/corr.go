package models

import "gonum.org/v1/gonum/blas/gonum"

// The correlation kernels of wide convolutions (convShape): with the
// output laid out on the padded grid's width, row (c, a, b) of an image's
// patches is the padded image itself from offset c·H'·W' + a·W' + b on, so
// a convolution is a product with a matrix that is never written down:
//
//	out[i, t] = Σ_k w[i, k] · in[offs[k] + t]
//
// and its weight gradient a sum of the same shifted reads. The input
// gradient is again a correlation, of the zero-padded output gradient
// with the weights' channels swapped (engine.go). With AVX2 and FMA the
// float32 kernels are assembly (corr_amd64.s), register blocks of
// corrRows rows by 16 columns; elsewhere, in float64 and with -tags
// purego they are the Go loops below. Both sum in a fixed order, so
// results do not depend on the number of cores.

// corrRows is the number of rows of a register block of the kernels: the
// weights w and the output of corr, and the output gradient dt of
// corrGrad, hold corrPad(m) rows (the ones past m are scratch).
const corrRows = 6

// corrCols is the column block of corr: T is a multiple of it.
const corrCols = 16

// corrPad returns m rounded up to a multiple of corrRows.
func corrPad(m int) int { return (m + corrRows - 1) / corrRows * corrRows }

// corr sets out[i·ldo + t] = Σ_k w[i·K + k] · in[offs[k] + t] for i < m,
// t < T (a multiple of corrCols), K = len(offs). w and out hold corrPad(m)
// rows; in holds max(offs) + T values.
func corr[F float](m, T int, w []F, in []F, offs []int32, out []F, ldo int) {
	K := len(offs)
	if T%corrCols != 0 || len(w) < corrPad(m)*K || len(out) < (corrPad(m)-1)*ldo+T {
		panic("models: corr: bad shape")
	}
	if w, ok := any(w).([]float32); ok && useAVX2 {
		in, out := any(in).([]float32), any(out).([]float32)
		if len(in) < maxOffset(offs)+T {
			panic("models: corr: input too short")
		}
		for r := 0; r < m; r += corrRows {
			corr6x16(&w[r*K], K, K, &offs[0], &in[0], &out[r*ldo], ldo, T/corrCols)
		}
		return
	}
	for i := 0; i < m; i++ {
		o := out[i*ldo:][:T]
		clear(o)
		for k, off := range offs {
			axpy(w[i*K+k], in[off:][:T], o)
		}
	}
}

// corrBanded is corr where the sum of column block j (the corrCols
// columns from j·corrCols on) runs over k ∈ [lo[j], hi[j]) only, the terms
// outside being zero; a block with no terms is set to 0.
func corrBanded[F float](m, T int, w []F, in []F, offs []int32, lo, hi []int, out []F, ldo int) {
	K := len(offs)
	if T%corrCols != 0 || len(lo) != T/corrCols || len(hi) != len(lo) || len(w) < corrPad(m)*K || len(out) < (corrPad(m)-1)*ldo+T {
		panic("models: corrBanded: bad shape")
	}
	if w, ok := any(w).([]float32); ok && useAVX2 {
		in, out := any(in).([]float32), any(out).([]float32)
		if len(in) < maxOffset(offs)+T {
			panic("models: corrBanded: input too short")
		}
		for j := range lo {
			k0, k1, t := lo[j], hi[j], j*corrCols
			for r := 0; r < m; r += corrRows {
				if k1 <= k0 {
					for i := r; i < r+corrRows; i++ {
						clear(out[i*ldo+t:][:corrCols])
					}
					continue
				}
				corr6x16(&w[r*K+k0], K, k1-k0, &offs[k0], &in[t], &out[r*ldo+t], ldo, 1)
			}
		}
		return
	}
	for j := range lo {
		t := j * corrCols
		for i := 0; i < m; i++ {
			o := out[i*ldo+t:][:corrCols]
			clear(o)
			for k := lo[j]; k < hi[j]; k++ {
				axpy(w[i*K+k], in[int(offs[k])+t:][:corrCols], o)
			}
		}
	}
}

// corrGrad sets dw[i·K + k] = Σ_j Σ_{t<T} dt[j·dts + i·ldt + t] ·
// in[j·ins + offs[k] + t] for i < m, k < K = len(offs), over the images
// j < nimg (T a multiple of 8). dt holds corrPad(m) rows per image; in
// holds max(offs) + T values from each image's start.
func corrGrad[F float](m, T, nimg int, dt []F, ldt, dts int, in []F, ins int, offs []int32, dw []F) {
	K := len(offs)
	if T%8 != 0 || len(dw) < m*K {
		panic("models: corrGrad: bad shape")
	}
	if dt, ok := any(dt).([]float32); ok && useAVX2 {
		in, dw := any(in).([]float32), any(dw).([]float32)
		if len(dt) < (nimg-1)*dts+(corrPad(m)-1)*ldt+T || len(in) < (nimg-1)*ins+maxOffset(offs)+T {
			panic("models: corrGrad: bad shape")
		}
		var s [2 * corrRows]float32
		for r := 0; r < m; r += corrRows {
			for k := 0; k < K; k += 2 {
				k1 := min(k+1, K-1)
				corrGrad6x2(&dt[r*ldt], ldt, dts, &in[0], ins, int(offs[k]), int(offs[k1]), nimg, T/8, &s)
				for i := r; i < min(m, r+corrRows); i++ {
					dw[i*K+k] = s[2*(i-r)]
					if k+1 < K {
						dw[i*K+k+1] = s[2*(i-r)+1]
					}
				}
			}
		}
		return
	}
	clear(dw[:m*K])
	for j := 0; j < nimg; j++ {
		for i := 0; i < m; i++ {
			d := dt[j*dts+i*ldt:][:T]
			for k, off := range offs {
				dw[i*K+k] += dot(d, in[j*ins+int(off):][:T])
			}
		}
	}
}

// maxOffset returns the largest of offs.
func maxOffset(offs []int32) int {
	m := int32(0)
	for _, o := range offs {
		m = max(m, o)
	}
	return int(m)
}

// axpy sets y += a·x with gonum's vector kernels.
func axpy[F float](a F, x, y []F) {
	switch y := any(y).(type) {
	case []float32:
		gonum.Implementation{}.Saxpy(len(y), float32(a), any(x).([]float32), 1, y, 1)
	case []float64:
		gonum.Implementation{}.Daxpy(len(y), float64(a), any(x).([]float64), 1, y, 1)
	}
}

// dot returns Σ x[i]·y[i] with gonum's vector kernels.
func dot[F float](x, y []F) F {
	switch x := any(x).(type) {
	case []float32:
		return F(gonum.Implementation{}.Sdot(len(x), x, 1, any(y).([]float32), 1))
	case []float64:
		return F(gonum.Implementation{}.Ddot(len(x), x, 1, any(y).([]float64), 1))
	}
	return 0
}

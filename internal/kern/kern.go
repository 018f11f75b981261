// Package kern holds the small vector kernels of package graph's
// forward-only ConvNet (graph.ConvBlocks): strided copies of rows (the
// padding and the im2col matrix of a convolution), the input and output
// transforms of Winograd's F(2×2, 3×3) convolution, the moments of a plane
// (instance normalisation) and ReLU + 2×2 average pooling. Each is a
// generic Go loop; for float32 on amd64 with AVX2 and FMA (not with -tags
// purego) it runs in assembly. CopyRows, WinoInput, WinoOutput and
// ReluPool give the same values on both paths, bit for bit; Moments sums
// in another order in assembly, so the two agree to float64 round-off.
//
// The functions check their slices' lengths and panic on a shape that
// would read or write outside them: their callers own the shapes.
package kern

import "fmt"

// Float is the element type of the kernels.
type Float interface{ ~float32 | ~float64 }

// CopyRows copies planes × rows runs of n values: run (p, r) from
// src[p·splane + r·lds:] to dst[p·dplane + r·ldd:]. Strides are ≥ 0.
func CopyRows[F Float](dst []F, ldd, dplane int, src []F, lds, splane int, n, rows, planes int) {
	if n <= 0 || rows <= 0 || planes <= 0 {
		return
	}
	if ldd < 0 || dplane < 0 || lds < 0 || splane < 0 ||
		(planes-1)*dplane+(rows-1)*ldd+n > len(dst) || (planes-1)*splane+(rows-1)*lds+n > len(src) {
		panic(fmt.Sprintf("kern: CopyRows of %d×%d runs of %d (strides %d, %d → %d, %d) between %d and %d values", planes, rows, n, splane, lds, dplane, ldd, len(src), len(dst)))
	}
	if d, ok := any(dst).([]float32); ok && AVX2 && n >= 4 {
		copyRows32(&d[0], ldd, dplane, &any(src).([]float32)[0], lds, splane, n, rows, planes)
		return
	}
	for p := 0; p < planes; p++ {
		for r := 0; r < rows; r++ {
			copy(dst[p*dplane+r*ldd:][:n], src[p*splane+r*lds:][:n])
		}
	}
}

// Moments returns Σ (v − v₀) and Σ (v − v₀)² over the values v of plane,
// v₀ its first, in float64 (about the first value, so that a large mean
// does not cancel the variance). The Go loop keeps four accumulators of
// each; the assembly sixteen.
func Moments[F Float](plane []F) (s1, s2 float64) {
	if len(plane) == 0 {
		return 0, 0
	}
	k := float64(plane[0])
	if p, ok := any(plane).([]float32); ok && AVX2 && len(p) >= 16 {
		n := len(p) &^ 15
		var s [2]float64
		planeMoments32(&p[0], n, k, &s)
		t1, t2 := moments(plane[n:], k)
		return s[0] + t1, s[1] + t2
	}
	return moments(plane, k)
}

func moments[F Float](plane []F, k float64) (s1, s2 float64) {
	var a0, a1, a2, a3, b0, b1, b2, b3 float64
	for len(plane) >= 4 {
		p := plane[:4:4]
		d0, d1, d2, d3 := float64(p[0])-k, float64(p[1])-k, float64(p[2])-k, float64(p[3])-k
		a0, a1, a2, a3 = a0+d0, a1+d1, a2+d2, a3+d3
		b0, b1, b2, b3 = b0+d0*d0, b1+d1*d1, b2+d2*d2, b3+d3*d3
		plane = plane[4:]
	}
	for _, v := range plane {
		d := float64(v) - k
		a0, b0 = a0+d, b0+d*d
	}
	return (a0 + a1) + (a2 + a3), (b0 + b1) + (b2 + b3)
}

// ReluPool sets y[i·pw + t] = ((max(a − μ, 0) + max(b − μ, 0)) +
// (max(c − μ, 0) + max(d − μ, 0))) · q for the 2×2 window a b / c d at rows
// 2i, 2i+1 and columns 2t, 2t+1 of plane (rows w apart), i < ph, t < pw:
// ReLU(x − μ) pooled, for instance normalisation followed by ReLU and
// average pooling (q = r/4 for the plane's 1/σ = r).
func ReluPool[F Float](plane []F, w, ph, pw int, mu, q F, y []F) {
	if ph <= 0 || pw <= 0 {
		return
	}
	if 2*pw > w || (2*ph-1)*w+2*pw > len(plane) || ph*pw > len(y) {
		panic(fmt.Sprintf("kern: ReluPool of %d×%d windows on rows of %d from %d values into %d", ph, pw, w, len(plane), len(y)))
	}
	if p, ok := any(plane).([]float32); ok && AVX2 && pw >= 4 {
		reluPool32(&p[0], w, ph, pw, float32(mu), float32(q), &any(y).([]float32)[0])
		return
	}
	for i := 0; i < ph; i++ {
		r0, r1 := plane[2*i*w:][:2*pw], plane[(2*i+1)*w:][:2*pw]
		yr := y[i*pw:][:pw]
		for t := range yr {
			a := max(r0[2*t]-mu, 0) + max(r0[2*t+1]-mu, 0)
			b := max(r1[2*t]-mu, 0) + max(r1[2*t+1]-mu, 0)
			yr[t] = (a + b) * q
		}
	}
}

// WinoInput is the input transform of Winograd's F(2×2, 3×3) for one row
// of tw tiles: rows holds four rows of an image plane, W apart (at least
// 2·tw + 2 values each), and tile t is its 4×4 block d from column 2t; dst
// receives V = Bᵀ d B, position ξ = 4r + s of tile t at dst[ξ·S + t],
//
//	Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1].
func WinoInput[F Float](rows []F, W, tw int, dst []F, S int) {
	if tw <= 0 {
		return
	}
	if 2*tw+2 > W || 3*W+2*tw+2 > len(rows) || S < tw || 15*S+tw > len(dst) {
		panic(fmt.Sprintf("kern: WinoInput of %d tiles from rows of %d (%d values) into planes %d apart (%d values)", tw, W, len(rows), S, len(dst)))
	}
	if r, ok := any(rows).([]float32); ok && AVX2 && tw >= 4 {
		winoIn32(&r[0], W, tw, &any(dst).([]float32)[0], S)
		return
	}
	r0, r1, r2, r3 := rows[:W], rows[W:2*W], rows[2*W:3*W], rows[3*W:]
	for t := 0; t < tw; t++ {
		x := 2 * t
		// Bᵀ d: the rows d0 − d2, d1 + d2, d2 − d1, d1 − d3.
		var m [4][4]F
		for s := 0; s < 4; s++ {
			d0, d1, d2, d3 := r0[x+s], r1[x+s], r2[x+s], r3[x+s]
			m[0][s], m[1][s], m[2][s], m[3][s] = d0-d2, d1+d2, d2-d1, d1-d3
		}
		// (Bᵀ d) B: the same on each row.
		for r := 0; r < 4; r++ {
			e0, e1, e2, e3 := m[r][0], m[r][1], m[r][2], m[r][3]
			dst[(4*r+0)*S+t] = e0 - e2
			dst[(4*r+1)*S+t] = e1 + e2
			dst[(4*r+2)*S+t] = e2 - e1
			dst[(4*r+3)*S+t] = e1 - e3
		}
	}
}

// WinoOutput is the output transform of Winograd's F(2×2, 3×3) for one row
// of tw tiles: M, position ξ of tile t at src[ξ·S + t], gives the 2×2 tile
// Y = Aᵀ M A at columns 2t, 2t + 1 of the two rows y[0:] and y[ldy:],
//
//	Aᵀ = [1 1 1 0; 0 1 −1 −1],
//
// sums taken left to right.
func WinoOutput[F Float](src []F, S, tw int, y []F, ldy int) {
	if tw <= 0 {
		return
	}
	if S < tw || 15*S+tw > len(src) || ldy < 2*tw || ldy+2*tw > len(y) {
		panic(fmt.Sprintf("kern: WinoOutput of %d tiles from planes %d apart (%d values) into rows %d apart (%d values)", tw, S, len(src), ldy, len(y)))
	}
	if s, ok := any(src).([]float32); ok && AVX2 && tw >= 4 {
		winoOut32(&s[0], S, tw, &any(y).([]float32)[0], ldy)
		return
	}
	for t := 0; t < tw; t++ {
		// Aᵀ M: the rows M0 + M1 + M2 and M1 − M2 − M3.
		var a [2][4]F
		for s := 0; s < 4; s++ {
			m0, m1, m2, m3 := src[s*S+t], src[(4+s)*S+t], src[(8+s)*S+t], src[(12+s)*S+t]
			a[0][s], a[1][s] = m0+m1+m2, m1-m2-m3
		}
		for r := 0; r < 2; r++ {
			e0, e1, e2, e3 := a[r][0], a[r][1], a[r][2], a[r][3]
			y[r*ldy+2*t] = e0 + e1 + e2
			y[r*ldy+2*t+1] = e1 - e2 - e3
		}
	}
}

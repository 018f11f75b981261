package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// corrCase is one shape of the correlation kernels.
type corrCase struct{ m, K, T, nimg int }

var corrCases = []corrCase{{1, 1, 16, 1}, {6, 25, 896, 4}, {4, 7, 32, 2}, {7, 25, 48, 3}, {16, 150, 144, 4}, {6, 400, 208, 1}, {12, 2, 8 * 2, 1}}

// corrInputs returns random weights (corrPad(m) rows), offsets and an
// input of nimg images of ins values each, in float32 and float64.
func corrInputs(r *rand.Rand, c corrCase) (w32 []float32, w64 []float64, offs []int32, in32 []float32, in64 []float64, ins int) {
	offs = make([]int32, c.K)
	for k := range offs {
		offs[k] = int32(r.IntN(50))
	}
	ins = maxOffset(offs) + c.T + r.IntN(3)
	w64, in64 = randFloats(r, corrPad(c.m)*c.K), randFloats(r, c.nimg*ins)
	return toF32(w64), w64, offs, toF32(in64), in64, ins
}

func randFloats(r *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	return x
}

func toF32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

// TestCorrKernels compares the float32 kernels (assembly where the CPU
// has it) and the float64 Go loops with the sums written out, on random
// shapes: rows not a multiple of the register block, odd K, several images.
func TestCorrKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, asm := range []bool{false, true} {
		if asm && !useAVX2 {
			t.Log("no AVX2+FMA assembly on this machine or build: only the Go loops are tested")
			continue
		}
		for _, c := range corrCases {
			t.Run(fmt.Sprintf("asm=%v/%+v", asm, c), func(t *testing.T) {
				defer func(u bool) { useAVX2 = u }(useAVX2)
				useAVX2 = asm
				w32, w64, offs, in32, in64, ins := corrInputs(r, c)
				// corr, image 0, out rows ldo apart.
				ldo := c.T + 5
				out32, out64 := make([]float32, corrPad(c.m)*ldo), make([]float64, corrPad(c.m)*ldo)
				corr(c.m, c.T, w32, in32[:ins], offs, out32, ldo)
				corr(c.m, c.T, w64, in64[:ins], offs, out64, ldo)
				for i := 0; i < c.m; i++ {
					for tt := 0; tt < c.T; tt++ {
						want := 0.0
						for k, off := range offs {
							want += w64[i*c.K+k] * in64[int(off)+tt]
						}
						check(t, "corr64", i, tt, out64[i*ldo+tt], want, 1e-12, c.K)
						check(t, "corr32", i, tt, float64(out32[i*ldo+tt]), want, 1e-5, c.K)
					}
				}
				// corrGrad over nimg images, dt rows ldt apart.
				ldt, dts := c.T+3, corrPad(c.m)*(c.T+3)+2
				dt64 := randFloats(r, c.nimg*dts)
				dt32 := toF32(dt64)
				dw32, dw64 := make([]float32, c.m*c.K), make([]float64, c.m*c.K)
				corrGrad(c.m, c.T, c.nimg, dt32, ldt, dts, in32, ins, offs, dw32)
				corrGrad(c.m, c.T, c.nimg, dt64, ldt, dts, in64, ins, offs, dw64)
				for i := 0; i < c.m; i++ {
					for k, off := range offs {
						want := 0.0
						for j := 0; j < c.nimg; j++ {
							for tt := 0; tt < c.T; tt++ {
								want += dt64[j*dts+i*ldt+tt] * in64[j*ins+int(off)+tt]
							}
						}
						n := c.T * c.nimg
						check(t, "corrGrad64", i, k, dw64[i*c.K+k], want, 1e-12, n)
						check(t, "corrGrad32", i, k, float64(dw32[i*c.K+k]), want, 1e-5, n)
					}
				}
			})
		}
	}
}

// check fails t where got is not within tol·√n of want (a sum of n unit
// normal products: its round-off grows like √n).
func check(t *testing.T, what string, i, j int, got, want, tol float64, n int) {
	t.Helper()
	if !(math.Abs(got-want) <= tol*math.Sqrt(float64(n))*math.Max(1, math.Abs(want))) {
		t.Fatalf("%s[%d, %d] = %v, want %v", what, i, j, got, want)
	}
}

// The assembly ReLU + max pooling gives the same maxima (bit for bit) and
// the same first positions as the Go loop, on planes of every width up to
// two blocks and a tail, with ties, zeros, negatives and NaNs of both signs.
func TestReluMaxPoolAVX2(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2 assembly on this machine or build")
	}
	r := rand.New(rand.NewPCG(3, 4))
	special := []float32{0, float32(math.Copysign(0, -1)), 1, -1, float32(math.NaN()), -float32(math.NaN()), float32(math.Inf(1))}
	for _, c := range []struct{ oh, ow, rs int }{{2, 2, 2}, {28, 28, 32}, {10, 10, 14}, {4, 30, 33}, {6, 16, 16}, {3, 17, 21}, {2, 2, 6}} {
		t.Run(fmt.Sprintf("%dx%d/rs=%d", c.oh, c.ow, c.rs), func(t *testing.T) {
			const nb, o = 2, 3
			ps := roundUp(c.oh*c.rs, corrCols)
			n := nb * ps
			tmp := make([]float32, o*n)
			for i := range tmp {
				switch r.IntN(4) {
				case 0:
					tmp[i] = special[r.IntN(len(special))]
				case 1:
					tmp[i] = float32(r.IntN(3)) // ties
				default:
					tmp[i] = float32(r.NormFloat64())
				}
			}
			b := []float32{0, 0.5, -0.25}
			q := (c.oh / 2) * (c.ow / 2)
			y0, y1 := make([]float32, nb*o*q), make([]float32, nb*o*q)
			i0, i1 := make([]int32, nb*o*q), make([]int32, nb*o*q)
			reluMaxPoolBits[float32, uint32](tmp, n, b, y0, i0, nb, o, c.oh, c.ow, c.rs, ps)
			reluMaxPoolAVX2(tmp, n, b, y1, i1, nb, o, c.oh, c.ow, c.rs, ps)
			for k := range y0 {
				if math.Float32bits(y0[k]) != math.Float32bits(y1[k]) || i0[k] != i1[k] {
					t.Fatalf("window %d: assembly %v at %d, Go %v at %d", k, y1[k], i1[k], y0[k], i0[k])
				}
			}
		})
	}
}

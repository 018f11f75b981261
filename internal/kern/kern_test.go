package kern

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// paths runs f with the assembly (where the machine has it) and the Go loops.
func paths(t *testing.T, f func(t *testing.T)) {
	for _, asm := range []bool{true, false} {
		t.Run(map[bool]string{true: "asm", false: "go"}[asm], func(t *testing.T) {
			if asm && !AVX2 {
				t.Skip("no AVX2+FMA on this machine or build")
			}
			defer func(u bool) { AVX2 = u }(AVX2)
			AVX2 = asm
			f(t)
		})
	}
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// CopyRows writes every value of every run, from the right place, and
// nothing else (the sentinel −7 stays outside the runs).
func TestCopyRows(t *testing.T) {
	paths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, c := range []struct{ n, rows, planes, ldd, dplane, lds, splane int }{
			{4, 1, 1, 4, 4, 4, 4}, {5, 3, 2, 7, 30, 6, 20}, {7, 7, 3, 7, 49, 9, 81}, {8, 2, 1, 8, 16, 8, 16},
			{9, 4, 2, 11, 50, 10, 45}, {14, 14, 4, 14, 196, 16, 256}, {16, 3, 1, 16, 48, 17, 60},
			{28, 28, 1, 30, 900, 28, 784}, {31, 2, 2, 31, 70, 33, 70}, {3, 2, 2, 3, 6, 5, 10},
		} {
			t.Run(fmt.Sprint(c), func(t *testing.T) {
				src := randSlice(r, (c.planes-1)*c.splane+(c.rows-1)*c.lds+c.n)
				dst := make([]float32, (c.planes-1)*c.dplane+(c.rows-1)*c.ldd+c.n+8)
				for i := range dst {
					dst[i] = -7
				}
				want := append([]float32(nil), dst...)
				for p := 0; p < c.planes; p++ {
					for q := 0; q < c.rows; q++ {
						for i := 0; i < c.n; i++ {
							want[p*c.dplane+q*c.ldd+i] = src[p*c.splane+q*c.lds+i]
						}
					}
				}
				CopyRows(dst, c.ldd, c.dplane, src, c.lds, c.splane, c.n, c.rows, c.planes)
				for i := range dst {
					if dst[i] != want[i] {
						t.Fatalf("dst[%d] = %v, want %v", i, dst[i], want[i])
					}
				}
			})
		}
	})
}

// Moments equals the two sums written out in float64 to round-off, for
// lengths around the assembly's block of 16, with a large common offset.
func TestMoments(t *testing.T) {
	paths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, n := range []int{1, 3, 15, 16, 17, 31, 32, 49, 196, 784, 785} {
			p := randSlice(r, n)
			for i := range p {
				p[i] += 100
			}
			var w1, w2 float64
			for _, v := range p {
				d := float64(v) - float64(p[0])
				w1, w2 = w1+d, w2+d*d
			}
			s1, s2 := Moments(p)
			if math.Abs(s1-w1) > 1e-12*float64(n)*10 || math.Abs(s2-w2) > 1e-12*w2+1e-300 {
				t.Fatalf("n=%d: moments %v %v, want %v %v", n, s1, s2, w1, w2)
			}
		}
	})
}

// ReluPool's assembly gives the Go loop's values bit for bit, with odd
// plane widths, widths around the blocks of 4 and 8 and a ReLU that cuts.
func TestReluPool(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct{ w, ph, pw int }{
		{8, 2, 4}, {9, 3, 4}, {11, 2, 5}, {14, 7, 7}, {16, 8, 8}, {17, 3, 8}, {19, 2, 9},
		{28, 14, 14}, {33, 4, 16}, {40, 3, 20}, {7, 3, 3}, {6, 1, 2},
	} {
		t.Run(fmt.Sprint(c), func(t *testing.T) {
			plane := randSlice(r, (2*c.ph-1)*c.w+2*c.pw)
			mu, q := float32(0.3), float32(0.37)
			got := map[bool][]float32{}
			paths(t, func(t *testing.T) {
				y := make([]float32, c.ph*c.pw+5)
				for i := range y {
					y[i] = -7
				}
				ReluPool(plane, c.w, c.ph, c.pw, mu, q, y)
				for i := c.ph * c.pw; i < len(y); i++ {
					if y[i] != -7 {
						t.Fatalf("y[%d] written past the output", i)
					}
				}
				got[AVX2] = y
			})
			want := got[false]
			for i := 0; i < c.ph; i++ {
				for j := 0; j < c.pw; j++ {
					a, b := plane[2*i*c.w+2*j:], plane[(2*i+1)*c.w+2*j:]
					v := (max(a[0]-mu, 0) + max(a[1]-mu, 0) + max(b[0]-mu, 0) + max(b[1]-mu, 0)) * q
					if d := math.Abs(float64(want[i*c.pw+j] - v)); d > 1e-6 {
						t.Fatalf("window (%d, %d): %v, want %v", i, j, want[i*c.pw+j], v)
					}
				}
			}
			sameBits(t, "y", got)
		})
	}
}

var (
	winoBT = [4][4]float64{{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}}
	winoAT = [2][4]float64{{1, 1, 1, 0}, {0, 1, -1, -1}}
)

// WinoInput is Bᵀ d B of every tile, written out as matrix products; the
// assembly gives the Go loop's values bit for bit and writes nothing else.
func TestWinoInput(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, tw := range []int{1, 3, 4, 5, 7, 8, 9, 14} {
		t.Run(fmt.Sprint("tw=", tw), func(t *testing.T) {
			W := 2*tw + 2 + tw%2 // some rows longer than the tiles need
			S := tw + 3
			rows := randSlice(r, 3*W+2*tw+2)
			got := map[bool][]float32{}
			paths(t, func(t *testing.T) {
				dst := make([]float32, 15*S+tw+4)
				for i := range dst {
					dst[i] = -7
				}
				WinoInput(rows, W, tw, dst, S)
				got[AVX2] = dst
			})
			want := got[false]
			for tile := 0; tile < tw; tile++ {
				for xi := 0; xi < 16; xi++ {
					a, b := xi/4, xi%4
					v := 0.0 // (Bᵀ d B)[a][b] = Σ Bᵀ[a][i] d[i][j] Bᵀ[b][j]
					for i := 0; i < 4; i++ {
						for j := 0; j < 4; j++ {
							v += winoBT[a][i] * float64(rows[i*W+2*tile+j]) * winoBT[b][j]
						}
					}
					if d := math.Abs(float64(want[xi*S+tile]) - v); d > 1e-5 {
						t.Fatalf("tile %d position %d: %v, want %v", tile, xi, want[xi*S+tile], v)
					}
				}
			}
			for i, v := range want {
				if i%S >= tw && v != -7 {
					t.Fatalf("dst[%d] written outside the tiles", i)
				}
			}
			sameBits(t, "dst", got)
		})
	}
}

// WinoOutput is Aᵀ M A of every tile, written out; the assembly gives the Go
// loop's values bit for bit and writes nothing else.
func TestWinoOutput(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, tw := range []int{1, 3, 4, 5, 7, 8, 9, 14} {
		t.Run(fmt.Sprint("tw=", tw), func(t *testing.T) {
			S, ldy := tw+2, 2*tw+3
			src := randSlice(r, 15*S+tw)
			got := map[bool][]float32{}
			paths(t, func(t *testing.T) {
				y := make([]float32, 2*ldy+3)
				for i := range y {
					y[i] = -7
				}
				WinoOutput(src, S, tw, y, ldy)
				got[AVX2] = y
			})
			want := got[false]
			for tile := 0; tile < tw; tile++ {
				for a := 0; a < 2; a++ {
					for b := 0; b < 2; b++ {
						v := 0.0
						for i := 0; i < 4; i++ {
							for j := 0; j < 4; j++ {
								v += winoAT[a][i] * float64(src[(4*i+j)*S+tile]) * winoAT[b][j]
							}
						}
						if d := math.Abs(float64(want[a*ldy+2*tile+b]) - v); d > 1e-5 {
							t.Fatalf("tile %d (%d, %d): %v, want %v", tile, a, b, want[a*ldy+2*tile+b], v)
						}
					}
				}
			}
			for i, v := range want {
				if (i%ldy >= 2*tw || i >= 2*ldy) && v != -7 {
					t.Fatalf("y[%d] written outside the tiles", i)
				}
			}
			sameBits(t, "y", got)
		})
	}
}

// sameBits fails t unless the assembly's values (got[true], where it ran)
// equal the Go loop's (got[false]) bit for bit.
func sameBits(t *testing.T, name string, got map[bool][]float32) {
	t.Helper()
	asm, ok := got[true]
	if !ok {
		return
	}
	for i, v := range got[false] {
		if math.Float32bits(asm[i]) != math.Float32bits(v) {
			t.Fatalf("%s[%d]: assembly %v, Go %v", name, i, asm[i], v)
		}
	}
}

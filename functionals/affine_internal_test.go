package functionals

import (
	"math"
	"testing"
)

// The resampling table: the identity transform is the identity, a shift by
// one pixel moves every pixel by one (zeros enter at the border), a
// rotation by 90° about the centre of a square image is the exact rotation,
// and a half-pixel shift averages neighbours.
func TestAffineMatrix(t *testing.T) {
	const h, w = 5, 5
	x := make([]float64, h*w)
	for i := range x {
		x[i] = float64(i + 1)
	}
	apply := func(angle, s, dy, dx float64) []float64 {
		idx, wts := make([]float64, 4*h*w), make([]float64, 4*h*w)
		affineTable(idx, wts, h, w, angle, s, dy, dx)
		y := make([]float64, h*w)
		for k, j := range idx {
			y[k/4] += x[int(j)] * wts[k]
		}
		return y
	}
	at := func(img []float64, r, c int) float64 {
		if r < 0 || r >= h || c < 0 || c >= w {
			return 0
		}
		return img[r*w+c]
	}
	for _, c := range []struct {
		name             string
		angle, s, dy, dx float64
		want             func(r, c int) float64
	}{
		{"identity", 0, 1, 0, 0, func(r, c int) float64 { return at(x, r, c) }},
		{"shift down", 0, 1, 1, 0, func(r, c int) float64 { return at(x, r-1, c) }},
		{"shift left", 0, 1, 0, -1, func(r, c int) float64 { return at(x, r, c+1) }},
		{"rotate 90°", math.Pi / 2, 1, 0, 0, func(r, c int) float64 { return at(x, w-1-c, r) }},
		{"half pixel", 0, 1, 0, 0.5, func(r, c int) float64 { return (at(x, r, c) + at(x, r, c-1)) / 2 }},
	} {
		y := apply(c.angle, c.s, c.dy, c.dx)
		for r := 0; r < h; r++ {
			for cc := 0; cc < w; cc++ {
				if got, want := y[r*w+cc], c.want(r, cc); math.Abs(got-want) > 1e-9 {
					t.Errorf("%s: pixel (%d,%d) = %v, want %v", c.name, r, cc, got, want)
				}
			}
		}
	}
}

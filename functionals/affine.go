package functionals

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wowflow/wowflow/graph"
)

// AffineAugment bounds the random affine augmentation of RandomAffine.
// Every draw is uniform in its range; zero fields leave that part out.
type AffineAugment struct {
	Rotate float64 // maximal rotation, degrees
	Scale  float64 // scale drawn in [1 − Scale, 1 + Scale]
	Shift  float64 // translation in each direction, pixels (a random crop)
}

// DefaultAffine is the augmentation used for MNIST-like images: ±15°,
// ±10% scale, ±2 px shifts (the magnitudes of DSA's rotate, scale and crop).
var DefaultAffine = AffineAugment{Rotate: 15, Scale: 0.1, Shift: 2}

// RandomAffine returns a differentiable random augmentation of h×w
// single-channel images (rows of an n×(h·w) node): a rotation, scaling and
// translation about the image centre, drawn once per step from the flow's
// RNG and shared by every image and every dataset mapped on the same Env (as
// RandomConvNet's weights), resampled bilinearly with zeros outside the
// image. The map is linear in the pixels: every output pixel is a weighted
// sum of at most four input pixels (graph.Resample with the step's tap
// table), so its gradient is exact and it costs 8 operations per pixel.
func RandomAffine(h, w int, a AffineAugment) (MapFunc, error) {
	const maxPixels = 1 << 20 // indices stay exact in float32
	if h < 1 || w < 1 || h > maxPixels || w > maxPixels || h*w > maxPixels {
		return nil, fmt.Errorf("functionals: random affine augmentation of %d×%d images, want 1 to %d pixels: %w", h, w, maxPixels, ErrParam)
	}
	if !(a.Rotate >= 0 && a.Rotate <= 180) || !(a.Scale >= 0 && a.Scale < 1) || !(a.Shift >= 0 && a.Shift <= float64(max(h, w))) {
		return nil, fmt.Errorf("functionals: random affine augmentation %+v: want rotation in [0, 180]°, scale in [0, 1), shift in [0, %d] px: %w", a, max(h, w), ErrParam)
	}
	name := fmt.Sprintf("random_affine_%dx%d_r%g_s%g_t%g", h, w, a.Rotate, a.Scale, a.Shift)
	return func(env *Env, x *gorgonia.Node) (*gorgonia.Node, error) {
		if env == nil || x == nil {
			return nil, fmt.Errorf("functionals: random affine: nil env or input: %w", ErrParam)
		}
		if s := x.Shape(); len(s) != 2 || s[0] < 1 || s[1] != h*w {
			return nil, fmt.Errorf("functionals: random affine on %d×%d images: input %s has shape %v, want n×%d: %w", h, w, x.Name(), s, h*w, ErrParam)
		}
		if dt := x.Dtype(); dt != tensor.Float64 && dt != tensor.Float32 {
			return nil, fmt.Errorf("functionals: random affine: input %s has dtype %v, want float64 or float32: %w", x.Name(), dt, ErrParam)
		}
		v, err := env.Shared(name, func() (any, error) { return newAffineTaps(env, name, h, w, a) })
		if err != nil {
			return nil, fmt.Errorf("functionals: random affine: %w", err)
		}
		t := v.(affineTaps)
		return graph.Resample(x, t.idx, t.wts)
	}, nil
}

// affineTaps are the Env inputs holding one step's tap table: for every
// output pixel, the indices and weights of its four input pixels.
type affineTaps struct{ idx, wts *gorgonia.Node }

// newAffineTaps adds the tap table inputs; each step draws the transform
// once (when the index table is refreshed, first) and both tables read it.
func newAffineTaps(env *Env, name string, h, w int, a AffineAugment) (affineTaps, error) {
	hw := h * w
	idx, wts := make([]float64, 4*hw), make([]float64, 4*hw)
	in, err := env.Input(name+".idx", hw, 4, func(rng *rand.Rand, dst []float64) error {
		u := func() float64 { return 2*rng.Float64() - 1 }
		affineTable(idx, wts, h, w, a.Rotate*u()*math.Pi/180, 1+a.Scale*u(), a.Shift*u(), a.Shift*u())
		copy(dst, idx)
		return nil
	})
	if err != nil {
		return affineTaps{}, err
	}
	wn, err := env.Input(name+".wts", hw, 4, func(_ *rand.Rand, dst []float64) error { copy(dst, wts); return nil })
	return affineTaps{in, wn}, err
}

// affineTable fills the tap table (output pixel p: indices idx[4p:4p+4] of
// input pixels and their weights wts[4p:4p+4], zero weight and index 0 for a
// neighbour outside the image) of the bilinear resampling of the transform
// that rotates by angle, scales by s and shifts by (dy, dx) pixels about the
// image centre: output pixel p reads the input at T⁻¹(p).
func affineTable(idx, wts []float64, h, w int, angle, s, dy, dx float64) {
	cy, cx := float64(h-1)/2, float64(w-1)/2
	cos, sin := math.Cos(angle)/s, math.Sin(angle)/s
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			y, x := float64(r)-cy-dy, float64(c)-cx-dx
			sy, sx := cos*y-sin*x+cy, sin*y+cos*x+cx // inverse rotation and scaling
			y0, x0 := math.Floor(sy), math.Floor(sx)
			fy, fx := sy-y0, sx-x0
			out := 4 * (r*w + c)
			for t, k := range [4]struct {
				dy, dx int
				wt     float64
			}{{0, 0, (1 - fy) * (1 - fx)}, {0, 1, (1 - fy) * fx}, {1, 0, fy * (1 - fx)}, {1, 1, fy * fx}} {
				iy, ix := int(y0)+k.dy, int(x0)+k.dx
				idx[out+t], wts[out+t] = 0, 0
				if iy < 0 || iy >= h || ix < 0 || ix >= w || k.wt == 0 {
					continue
				}
				idx[out+t], wts[out+t] = float64(iy*w+ix), k.wt
			}
		}
	}
}

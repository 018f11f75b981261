package functionals

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
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
// image. The map is linear in the pixels, y = x·M with M the (h·w)×(h·w)
// resampling matrix of the step's draw, so its gradient is exact.
func RandomAffine(h, w int, a AffineAugment) (MapFunc, error) {
	if h < 1 || w < 1 || h*w > 1<<14 {
		return nil, fmt.Errorf("functionals: random affine augmentation of %d×%d images, want 1 to %d pixels (the resampling matrix is dense): %w", h, w, 1<<14, ErrParam)
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
		v, err := env.Shared(name, func() (any, error) {
			return env.Input(name, h*w, h*w, func(rng *rand.Rand, m []float64) error {
				u := func() float64 { return 2*rng.Float64() - 1 }
				affineMatrix(m, h, w, a.Rotate*u()*math.Pi/180, 1+a.Scale*u(), a.Shift*u(), a.Shift*u())
				return nil
			})
		})
		if err != nil {
			return nil, fmt.Errorf("functionals: random affine: %w", err)
		}
		return gorgonia.Mul(x, v.(*gorgonia.Node))
	}, nil
}

// affineMatrix fills m ((h·w)×(h·w), row = input pixel, column = output
// pixel) with the bilinear resampling of the transform that rotates by
// angle, scales by s and shifts by (dy, dx) pixels about the image centre:
// output pixel p reads the input at T⁻¹(p).
func affineMatrix(m []float64, h, w int, angle, s, dy, dx float64) {
	clear(m)
	hw := h * w
	cy, cx := float64(h-1)/2, float64(w-1)/2
	cos, sin := math.Cos(angle)/s, math.Sin(angle)/s
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			y, x := float64(r)-cy-dy, float64(c)-cx-dx
			sy, sx := cos*y-sin*x+cy, sin*y+cos*x+cx // inverse rotation and scaling
			y0, x0 := math.Floor(sy), math.Floor(sx)
			fy, fx := sy-y0, sx-x0
			out := r*w + c
			for _, k := range [4]struct {
				dy, dx int
				wt     float64
			}{{0, 0, (1 - fy) * (1 - fx)}, {0, 1, (1 - fy) * fx}, {1, 0, fy * (1 - fx)}, {1, 1, fy * fx}} {
				iy, ix := int(y0)+k.dy, int(x0)+k.dx
				if iy < 0 || iy >= h || ix < 0 || ix >= w || k.wt == 0 {
					continue
				}
				m[(iy*w+ix)*hw+out] += k.wt
			}
		}
	}
}

package render

import (
	"errors"
	"fmt"
	"image/color"
	"math"
)

// Points is a labeled 2-D point set: X[i] = (x, y), Label[i] = class id in [0, C).
type Points struct {
	X     [][2]float64
	Label []int
}

// Options control a Scatter or Animate picture.
type Options struct {
	// Title is drawn above the plot; empty means no title.
	Title string
	// Width and Height are the image size in pixels; if either is zero the
	// image is 480×480. Each must be in [MinSize, MaxSize] otherwise.
	Width, Height int
	// Target, if not nil, is drawn faintly (pale class colours, small
	// markers) behind the plotted points.
	Target *Points
	// Bounds is {xmin, xmax, ymin, ymax} of the plotted area. If nil the
	// bounds enclose all points (of every frame, for Animate) and the
	// target, with a 5% margin. Points outside explicit bounds are not drawn.
	Bounds *[4]float64
	// Captions are per-frame captions for Animate, drawn centred in a band
	// at the bottom of each frame. Either empty (no captions) or exactly one
	// per frame. Scatter ignores Captions. See StepCaptions.
	Captions []string
	// Legend adds a "class k" legend entry per class present (Scatter only).
	Legend bool
}

// Size limits for Options.Width and Options.Height.
const (
	MinSize     = 64
	MaxSize     = 8192
	defaultSize = 480
)

// StepCaptions returns n captions "step first", "step first+stride", ...,
// suitable for Options.Captions when frame i was taken at step first+i*stride.
func StepCaptions(n, first, stride int) []string {
	if n < 0 {
		n = 0
	}
	c := make([]string, n)
	for i := range c {
		c[i] = fmt.Sprintf("step %d", first+i*stride)
	}
	return c
}

// tab10 is matplotlib's default categorical palette.
var tab10 = [10]color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, // blue
	{0xff, 0x7f, 0x0e, 0xff}, // orange
	{0x2c, 0xa0, 0x2c, 0xff}, // green
	{0xd6, 0x27, 0x28, 0xff}, // red
	{0x94, 0x67, 0xbd, 0xff}, // purple
	{0x8c, 0x56, 0x4b, 0xff}, // brown
	{0xe3, 0x77, 0xc2, 0xff}, // pink
	{0x7f, 0x7f, 0x7f, 0xff}, // grey
	{0xbc, 0xbd, 0x22, 0xff}, // olive
	{0x17, 0xbe, 0xcf, 0xff}, // cyan
}

// NumColors is the number of distinct class colours; labels >= NumColors
// reuse them cyclically.
const NumColors = len(tab10)

// ClassColor returns the colour used for class label (label mod NumColors).
// Negative labels get black.
func ClassColor(label int) color.RGBA {
	if label < 0 {
		return color.RGBA{A: 0xff}
	}
	return tab10[label%NumColors]
}

// targetTint is the weight of the class colour (vs. white) in the pale
// colour used for target points.
const targetTint = 0.35

// tint blends c with white: t = 1 gives c, t = 0 gives white.
func tint(c color.RGBA, t float64) color.RGBA {
	m := func(v uint8) uint8 { return uint8(math.Round(255 - t*(255-float64(v)))) }
	return color.RGBA{m(c.R), m(c.G), m(c.B), 0xff}
}

func targetColor(label int) color.RGBA { return tint(ClassColor(label), targetTint) }

// validate checks one point set; what names it in error messages.
func validate(p Points, what string) error {
	if len(p.X) != len(p.Label) {
		return fmt.Errorf("render: %s: len(X) = %d but len(Label) = %d", what, len(p.X), len(p.Label))
	}
	for i, xy := range p.X {
		if !finite(xy[0]) || !finite(xy[1]) {
			return fmt.Errorf("render: %s: point %d has non-finite coordinates (%v, %v)", what, i, xy[0], xy[1])
		}
		if p.Label[i] < 0 {
			return fmt.Errorf("render: %s: point %d has negative label %d", what, i, p.Label[i])
		}
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// size returns the validated image size in pixels.
func (o *Options) size() (w, h int, err error) {
	w, h = o.Width, o.Height
	if w == 0 || h == 0 {
		return defaultSize, defaultSize, nil
	}
	if w < MinSize || h < MinSize || w > MaxSize || h > MaxSize {
		return 0, 0, fmt.Errorf("render: image size %d×%d outside [%d, %d]", w, h, MinSize, MaxSize)
	}
	return w, h, nil
}

// bounds returns the plot bounds: opt.Bounds if set (validated), otherwise
// the bounding box of all sets with a 5% margin on each side.
func bounds(explicit *[4]float64, sets ...Points) ([4]float64, error) {
	if explicit != nil {
		b := *explicit
		for _, v := range b {
			if !finite(v) {
				return b, fmt.Errorf("render: non-finite bounds %v", b)
			}
		}
		if !(b[0] < b[1]) || !(b[2] < b[3]) {
			return b, fmt.Errorf("render: empty bounds %v: need xmin < xmax and ymin < ymax", b)
		}
		return b, nil
	}
	b := [4]float64{math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)}
	n := 0
	for _, s := range sets {
		for _, xy := range s.X {
			b[0] = math.Min(b[0], xy[0])
			b[1] = math.Max(b[1], xy[0])
			b[2] = math.Min(b[2], xy[1])
			b[3] = math.Max(b[3], xy[1])
			n++
		}
	}
	if n == 0 {
		return [4]float64{-1, 1, -1, 1}, nil
	}
	b[0], b[1] = pad(b[0], b[1])
	b[2], b[3] = pad(b[2], b[3])
	return b, nil
}

// pad widens [lo, hi] by 5% on each side; a degenerate interval gets a
// half-width of max(1, |lo|)*0.05.
func pad(lo, hi float64) (float64, float64) {
	m := 0.05 * (hi - lo)
	if !(m > 0) || !finite(m) {
		m = 0.05 * math.Max(1, math.Abs(lo))
	}
	lo, hi = lo-m, hi+m
	if !finite(lo) || !finite(hi) || !(lo < hi) {
		// Extreme magnitudes: fall back to something plot can handle.
		return -math.MaxFloat64 / 4, math.MaxFloat64 / 4
	}
	return lo, hi
}

func inside(xy [2]float64, b [4]float64) bool {
	return xy[0] >= b[0] && xy[0] <= b[1] && xy[1] >= b[2] && xy[1] <= b[3]
}

var errNoFrames = errors.New("render: no frames")

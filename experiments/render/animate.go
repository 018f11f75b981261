package render

import (
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"io"
	"math"
	"time"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/wowflow/wowflow/internal/atomicfile"
)

// Palette layout of animation frames: white, black, greys, the class
// colours, then tints of every class colour (for antialiased target markers).
const (
	palWhite  = 0
	nGreys    = 30
	palClass0 = 2 + nGreys
)

var tintLevels = [...]float64{0.1, 0.2, 0.3, targetTint, 0.45, 0.6, 0.8}

// gifPalette is the fixed palette shared by every animation frame.
var gifPalette = func() color.Palette {
	pal := color.Palette{color.RGBA{0xff, 0xff, 0xff, 0xff}, color.RGBA{0, 0, 0, 0xff}}
	for i := 1; i <= nGreys; i++ {
		g := uint8(i * 255 / (nGreys + 1))
		pal = append(pal, color.RGBA{g, g, g, 0xff})
	}
	for _, c := range tab10 {
		pal = append(pal, c)
	}
	for _, c := range tab10 {
		for _, t := range tintLevels {
			pal = append(pal, tint(c, t))
		}
	}
	return pal
}()

// quantizer maps RGBA pixels to the nearest gifPalette entry, caching.
type quantizer map[color.RGBA]uint8

func (q quantizer) index(c color.RGBA) uint8 {
	if i, ok := q[c]; ok {
		return i
	}
	i := uint8(gifPalette.Index(c))
	q[c] = i
	return i
}

// quantize converts src (whose bounds start at the origin) into dst at
// offset (0, y0).
func (q quantizer) quantize(dst *image.Paletted, src *image.RGBA, y0 int) {
	b := src.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := dst.Pix[(y0+y-b.Min.Y)*dst.Stride:]
		for x := b.Min.X; x < b.Max.X; x++ {
			o := src.PixOffset(x, y)
			s := src.Pix[o : o+4 : o+4]
			// Canvases are opaque white-backed; ignore alpha.
			row[x-b.Min.X] = q.index(color.RGBA{s[0], s[1], s[2], 0xff})
		}
	}
}

// frameLayout is the pixel geometry shared by all frames.
type frameLayout struct {
	bg             *image.Paletted // background: axes, title, target
	ax, bx, ay, by float64         // pixel = a + b*data
	data           image.Rectangle // data area in pixels
	disc           []image.Point   // pixel offsets of a point marker
	band           int             // caption band height in pixels (0: none)
	captionSize    vg.Length
}

func (l *frameLayout) px(xy [2]float64) (int, int) {
	return int(math.Floor(l.ax + l.bx*xy[0])), int(math.Floor(l.ay + l.by*xy[1]))
}

// Animate writes an animated GIF of frames to w, one GIF frame per element,
// looping forever, with delay between frames (rounded to 1/100 s; delay <= 0
// means 100 ms, shorter positive delays become 10 ms). Axis bounds are the
// same in every frame: opt.Bounds, or the box around all frames and the
// target with a 5% margin. opt.Captions, if not empty, must have one caption
// per frame; it is drawn in a band at the bottom of the frame. opt.Legend is
// ignored.
//
// Title, axes and target are rendered once with gonum/plot; the points of
// each frame are drawn as filled discs directly onto a paletted image.
func Animate(w io.Writer, frames []Points, opt Options, delay time.Duration) error {
	g, err := animation(frames, opt, delay)
	if err != nil {
		return err
	}
	return gif.EncodeAll(w, g)
}

// WriteAnimation writes Animate's GIF to path atomically.
func WriteAnimation(path string, frames []Points, opt Options, delay time.Duration) error {
	g, err := animation(frames, opt, delay)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error { return gif.EncodeAll(w, g) })
}

func gifDelay(d time.Duration) int {
	if d <= 0 {
		return 10
	}
	cs := int(math.Round(float64(d) / float64(10*time.Millisecond)))
	return max(1, min(cs, math.MaxUint16))
}

func animation(frames []Points, opt Options, delay time.Duration) (*gif.GIF, error) {
	if len(frames) == 0 {
		return nil, errNoFrames
	}
	sets := make([]Points, 0, len(frames)+1)
	for f, p := range frames {
		if err := validate(p, fmt.Sprintf("frame %d", f)); err != nil {
			return nil, err
		}
		sets = append(sets, p)
	}
	if opt.Target != nil {
		if err := validate(*opt.Target, "target"); err != nil {
			return nil, err
		}
		sets = append(sets, *opt.Target)
	}
	if len(opt.Captions) != 0 && len(opt.Captions) != len(frames) {
		return nil, fmt.Errorf("render: %d captions for %d frames", len(opt.Captions), len(frames))
	}
	width, height, err := opt.size()
	if err != nil {
		return nil, err
	}
	b, err := bounds(opt.Bounds, sets...)
	if err != nil {
		return nil, err
	}
	var lay *frameLayout
	if err := safely(func() (err error) {
		lay, err = layout(&opt, b, width, height)
		return err
	}); err != nil {
		return nil, err
	}

	g := &gif.GIF{
		Image:  make([]*image.Paletted, len(frames)),
		Delay:  make([]int, len(frames)),
		Config: image.Config{ColorModel: gifPalette, Width: width, Height: height},
	}
	d := gifDelay(delay)
	q := quantizer{}
	captions := map[string]*image.Paletted{}
	for f, p := range frames {
		img := image.NewPaletted(lay.bg.Rect, gifPalette)
		copy(img.Pix, lay.bg.Pix)
		lay.drawPoints(img, p)
		if len(opt.Captions) != 0 {
			c, ok := captions[opt.Captions[f]]
			if !ok {
				if err := safely(func() (err error) {
					c, err = lay.caption(opt.Captions[f], width, q)
					return err
				}); err != nil {
					return nil, err
				}
				captions[opt.Captions[f]] = c
			}
			copy(img.Pix[(height-lay.band)*img.Stride:], c.Pix)
		}
		g.Image[f] = img
		g.Delay[f] = d
	}
	return g, nil
}

// layout renders the static background and computes the pixel geometry.
func layout(opt *Options, b [4]float64, width, height int) (*frameLayout, error) {
	lay := &frameLayout{}
	if len(opt.Captions) != 0 {
		lay.captionSize = vg.Points(11)
		lay.band = int(math.Ceil(lay.captionSize.Dots(dpi) * 1.8))
	}
	pl, err := basePlot(opt, b, width, height)
	if err != nil {
		return nil, err
	}
	c := newCanvas(width, height)
	area := inset(draw.New(c), max(0, pxToPt(lay.band)-margin))
	pl.Draw(area)
	da := pl.DataCanvas(area)
	tx, ty := pl.Transforms(&da)
	H := float64(height)
	x0, x1 := tx(b[0]).Dots(dpi), tx(b[1]).Dots(dpi)
	y0, y1 := H-ty(b[2]).Dots(dpi), H-ty(b[3]).Dots(dpi)
	lay.bx = (x1 - x0) / (b[1] - b[0])
	lay.ax = x0 - lay.bx*b[0]
	lay.by = (y1 - y0) / (b[3] - b[2])
	lay.ay = y0 - lay.by*b[2]
	if !finite(lay.ax) || !finite(lay.bx) || !finite(lay.ay) || !finite(lay.by) {
		return nil, fmt.Errorf("render: degenerate bounds %v", b)
	}
	lay.data = image.Rect(
		int(math.Floor(da.Min.X.Dots(dpi))), int(math.Floor(H-da.Max.Y.Dots(dpi))),
		int(math.Ceil(da.Max.X.Dots(dpi))), int(math.Ceil(H-da.Min.Y.Dots(dpi))),
	).Intersect(image.Rect(0, 0, width, height-lay.band))

	rgba, ok := c.Image().(*image.RGBA)
	if !ok {
		return nil, fmt.Errorf("render: unexpected canvas image type %T", c.Image())
	}
	lay.bg = image.NewPaletted(image.Rect(0, 0, width, height), gifPalette)
	quantizer{}.quantize(lay.bg, rgba, 0)

	r, _ := markerRadius(width, height)
	rp := r.Dots(dpi)
	R := int(math.Ceil(rp))
	for dy := -R; dy <= R; dy++ {
		for dx := -R; dx <= R; dx++ {
			// Distance from the centre of pixel (dx, dy) to the centre of
			// the pixel holding the point.
			if float64(dx*dx+dy*dy) <= rp*rp+0.25 {
				lay.disc = append(lay.disc, image.Point{dx, dy})
			}
		}
	}
	return lay, nil
}

// drawPoints draws the points of p that fall inside the data area as discs.
func (l *frameLayout) drawPoints(img *image.Paletted, p Points) {
	inner := l.data
	full := img.Rect
	for i, xy := range p.X {
		cx, cy := l.px(xy)
		if !(image.Point{cx, cy}).In(inner) {
			continue
		}
		idx := uint8(palClass0 + p.Label[i]%NumColors)
		for _, o := range l.disc {
			x, y := cx+o.X, cy+o.Y
			if x < full.Min.X || y < full.Min.Y || x >= full.Max.X || y >= full.Max.Y {
				continue
			}
			img.Pix[y*img.Stride+x] = idx
		}
	}
}

// caption renders text centred in a width×band strip.
func (l *frameLayout) caption(text string, width int, q quantizer) (*image.Paletted, error) {
	c := newCanvas(width, l.band)
	dc := draw.New(c)
	st := basePlotTextStyle()
	st.Font.Size = l.captionSize
	st.XAlign, st.YAlign = draw.XCenter, draw.YCenter
	dc.FillText(st, dc.Center(), text)
	rgba, ok := c.Image().(*image.RGBA)
	if !ok {
		return nil, fmt.Errorf("render: unexpected canvas image type %T", c.Image())
	}
	out := image.NewPaletted(image.Rect(0, 0, width, l.band), gifPalette)
	q.quantize(out, rgba, 0)
	return out, nil
}

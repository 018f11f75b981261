package render

import (
	"fmt"
	"image/color"
	"io"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/wowflow/wowflow/internal/atomicfile"
)

// dpi is the resolution used for all rasterised plots; an image of W pixels
// is a canvas of W*72/dpi points.
const dpi = 96

func pxToPt(px int) vg.Length { return vg.Length(float64(px) * 72 / dpi) }

// margin is the blank border around every plot.
const margin = vg.Length(4)

// inset returns c shrunk by margin on every side, plus bottom extra.
func inset(c draw.Canvas, bottom vg.Length) draw.Canvas {
	return draw.Crop(c, margin, -margin, margin+bottom, -margin)
}

// markerRadius returns the point and target marker radii (in points) for a
// w×h pixel image.
func markerRadius(w, h int) (pts, target vg.Length) {
	r := 2.5 * float64(min(w, h)) / defaultSize
	r = max(1, min(r, 6))
	return vg.Points(r), vg.Points(0.6 * r)
}

// byClass groups the points of p that lie inside b by label, returning the
// labels in increasing order and one XYs per label.
func byClass(p Points, b [4]float64) ([]int, map[int]plotter.XYs) {
	g := make(map[int]plotter.XYs)
	for i, xy := range p.X {
		if !inside(xy, b) {
			continue
		}
		g[p.Label[i]] = append(g[p.Label[i]], plotter.XY{X: xy[0], Y: xy[1]})
	}
	labels := make([]int, 0, len(g))
	for l := range g {
		labels = append(labels, l)
	}
	sort.Ints(labels)
	return labels, g
}

// basePlot returns a plot with the title, fixed bounds b, and the target (if
// any) drawn faintly. Nothing else is added.
func basePlot(opt *Options, b [4]float64, w, h int) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = opt.Title
	if opt.Target != nil {
		_, rt := markerRadius(w, h)
		labels, g := byClass(*opt.Target, b)
		for _, l := range labels {
			s, err := plotter.NewScatter(g[l])
			if err != nil {
				return nil, fmt.Errorf("render: target: %w", err)
			}
			s.GlyphStyle = draw.GlyphStyle{Color: targetColor(l), Radius: rt, Shape: draw.CircleGlyph{}}
			p.Add(s)
		}
	}
	// Set the bounds after Add, which widens them to the data range.
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = b[0], b[1], b[2], b[3]
	return p, nil
}

// newCanvas returns a white w×h pixel canvas.
func newCanvas(w, h int) *vgimg.Canvas {
	return vgimg.NewWith(vgimg.UseWH(pxToPt(w), pxToPt(h)), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
}

// safely runs f, turning a panic (gonum/plot panics on some degenerate
// inputs) into an error.
func safely(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("render: plotting failed: %v", r)
		}
	}()
	return f()
}

// Scatter writes a PNG scatter plot of p to w: one colour per class (see
// ClassColor), the target (if any) drawn faintly behind, fixed bounds from
// opt.Bounds or the data. opt.Captions is ignored.
func Scatter(w io.Writer, p Points, opt Options) error {
	if err := validate(p, "points"); err != nil {
		return err
	}
	sets := []Points{p}
	if opt.Target != nil {
		if err := validate(*opt.Target, "target"); err != nil {
			return err
		}
		sets = append(sets, *opt.Target)
	}
	width, height, err := opt.size()
	if err != nil {
		return err
	}
	b, err := bounds(opt.Bounds, sets...)
	if err != nil {
		return err
	}
	return safely(func() error {
		pl, err := basePlot(&opt, b, width, height)
		if err != nil {
			return err
		}
		r, _ := markerRadius(width, height)
		labels, g := byClass(p, b)
		for _, l := range labels {
			s, err := plotter.NewScatter(g[l])
			if err != nil {
				return fmt.Errorf("render: %w", err)
			}
			s.GlyphStyle = draw.GlyphStyle{Color: ClassColor(l), Radius: r, Shape: draw.CircleGlyph{}}
			pl.Add(s)
			if opt.Legend {
				pl.Legend.Add(fmt.Sprintf("class %d", l), s)
			}
		}
		pl.X.Min, pl.X.Max, pl.Y.Min, pl.Y.Max = b[0], b[1], b[2], b[3]
		pl.Legend.Top = true
		c := newCanvas(width, height)
		pl.Draw(inset(draw.New(c), 0))
		_, err = vgimg.PngCanvas{Canvas: c}.WriteTo(w)
		return err
	})
}

// WriteScatter writes Scatter's PNG to path atomically.
func WriteScatter(path string, p Points, opt Options) error {
	return atomicfile.Write(path, func(w io.Writer) error { return Scatter(w, p, opt) })
}

// basePlotTextStyle is gonum/plot's default title style.
func basePlotTextStyle() text.Style { return plot.New().Title.TextStyle }

package render

import (
	"fmt"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/wowflow/wowflow/internal/atomicfile"
)

// Line plot image size in pixels.
const (
	LinePlotWidth  = 640
	LinePlotHeight = 420
)

// LinePlot writes a LinePlotWidth×LinePlotHeight PNG line plot of ys against
// xs (for example a loss curve) to w. xs and ys must have the same non-zero
// length and finite values.
//
// With logY the y axis is logarithmic. Non-positive ys cannot be shown on a
// log axis, so they are clamped to a floor one decade below the smallest
// positive y (they appear at the bottom of the plot); if no y is positive,
// LinePlot returns an error.
func LinePlot(w io.Writer, xs, ys []float64, title, xlabel, ylabel string, logY bool) error {
	if len(xs) != len(ys) {
		return fmt.Errorf("render: line plot: len(xs) = %d but len(ys) = %d", len(xs), len(ys))
	}
	if len(xs) == 0 {
		return fmt.Errorf("render: line plot: no points")
	}
	pts := make(plotter.XYs, len(xs))
	minPos := math.Inf(1)
	for i := range xs {
		if !finite(xs[i]) || !finite(ys[i]) {
			return fmt.Errorf("render: line plot: point %d has non-finite value (%v, %v)", i, xs[i], ys[i])
		}
		pts[i] = plotter.XY{X: xs[i], Y: ys[i]}
		if ys[i] > 0 {
			minPos = math.Min(minPos, ys[i])
		}
	}
	if logY {
		if math.IsInf(minPos, 1) {
			return fmt.Errorf("render: line plot: logY but no positive y value")
		}
		floor := minPos / 10
		for i := range pts {
			if pts[i].Y <= 0 {
				pts[i].Y = floor
			}
		}
	}
	return safely(func() error {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = xlabel
		p.Y.Label.Text = ylabel
		p.Add(plotter.NewGrid())
		l, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("render: line plot: %w", err)
		}
		l.LineStyle = draw.LineStyle{Color: ClassColor(0), Width: vg.Points(1.5)}
		p.Add(l)
		if len(pts) == 1 {
			s, err := plotter.NewScatter(pts)
			if err != nil {
				return fmt.Errorf("render: line plot: %w", err)
			}
			s.GlyphStyle = draw.GlyphStyle{Color: ClassColor(0), Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
			p.Add(s)
		}
		if logY {
			p.Y.Scale = plot.LogScale{}
			p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
			if !(p.Y.Max > p.Y.Min) { // single value: span a decade
				p.Y.Min, p.Y.Max = p.Y.Min/math.Sqrt(10), p.Y.Max*math.Sqrt(10)
			}
		}
		c := vgimg.NewWith(vgimg.UseWH(pxToPt(LinePlotWidth), pxToPt(LinePlotHeight)),
			vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
		p.Draw(inset(draw.New(c), 0))
		_, err = vgimg.PngCanvas{Canvas: c}.WriteTo(w)
		return err
	})
}

// WriteLinePlot writes LinePlot's PNG to path atomically.
func WriteLinePlot(path string, xs, ys []float64, title, xlabel, ylabel string, logY bool) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		return LinePlot(w, xs, ys, title, xlabel, ylabel, logY)
	})
}

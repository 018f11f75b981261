package render

import (
	"fmt"
	"image/color"
	"io"

	"github.com/wowflow/wowflow/internal/atomicfile"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Series is one named curve of a LinesPlot.
type Series struct {
	Name string
	X, Y []float64
}

// LinesPlot draws several curves with markers and a legend on linear axes,
// e.g. a measured curve beside a published one.
func LinesPlot(w io.Writer, title, xlabel, ylabel string, series ...Series) error {
	if len(series) == 0 {
		return fmt.Errorf("render: lines plot: no series")
	}
	all := make([]plotter.XYs, len(series))
	for s, ser := range series {
		if len(ser.X) != len(ser.Y) || len(ser.X) == 0 {
			return fmt.Errorf("render: lines plot: series %q has %d x and %d y values", ser.Name, len(ser.X), len(ser.Y))
		}
		all[s] = make(plotter.XYs, len(ser.X))
		for i := range ser.X {
			if !finite(ser.X[i]) || !finite(ser.Y[i]) {
				return fmt.Errorf("render: lines plot: series %q point %d is not finite", ser.Name, i)
			}
			all[s][i] = plotter.XY{X: ser.X[i], Y: ser.Y[i]}
		}
	}
	return safely(func() error {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = xlabel
		p.Y.Label.Text = ylabel
		p.Add(plotter.NewGrid())
		p.Legend.Top = false
		p.Legend.Left = false
		for s, pts := range all {
			l, sc, err := plotter.NewLinePoints(pts)
			if err != nil {
				return fmt.Errorf("render: lines plot: %w", err)
			}
			c := ClassColor(s)
			l.LineStyle = draw.LineStyle{Color: c, Width: vg.Points(1.5)}
			sc.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
			p.Add(l, sc)
			p.Legend.Add(series[s].Name, l, sc)
		}
		c := vgimg.NewWith(vgimg.UseWH(pxToPt(LinePlotWidth), pxToPt(LinePlotHeight)),
			vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
		p.Draw(inset(draw.New(c), 0))
		_, err := vgimg.PngCanvas{Canvas: c}.WriteTo(w)
		return err
	})
}

// WriteLinesPlot writes LinesPlot's PNG to path atomically.
func WriteLinesPlot(path, title, xlabel, ylabel string, series ...Series) error {
	return atomicfile.Write(path, func(w io.Writer) error { return LinesPlot(w, title, xlabel, ylabel, series...) })
}

package render

import (
	"bytes"
	"image/png"
	"math"
	"testing"
)

func TestLinesPlot(t *testing.T) {
	var b bytes.Buffer
	err := LinesPlot(&b, "t", "x", "y", Series{Name: "a", X: []float64{0, 1, 2}, Y: []float64{1, 2, 3}}, Series{Name: "b", X: []float64{0, 2}, Y: []float64{3, 1}})
	if err != nil {
		t.Fatal(err)
	}
	im, err := png.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	if im.Bounds().Dx() != LinePlotWidth || im.Bounds().Dy() != LinePlotHeight {
		t.Errorf("size %v", im.Bounds())
	}
	for name, s := range map[string][]Series{
		"none":       nil,
		"lengths":    {{Name: "a", X: []float64{0, 1}, Y: []float64{1}}},
		"non-finite": {{Name: "a", X: []float64{0}, Y: []float64{math.NaN()}}},
	} {
		if err := LinesPlot(&b, "t", "x", "y", s...); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

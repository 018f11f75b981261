package render

import (
	"bytes"
	"image/gif"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Each GIF frame is the frame's image grid, gray level for gray level.
func TestWriteGridAnimation(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.gif")
	a := []float64{0, 1, 0.5, 0.25, 1, 1, 0, 0}
	b := []float64{1, 0, 0.5, 0.75, 0, 0, 1, 1}
	labels := []int{0, 1}
	if err := WriteGridAnimation(p, [][]float64{a, b}, labels, 2, 2, GridOptions{Scale: 1}, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gif.DecodeAll(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Image) != 2 || g.Delay[1] != 10 {
		t.Fatalf("%d frames, delays %v", len(g.Image), g.Delay)
	}
	for f, images := range [][]float64{a, b} {
		want, err := imageGrid(images, labels, 2, 2, GridOptions{Scale: 1})
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range want.Pix {
			r, _, _, _ := g.Image[f].Palette[g.Image[f].Pix[i]].RGBA()
			if uint8(r>>8) != v {
				t.Fatalf("frame %d pixel %d: gray %d, want %d", f, i, r>>8, v)
			}
		}
	}
	if err := WriteGridAnimation(p, nil, labels, 2, 2, GridOptions{}, time.Second); err == nil {
		t.Error("no frames: no error")
	}
	if err := WriteGridAnimation(p, [][]float64{a, a[:4]}, labels, 2, 2, GridOptions{}, time.Second); err == nil {
		t.Error("a short frame: no error")
	}
}

package render

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// uniformImages returns one h×wd image per label, image i filled with
// value(i).
func uniformImages(labels []int, h, wd int, value func(i int) float64) []float64 {
	x := make([]float64, len(labels)*h*wd)
	for i := range labels {
		for j := range h * wd {
			x[i*h*wd+j] = value(i)
		}
	}
	return x
}

func decodeGrid(t *testing.T, images []float64, labels []int, h, wd int, opt GridOptions) *image.Gray {
	t.Helper()
	var buf bytes.Buffer
	if err := ImageGrid(&buf, images, labels, h, wd, opt); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	g, ok := img.(*image.Gray)
	if !ok {
		t.Fatalf("decoded a %T, want *image.Gray", img)
	}
	return g
}

func TestImageGridSize(t *testing.T) {
	// Classes 0, 2 and 5 hold 1, 3 and 12 images of 4×3 pixels.
	var labels []int
	for c, n := range map[int]int{0: 1, 2: 3, 5: 12} {
		for range n {
			labels = append(labels, c)
		}
	}
	const h, wd = 4, 3
	images := uniformImages(labels, h, wd, func(int) float64 { return 0.5 })
	titles := []string{"zero", "", "two", "", "", "five-long-title"}
	for _, test := range []struct {
		name         string
		opt          GridOptions
		wantW, wantH int
	}{
		// Defaults: 10 columns, scale 2: 10*6 + 11*2 = 82 by 3*8 + 4*2 = 32.
		{"defaults", GridOptions{}, 82, 32},
		{"scale 1, 4 per row", GridOptions{Scale: 1, PerRow: 4}, 4*3 + 5*2, 3*4 + 4*2},
		{"scale 3, 20 per row", GridOptions{Scale: 3, PerRow: 20}, 12*9 + 13*2, 3*12 + 4*2},
		// Titles: 15 characters of 7 pixels plus a gap; rows at least 13 high.
		{"titles", GridOptions{Titles: titles}, 2 + 15*7 + 82, 3*13 + 4*2},
		{"titles, tall cells", GridOptions{Titles: titles, Scale: 5, PerRow: 1}, 2 + 15*7 + 15 + 2*2, 3*20 + 4*2},
	} {
		t.Run(test.name, func(t *testing.T) {
			g := decodeGrid(t, images, labels, h, wd, test.opt)
			if b := g.Bounds(); b.Dx() != test.wantW || b.Dy() != test.wantH {
				t.Errorf("picture is %d×%d, want %d×%d", b.Dx(), b.Dy(), test.wantW, test.wantH)
			}
		})
	}
}

// TestImageGridRows checks that each class gets its own row, in class
// order, holding the first PerRow images of that class in input order.
func TestImageGridRows(t *testing.T) {
	const h, wd, scale, per = 2, 2, 3, 3
	labels := []int{7, 1, 7, 7, 3, 1, 7, 7}
	// Image i has gray level 10*(i+1)/255.
	images := uniformImages(labels, h, wd, func(i int) float64 { return float64(10*(i+1)) / 255 })
	g := decodeGrid(t, images, labels, h, wd, GridOptions{Scale: scale, PerRow: per})
	cell := h * scale
	at := func(r, c int) uint8 { // centre of cell (r, c)
		x := GridGap + c*(cell+GridGap) + cell/2
		y := GridGap + r*(cell+GridGap) + cell/2
		return g.GrayAt(x, y).Y
	}
	want := [][]uint8{
		{20, 60, 0xff},   // class 1: images 1, 5; third cell empty (white)
		{50, 0xff, 0xff}, // class 3: image 4
		{10, 30, 40},     // class 7: images 0, 2, 3 (6 and 7 left out)
	}
	if b := g.Bounds(); b.Dy() != 3*cell+4*GridGap || b.Dx() != per*cell+(per+1)*GridGap {
		t.Fatalf("picture is %v", b)
	}
	for r, row := range want {
		for c, v := range row {
			if got := at(r, c); got != v {
				t.Errorf("cell (%d, %d) has gray %d, want %d", r, c, got, v)
			}
		}
	}
	// Gaps are white, and every pixel of a cell has its image's level.
	if v := g.GrayAt(0, 0).Y; v != 0xff {
		t.Errorf("corner gray %d, want white", v)
	}
	for y := range cell {
		for x := range cell {
			if v := g.GrayAt(GridGap+x, GridGap+y).Y; v != 20 {
				t.Fatalf("pixel (%d, %d) of cell (0, 0) has gray %d, want 20", x, y, v)
			}
		}
	}
}

// TestImageGridPixels checks orientation and scaling on an asymmetric image.
func TestImageGridPixels(t *testing.T) {
	// One 2×3 image (2 rows, 3 columns) with distinct values.
	img := []float64{0, 0.2, 0.4, 0.6, 0.8, 1}
	g := decodeGrid(t, img, []int{0}, 2, 3, GridOptions{Scale: 2})
	for y := range 4 {
		for x := range 6 {
			want := uint8(math.Round(img[(y/2)*3+x/2] * 255))
			if v := g.GrayAt(GridGap+x, GridGap+y).Y; v != want {
				t.Errorf("pixel (%d, %d) has gray %d, want %d", x, y, v, want)
			}
		}
	}
}

func TestImageGridClip(t *testing.T) {
	img := []float64{-0.5, math.Inf(-1), 1.5, math.Inf(1), 0, 1}
	g := decodeGrid(t, img, []int{0}, 1, 6, GridOptions{Scale: 1})
	want := []uint8{0, 0, 0xff, 0xff, 0, 0xff}
	for x, w := range want {
		if v := g.GrayAt(GridGap+x, GridGap).Y; v != w {
			t.Errorf("value %v drawn as gray %d, want %d", img[x], v, w)
		}
	}
}

// PerImageRange maps each image's own minimum to black and maximum to white,
// independently of the other images; a constant image is mid-gray.
func TestImageGridPerImageRange(t *testing.T) {
	img := []float64{
		-4, 0, 6, 16, // spans [-4, 16]
		0.25, 0.5, 0.5, 0.75, // spans [0.25, 0.75]
		3, 3, 3, 3, // constant
	}
	g := decodeGrid(t, img, []int{0, 1, 2}, 1, 4, GridOptions{Scale: 1, PerImageRange: true})
	want := [][]uint8{{0, 51, 128, 0xff}, {0, 128, 128, 0xff}, {128, 128, 128, 128}}
	for r, row := range want {
		for x, w := range row {
			if v := g.GrayAt(GridGap+x, GridGap+r*(1+GridGap)).Y; v != w {
				t.Errorf("image %d, value %v drawn as gray %d, want %d", r, img[4*r+x], v, w)
			}
		}
	}
}

func TestImageGridNonBlankAndTitles(t *testing.T) {
	labels := []int{0, 1, 1}
	images := uniformImages(labels, 5, 5, func(i int) float64 { return 0.5 })
	images[3] = 0 // one dark pixel in image 0
	titles := []string{"shirt", strings.Repeat("x", 50)}
	g := decodeGrid(t, images, labels, 5, 5, GridOptions{Titles: titles})
	levels := map[uint8]int{}
	for _, p := range g.Pix {
		levels[p]++
	}
	if levels[0] == 0 || levels[128] == 0 || levels[0xff] == 0 {
		t.Errorf("gray levels %v: want black, mid-gray and white", levels)
	}
	// The long title is cut to MaxTitleLen characters.
	titleW := GridGap + MaxTitleLen*GridCharWidth
	if g.Bounds().Dx() != titleW+2*10+3*GridGap {
		t.Errorf("width %d, want %d", g.Bounds().Dx(), titleW+2*10+3*GridGap)
	}
	// Titles are drawn in black in the title column of each row.
	for r := range 2 {
		dark := 0
		for y := GridGap + r*(GridCharHeight+GridGap); y < GridGap+(r+1)*(GridCharHeight+GridGap); y++ {
			for x := range titleW {
				if g.GrayAt(x, y).Y < 0x80 {
					dark++
				}
			}
		}
		if dark == 0 {
			t.Errorf("row %d has no title drawn", r)
		}
	}
}

func TestImageGridErrors(t *testing.T) {
	ok := uniformImages([]int{0, 1}, 2, 2, func(int) float64 { return 0.5 })
	nan := append([]float64(nil), ok...)
	nan[6] = math.NaN()
	inf := append([]float64(nil), ok...)
	inf[3] = math.Inf(1)
	for _, test := range []struct {
		name     string
		images   []float64
		labels   []int
		h, wd    int
		opt      GridOptions
		contains string
	}{
		{"NaN", nan, []int{0, 1}, 2, 2, GridOptions{}, "NaN at index 6 (image 1, row 1, column 0)"},
		{"Inf on its own range", inf, []int{0, 1}, 2, 2, GridOptions{PerImageRange: true}, "+Inf at index 3 (image 0, row 1, column 1)"},
		{"length mismatch", ok[1:], []int{0, 1}, 2, 2, GridOptions{}, "7 values for 2 images of 2×2"},
		{"no images", nil, nil, 2, 2, GridOptions{}, "no images"},
		{"zero height", nil, []int{0}, 0, 2, GridOptions{}, "image size 0×2"},
		{"negative label", ok, []int{0, -1}, 2, 2, GridOptions{}, "image 1 has negative label -1"},
		{"negative scale", ok, []int{0, 1}, 2, 2, GridOptions{Scale: -1}, "Scale = -1"},
		{"huge scale", ok, []int{0, 1}, 2, 2, GridOptions{Scale: MaxScale + 1}, "Scale = 65"},
		{"negative per row", ok, []int{0, 1}, 2, 2, GridOptions{PerRow: -2}, "PerRow = -2"},
		{"missing title", ok, []int{0, 1}, 2, 2, GridOptions{Titles: []string{"a"}}, "no title for class 1"},
		{"too large", make([]float64, 200*200), []int{0}, 200, 200, GridOptions{Scale: 64}, "more than 8192"},
	} {
		t.Run(test.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := ImageGrid(&buf, test.images, test.labels, test.h, test.wd, test.opt)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "render: image grid: ") || !strings.Contains(msg, test.contains) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line starting %q mentioning %q", msg, "render: image grid: ", test.contains)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes despite the error", buf.Len())
			}
		})
	}
}

func TestWriteImageGrid(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "grid.png")
	labels := []int{1, 0}
	images := uniformImages(labels, 3, 3, func(i int) float64 { return float64(i) })
	if err := WriteImageGrid(path, images, labels, 3, 3, GridOptions{}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// Row 0 is class 0 (image 1, white); row 1 is class 1 (image 0, black).
	c := GridGap + 3
	if g := color.GrayModel.Convert(img.At(c, c)).(color.Gray).Y; g != 0xff {
		t.Errorf("class 0 cell has gray %d, want 255", g)
	}
	if g := color.GrayModel.Convert(img.At(c, c+6+GridGap)).(color.Gray).Y; g != 0 {
		t.Errorf("class 1 cell has gray %d, want 0", g)
	}
	// Bad input writes nothing.
	bad := filepath.Join(dir, "bad.png")
	if err := WriteImageGrid(bad, []float64{math.NaN()}, []int{0}, 1, 1, GridOptions{}); err == nil {
		t.Error("no error for NaN")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries, want 1", len(ents))
	}
}

package render

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"math/bits"
	"slices"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/wowflow/wowflow/internal/atomicfile"
)

// GridOptions control an ImageGrid picture.
type GridOptions struct {
	// PerRow is the most images drawn in a row: the first PerRow images of
	// each class, in input order; the others are left out. 0 means 10;
	// otherwise it must be in [1, MaxPerRow].
	PerRow int
	// Scale is the zoom: each image pixel becomes a Scale×Scale block of
	// picture pixels. 0 means 2; otherwise it must be in [1, MaxScale].
	Scale int
	// Titles, if not nil, are the row titles indexed by class id (Titles[k]
	// for class k, typically the class name), drawn in black left of each
	// row in a 7×13-pixel font; every class present needs an entry. Titles
	// are cut to MaxTitleLen characters.
	Titles []string
	// PerImageRange draws each image on its own range, its smallest value
	// black and its largest white (a constant image mid-gray), instead of
	// clipping to [0, 1]: for images whose values leave the pixel range,
	// such as distilled sets that no constraint keeps in [0, 1]. Values must
	// then be finite.
	PerImageRange bool
}

// Limits and fixed sizes of ImageGrid pictures, in pixels where relevant.
const (
	MaxPerRow   = 1000
	MaxScale    = 64
	MaxTitleLen = 32
	// GridGap is the white gap around and between cells.
	GridGap = 2
	// GridCharWidth and GridCharHeight are the size of a title character.
	GridCharWidth  = 7
	GridCharHeight = 13
	defaultPerRow  = 10
	defaultScale   = 2
)

// ImageGrid writes to w a PNG of grayscale images: one row per class
// present in labels, rows ordered by class id, each showing the first
// opt.PerRow images of its class left to right in input order.
//
// images holds len(labels) images of h×wd pixels, row by row: image i is
// images[i*h*wd:(i+1)*h*wd]. A value v is drawn as the gray level v (0
// black, 1 white); values outside [0, 1], infinities included, are clipped
// (unless opt.PerImageRange) and NaN is an error naming its index. Labels
// must be non-negative.
//
// Cells are wd*Scale pixels wide and h*Scale high, with GridGap white
// pixels around and between them. With R rows and C = min(PerRow, largest
// class size) columns the picture is
//
//	T + C*wd*Scale + (C+1)*GridGap wide and R*rowH + (R+1)*GridGap high,
//
// where, without titles, T = 0 and rowH = h*Scale; with titles,
// T = GridGap + L*GridCharWidth for the longest title of L characters and
// rowH = max(h*Scale, GridCharHeight), cells being centred vertically. It
// is an error for either size to exceed MaxSize.
func ImageGrid(w io.Writer, images []float64, labels []int, h, wd int, opt GridOptions) error {
	img, err := imageGrid(images, labels, h, wd, opt)
	if err != nil {
		return err
	}
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("render: image grid: %w", err)
	}
	return nil
}

// WriteImageGrid writes ImageGrid's PNG to path atomically. Nothing is
// written if the input is invalid.
func WriteImageGrid(path string, images []float64, labels []int, h, wd int, opt GridOptions) error {
	img, err := imageGrid(images, labels, h, wd, opt)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) })
}

// gridLayout is the geometry of an image grid.
type gridLayout struct {
	classes       []int // class of each row
	cols          int
	cellW, cellH  int
	titleW, rowH  int
	width, height int
}

// cell returns the top-left corner of the cell in row r, column c.
func (l *gridLayout) cell(r, c int) image.Point {
	return image.Point{
		X: l.titleW + GridGap + c*(l.cellW+GridGap),
		Y: GridGap + r*(l.rowH+GridGap) + (l.rowH-l.cellH)/2,
	}
}

func imageGrid(images []float64, labels []int, h, wd int, opt GridOptions) (*image.Gray, error) {
	l, titles, err := layoutGrid(images, labels, h, wd, opt)
	if err != nil {
		return nil, err
	}
	img := image.NewGray(image.Rect(0, 0, l.width, l.height))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	row := make(map[int]int, len(l.classes)) // class → row
	for r, c := range l.classes {
		row[c] = r
	}
	used := make([]int, len(l.classes)) // images drawn per row
	d := h * wd
	scale := l.cellW / wd
	for i, c := range labels {
		r := row[c]
		if used[r] == l.cols {
			continue
		}
		p := l.cell(r, used[r])
		used[r]++
		im := images[i*d : (i+1)*d]
		lo, span := 0.0, 1.0
		if opt.PerImageRange {
			lo = slices.Min(im)
			span = slices.Max(im) - lo
		}
		for y := range h {
			for x := range wd {
				v := 0.5 // a constant image on its own range
				if span > 0 {
					v = (im[y*wd+x] - lo) / span
				}
				g := gray(v)
				for dy := range scale {
					off := img.PixOffset(p.X+x*scale, p.Y+y*scale+dy)
					for dx := range scale {
						img.Pix[off+dx] = g
					}
				}
			}
		}
	}
	if titles != nil {
		dr := font.Drawer{Dst: img, Src: image.NewUniform(color.Gray{}), Face: basicfont.Face7x13}
		ascent := basicfont.Face7x13.Metrics().Ascent.Round()
		for r, c := range l.classes {
			top := GridGap + r*(l.rowH+GridGap) + (l.rowH-GridCharHeight)/2
			dr.Dot = fixed.P(GridGap, top+ascent)
			dr.DrawString(titles[c])
		}
	}
	return img, nil
}

// layoutGrid validates the input and returns the layout and the titles cut
// to MaxTitleLen characters (nil if none).
func layoutGrid(images []float64, labels []int, h, wd int, opt GridOptions) (*gridLayout, []string, error) {
	perRow, scale := opt.PerRow, opt.Scale
	if perRow == 0 {
		perRow = defaultPerRow
	}
	if scale == 0 {
		scale = defaultScale
	}
	switch {
	case perRow < 1 || perRow > MaxPerRow:
		return nil, nil, fmt.Errorf("render: image grid: PerRow = %d, want 1 to %d (0 for %d)", opt.PerRow, MaxPerRow, defaultPerRow)
	case scale < 1 || scale > MaxScale:
		return nil, nil, fmt.Errorf("render: image grid: Scale = %d, want 1 to %d (0 for %d)", opt.Scale, MaxScale, defaultScale)
	case h <= 0 || wd <= 0 || h > MaxSize || wd > MaxSize:
		return nil, nil, fmt.Errorf("render: image grid: image size %d×%d, want 1 to %d pixels each way", h, wd, MaxSize)
	case len(labels) == 0:
		return nil, nil, fmt.Errorf("render: image grid: no images")
	}
	if hi, lo := bits.Mul64(uint64(len(labels)), uint64(h*wd)); hi != 0 || lo != uint64(len(images)) {
		return nil, nil, fmt.Errorf("render: image grid: %d values for %d images of %d×%d pixels", len(images), len(labels), h, wd)
	}
	d := h * wd
	for i, v := range images {
		if math.IsNaN(v) || opt.PerImageRange && math.IsInf(v, 0) {
			return nil, nil, fmt.Errorf("render: image grid: %v at index %d (image %d, row %d, column %d)", v, i, i/d, i%d/wd, i%wd)
		}
	}
	count := map[int]int{}
	for i, c := range labels {
		if c < 0 {
			return nil, nil, fmt.Errorf("render: image grid: image %d has negative label %d", i, c)
		}
		count[c]++
	}
	l := &gridLayout{cellW: wd * scale, cellH: h * scale}
	for c, n := range count {
		l.classes = append(l.classes, c)
		l.cols = max(l.cols, min(n, perRow))
	}
	slices.Sort(l.classes)
	l.rowH = l.cellH

	var titles []string
	if opt.Titles != nil {
		titles = make([]string, len(opt.Titles))
		for k, s := range opt.Titles {
			if utf8.RuneCountInString(s) > MaxTitleLen {
				s = string([]rune(s)[:MaxTitleLen])
			}
			titles[k] = s
		}
		longest := 0
		for _, c := range l.classes {
			if c >= len(titles) {
				return nil, nil, fmt.Errorf("render: image grid: no title for class %d (%d titles)", c, len(titles))
			}
			longest = max(longest, utf8.RuneCountInString(titles[c]))
		}
		l.titleW = GridGap + longest*GridCharWidth
		l.rowH = max(l.rowH, GridCharHeight)
	}
	// Sizes are bounded (cells by MaxSize*MaxScale, counts by MaxPerRow
	// and len(labels)), so the products below cannot overflow.
	width := int64(l.titleW) + int64(l.cols)*int64(l.cellW) + int64(l.cols+1)*GridGap
	height := int64(len(l.classes))*int64(l.rowH) + int64(len(l.classes)+1)*GridGap
	if width > MaxSize || height > MaxSize {
		return nil, nil, fmt.Errorf("render: image grid: picture would be %d×%d pixels, more than %d each way (%d rows of %d columns)", width, height, MaxSize, len(l.classes), l.cols)
	}
	l.width, l.height = int(width), int(height)
	return l, titles, nil
}

// gray maps v in [0, 1] to a gray level, clipping values outside.
func gray(v float64) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 1:
		return 0xff
	}
	return uint8(math.Round(v * 255))
}

package render

import (
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"io"
	"time"

	"github.com/wowflow/wowflow/internal/atomicfile"
)

// WriteGridAnimation writes to path, atomically, an animated GIF whose
// frames are the ImageGrid pictures of frames[f] (each holding len(labels)
// images of h×wd pixels, with the same labels), shown delay apart, in 256
// gray levels. All frames must give pictures of one size.
func WriteGridAnimation(path string, frames [][]float64, labels []int, h, wd int, opt GridOptions, delay time.Duration) error {
	if len(frames) == 0 {
		return fmt.Errorf("render: grid animation: no frames")
	}
	pal := make(color.Palette, 256)
	for i := range pal {
		pal[i] = color.Gray{Y: uint8(i)}
	}
	g := &gif.GIF{}
	for f, images := range frames {
		img, err := imageGrid(images, labels, h, wd, opt)
		if err != nil {
			return fmt.Errorf("render: grid animation: frame %d: %w", f, err)
		}
		if f > 0 && img.Bounds() != g.Image[0].Bounds() {
			return fmt.Errorf("render: grid animation: frame %d is %v, frame 0 %v", f, img.Bounds(), g.Image[0].Bounds())
		}
		p := image.NewPaletted(img.Bounds(), pal)
		copy(p.Pix, img.Pix) // gray level i is palette entry i; both are one byte per pixel, same stride
		g.Image = append(g.Image, p)
		g.Delay = append(g.Delay, int(delay/(10*time.Millisecond)))
	}
	return atomicfile.Write(path, func(w io.Writer) error { return gif.EncodeAll(w, g) })
}

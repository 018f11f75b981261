package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// USPS: the U.S. Postal Service digits (Hull (1994), A database for
// handwritten text recognition research), the standard split of 7291
// training and 2007 test images of 16×16 pixels in [−1, 1], as gzipped text
// (one image per line: the digit, then 256 values, row-major). A copy ships
// inside this package (data/usps/, 2.2 MB, embedded in the binary), so
// --dataset usps works on any machine; the directory named by the
// environment variable USPSDirEnv, if set, is read instead (files
// zip.train.gz and zip.test.gz). Load converts the images as the paper's
// code does through torchvision: pixel = (v + 1)/2 ∈ [0, 1], then a bilinear
// resize to 28×28 with half-pixel centres (PyTorch's align_corners = false),
// so that USPS lives in MNIST's 784-dimensional space. (torchvision also
// rounds the pixels down to multiples of 1/255 before resizing; we do not.)
// The classes are unbalanced: the training set has 542 images of class 8
// and at most 1194 of a class.
const (
	// USPSDirEnv names the environment variable of a directory holding
	// zip.train.gz and zip.test.gz to read instead of the shipped copy.
	USPSDirEnv = "WOWFLOW_USPS_DIR"
	// USPSSize is the side of the images Load returns.
	USPSSize = 28
	uspsSide = 16
)

// The shipped copy and its checksums (from ../shared/data/usps/README.md).
var (
	//go:embed usps/zip.train.gz
	uspsTrain []byte
	//go:embed usps/zip.test.gz
	uspsTest []byte
	uspsSHA  = map[string]string{
		"zip.train.gz": "66ebf231ab51f2cf6ac1a892d0f98ccffee1079d7a5db638c1f11f366046ca16",
		"zip.test.gz":  "8dacc3c6e136af6c3488de9e5113a7daf140c8c2f1f0b61c54ee02f03f1a962f",
	}
	uspsRows = map[string]int{"zip.train.gz": 7291, "zip.test.gz": 2007}
)

// loadUSPS returns the split of USPS, converted to 28×28 pixels in [0, 1].
func loadUSPS(split string) (*Images, error) {
	name := "zip." + split + ".gz"
	raw, src := uspsTrain, "the copy shipped in package data (data/usps/"+name+")"
	if split == "test" {
		raw = uspsTest
	}
	if dir := os.Getenv(USPSDirEnv); dir != "" {
		src = filepath.Join(dir, name)
		b, err := os.ReadFile(src)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("data: usps: %w: %s is missing: put zip.train.gz and zip.test.gz in $%s=%s, or unset %s to use the shipped copy",
				ErrNotInstalled, src, USPSDirEnv, dir, USPSDirEnv)
		}
		if err != nil {
			return nil, fmt.Errorf("data: usps: %w", err)
		}
		raw = b
	}
	sum := sha256.Sum256(raw)
	if got := hex.EncodeToString(sum[:]); got != uspsSHA[name] {
		return nil, fmt.Errorf("data: usps: %s has SHA-256 %s, want %s (the standard split; see data/usps)", src, got, uspsSHA[name])
	}
	x16, labels, err := ReadUSPS(bytes.NewReader(raw), src)
	if err != nil {
		return nil, err
	}
	if len(labels) != uspsRows[name] {
		return nil, fmt.Errorf("data: usps: %s: %w: %d images, want %d", src, ErrShape, len(labels), uspsRows[name])
	}
	n := len(labels)
	x := make([]float64, n*USPSSize*USPSSize)
	for i := 0; i < n; i++ {
		img := x16[i*uspsSide*uspsSide : (i+1)*uspsSide*uspsSide]
		for j, v := range img {
			img[j] = (v + 1) / 2
		}
		ResizeBilinear(x[i*USPSSize*USPSSize:(i+1)*USPSSize*USPSSize], USPSSize, USPSSize, img, uspsSide, uspsSide)
	}
	return &Images{X: x, Labels: labels, N: n, D: USPSSize * USPSSize, H: USPSSize, W: USPSSize, Classes: 10}, nil
}

// ReadUSPS reads USPS-format gzipped text from r (name is used in errors):
// one image per line, the digit 0–9 (written 0.0000 … 9.0000) followed by
// 256 values in [−1, 1]. It returns the values as they are (N×256,
// row-major) and the labels. Errors name the line.
func ReadUSPS(r io.Reader, name string) (x []float64, labels []int, err error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %s: %w", name, err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 1+uspsSide*uspsSide {
			return nil, nil, fmt.Errorf("data: %s: line %d: %w: %d fields, want a label and %d values", name, line, ErrShape, len(f), uspsSide*uspsSide)
		}
		l, err := strconv.ParseFloat(f[0], 64)
		if err != nil || l != math.Trunc(l) || l < 0 || l > 9 {
			return nil, nil, fmt.Errorf("data: %s: line %d: %w: label %q, want a digit 0–9", name, line, ErrLabel, f[0])
		}
		labels = append(labels, int(l))
		for j, s := range f[1:] {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || !(v >= -1 && v <= 1) {
				return nil, nil, fmt.Errorf("data: %s: line %d, value %d: %w: %q, want a number in [−1, 1]", name, line, j, ErrPixel, s)
			}
			x = append(x, v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("data: %s: line %d: %w", name, line+1, err)
	}
	if len(labels) == 0 {
		return nil, nil, fmt.Errorf("data: %s: %w: no images", name, ErrShape)
	}
	return x, labels, nil
}

// ResizeBilinear writes into dst (h×w, row-major) the bilinear resize of
// src (sh×sw) with half-pixel centres, as PyTorch's interpolate with
// align_corners = false (and PIL's bilinear upscaling): output pixel (i, j)
// samples src at ((i + ½)·sh/h − ½, (j + ½)·sw/w − ½), clamped to the image.
func ResizeBilinear(dst []float64, h, w int, src []float64, sh, sw int) {
	type tap struct {
		lo, hi int
		t      float64
	}
	taps := func(n, sn int) []tap {
		out := make([]tap, n)
		for i := range out {
			s := math.Max(0, (float64(i)+0.5)*float64(sn)/float64(n)-0.5)
			lo := min(int(s), sn-1)
			out[i] = tap{lo, min(lo+1, sn-1), s - float64(lo)}
		}
		return out
	}
	ty, tx := taps(h, sh), taps(w, sw)
	for i, y := range ty {
		for j, x := range tx {
			top := src[y.lo*sw+x.lo]*(1-x.t) + src[y.lo*sw+x.hi]*x.t
			bot := src[y.hi*sw+x.lo]*(1-x.t) + src[y.hi*sw+x.hi]*x.t
			dst[i*w+j] = top*(1-y.t) + bot*y.t
		}
	}
}

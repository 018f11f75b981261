package render

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clouds returns C Gaussian clouds of n points each, class k centred on a
// circle of radius 3, shifted by (dx, 0).
func clouds(C, n int, dx float64, seed uint64) Points {
	r := rand.New(rand.NewPCG(seed, 1))
	var p Points
	for k := range C {
		a := 2 * math.Pi * float64(k) / float64(C)
		for range n {
			p.X = append(p.X, [2]float64{3*math.Cos(a) + 0.4*r.NormFloat64() + dx, 3*math.Sin(a) + 0.4*r.NormFloat64()})
			p.Label = append(p.Label, k)
		}
	}
	return p
}

// flow returns nf frames interpolating linearly from src to dst.
func flow(src, dst Points, nf int) []Points {
	frames := make([]Points, nf)
	for f := range frames {
		t := float64(f) / float64(max(1, nf-1))
		p := Points{X: make([][2]float64, len(src.X)), Label: src.Label}
		for i := range p.X {
			p.X[i] = [2]float64{(1-t)*src.X[i][0] + t*dst.X[i][0], (1-t)*src.X[i][1] + t*dst.X[i][1]}
		}
		frames[f] = p
	}
	return frames
}

func colorSet(img image.Image) map[color.RGBA]int {
	s := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, a := img.At(x, y).RGBA()
			s[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bb >> 8), uint8(a >> 8)}]++
		}
	}
	return s
}

func TestScatterPNG(t *testing.T) {
	const C = 4
	p := clouds(C, 60, 0, 1)
	tgt := clouds(C, 60, 4, 2)
	for _, tc := range []struct {
		name         string
		opt          Options
		wantW, wantH int
	}{
		{"default size", Options{Title: "flow", Target: &tgt}, 480, 480},
		{"custom size legend", Options{Title: "flow", Width: 300, Height: 200, Legend: true}, 300, 200},
		{"explicit bounds", Options{Bounds: &[4]float64{-1, 1, -1, 1}, Target: &tgt}, 480, 480},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Scatter(&buf, p, tc.opt); err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != tc.wantW || b.Dy() != tc.wantH {
				t.Fatalf("size %v, want %d×%d", b, tc.wantW, tc.wantH)
			}
			cs := colorSet(img)
			if len(cs) < 20 {
				t.Errorf("only %d distinct colours: image looks blank", len(cs))
			}
			if tc.opt.Bounds != nil {
				return // most points are clipped away
			}
			for k := range C {
				if cs[ClassColor(k)] == 0 {
					t.Errorf("class %d colour %v absent", k, ClassColor(k))
				}
				if tc.opt.Target != nil && cs[targetColor(k)] == 0 {
					t.Errorf("target colour of class %d %v absent", k, targetColor(k))
				}
			}
		})
	}
}

func TestAnimateGIF(t *testing.T) {
	const C, nf = 3, 6
	src, dst := clouds(C, 40, 0, 3), clouds(C, 40, 5, 4)
	frames := flow(src, dst, nf)
	frames = append(frames, frames[nf-1]) // last frame repeated: no motion
	opt := Options{Title: "anim", Width: 360, Height: 300, Target: &dst, Captions: StepCaptions(nf+1, 0, 10)}
	var buf bytes.Buffer
	if err := Animate(&buf, frames, opt, 80*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	g, err := gif.DecodeAll(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Image) != nf+1 {
		t.Fatalf("%d frames, want %d", len(g.Image), nf+1)
	}
	if g.Config.Width != 360 || g.Config.Height != 300 {
		t.Fatalf("config size %d×%d", g.Config.Width, g.Config.Height)
	}
	for f, img := range g.Image {
		if img.Bounds() != image.Rect(0, 0, 360, 300) {
			t.Fatalf("frame %d bounds %v", f, img.Bounds())
		}
		if g.Delay[f] != 8 {
			t.Errorf("frame %d delay %d, want 8", f, g.Delay[f])
		}
		cs := colorSet(img)
		for k := range C {
			if cs[ClassColor(k)] == 0 {
				t.Errorf("frame %d: class %d colour absent", f, k)
			}
		}
		if f == 0 && cs[targetColor(0)] == 0 { // later frames cover the target
			t.Errorf("frame %d: target colour absent", f)
		}
	}
	plotArea := func(img *image.Paletted) []byte { return img.Pix[:(img.Rect.Dy()-30)*img.Stride] }
	for f := 1; f < nf; f++ {
		if bytes.Equal(plotArea(g.Image[f]), plotArea(g.Image[f-1])) {
			t.Errorf("frames %d and %d identical although points moved", f-1, f)
		}
	}
	// Last two frames: same points, different captions.
	a, b := g.Image[nf-1], g.Image[nf]
	if !bytes.Equal(plotArea(a), plotArea(b)) {
		t.Errorf("plot areas of frames with identical points differ")
	}
	if bytes.Equal(a.Pix, b.Pix) {
		t.Errorf("frames with different captions are identical")
	}
}

func TestAnimateFixedBounds(t *testing.T) {
	// A single point moving right: its pixel x must increase with fixed
	// bounds (would stay centred if bounds were recomputed per frame).
	var frames []Points
	for f := range 5 {
		frames = append(frames, Points{X: [][2]float64{{float64(f), 0}, {0, 1}, {4, -1}}, Label: []int{0, 1, 1}})
	}
	g, err := animation(frames, Options{Width: 200, Height: 200}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if g.Delay[0] != 10 {
		t.Errorf("default delay %d, want 10", g.Delay[0])
	}
	prev := -1
	idx := uint8(palClass0)
	for f, img := range g.Image {
		sum, n := 0, 0
		for y := 0; y < img.Rect.Dy(); y++ {
			for x := 0; x < img.Rect.Dx(); x++ {
				if img.Pix[y*img.Stride+x] == idx {
					sum += x
					n++
				}
			}
		}
		if n == 0 {
			t.Fatalf("frame %d: point not drawn", f)
		}
		if cx := sum / n; cx <= prev {
			t.Errorf("frame %d: centre x %d not right of previous %d", f, cx, prev)
		} else {
			prev = cx
		}
	}
}

func TestErrors(t *testing.T) {
	ok := clouds(2, 5, 0, 5)
	bad := func(mut func(p *Points)) Points {
		p := Points{X: append([][2]float64(nil), ok.X...), Label: append([]int(nil), ok.Label...)}
		mut(&p)
		return p
	}
	nan := bad(func(p *Points) { p.X[3][1] = math.NaN() })
	inf := bad(func(p *Points) { p.X[4][0] = math.Inf(-1) })
	short := bad(func(p *Points) { p.Label = p.Label[:len(p.Label)-1] })
	neg := bad(func(p *Points) { p.Label[2] = -1 })
	for _, tc := range []struct {
		name   string
		frames []Points
		opt    Options
		want   []string
	}{
		{"nan", []Points{ok, ok, nan}, Options{}, []string{"frame 2", "point 3"}},
		{"inf", []Points{inf}, Options{}, []string{"frame 0", "point 4"}},
		{"len mismatch", []Points{ok, short}, Options{}, []string{"frame 1", "len(Label)"}},
		{"negative label", []Points{neg}, Options{}, []string{"frame 0", "point 2", "negative label"}},
		{"no frames", nil, Options{}, []string{"no frames"}},
		{"target nan", []Points{ok}, Options{Target: &nan}, []string{"target", "point 3"}},
		{"captions", []Points{ok, ok}, Options{Captions: []string{"a"}}, []string{"1 captions for 2 frames"}},
		{"bounds empty", []Points{ok}, Options{Bounds: &[4]float64{1, 0, 0, 1}}, []string{"bounds"}},
		{"bounds nan", []Points{ok}, Options{Bounds: &[4]float64{0, 1, math.NaN(), 1}}, []string{"bounds"}},
		{"size", []Points{ok}, Options{Width: 10, Height: 10}, []string{"size"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := func(fn string, err error, want []string) {
				t.Helper()
				if err == nil {
					t.Fatalf("%s: no error", fn)
				}
				for _, w := range want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s: error %q does not mention %q", fn, err, w)
					}
				}
			}
			check("Animate", Animate(&bytes.Buffer{}, tc.frames, tc.opt, time.Second), tc.want)
			// Scatter on the offending frame (last), with "points" for "frame N".
			if len(tc.frames) > 0 && tc.name != "captions" {
				want := make([]string, len(tc.want))
				for i, w := range tc.want {
					if strings.HasPrefix(w, "frame ") {
						w = "points"
					}
					want[i] = w
				}
				check("Scatter", Scatter(&bytes.Buffer{}, tc.frames[len(tc.frames)-1], tc.opt), want)
			}
		})
	}
}

func TestDegenerateInputs(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Points
	}{
		{"empty", Points{}},
		{"single point", Points{X: [][2]float64{{1, 2}}, Label: []int{0}}},
		{"coincident", Points{X: [][2]float64{{0, 0}, {0, 0}}, Label: []int{0, 13}}},
		{"huge", Points{X: [][2]float64{{-1e300, 1e300}, {1e300, -1e300}}, Label: []int{0, 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Scatter(&bytes.Buffer{}, tc.p, Options{Width: 100, Height: 100}); err != nil {
				t.Logf("Scatter: %v", err) // an error is acceptable, a panic is not
			}
			if err := Animate(&bytes.Buffer{}, []Points{tc.p, tc.p}, Options{Width: 100, Height: 100}, 0); err != nil {
				t.Logf("Animate: %v", err)
			}
		})
	}
}

func TestLinePlot(t *testing.T) {
	xs := []float64{0, 1, 2, 3, 4, 5}
	for _, tc := range []struct {
		name    string
		ys      []float64
		logY    bool
		wantErr string
	}{
		{"linear", []float64{5, 3, 2, 1, 0, -1}, false, ""},
		{"log", []float64{10, 1, 0.1, 0.01, 1e-3, 1e-4}, true, ""},
		{"log clamps non-positive", []float64{10, 1, 0, -3, 0.1, 0.01}, true, ""},
		{"log all non-positive", []float64{0, -1, 0, 0, 0, 0}, true, "no positive"},
		{"nan", []float64{1, 2, math.NaN(), 1, 1, 1}, false, "point 2"},
		{"length", []float64{1, 2}, false, "len(xs)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := LinePlot(&buf, xs, tc.ys, "loss", "step", "loss", tc.logY)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != LinePlotWidth || b.Dy() != LinePlotHeight {
				t.Fatalf("size %v", b)
			}
			cs := colorSet(img)
			if len(cs) < 10 || cs[ClassColor(0)] == 0 {
				t.Errorf("line plot looks blank (%d colours, line colour %d px)", len(cs), cs[ClassColor(0)])
			}
		})
	}
	if err := LinePlot(&bytes.Buffer{}, nil, nil, "", "", "", false); err == nil {
		t.Error("empty line plot: no error")
	}
	if err := LinePlot(&bytes.Buffer{}, []float64{1}, []float64{2}, "", "", "", true); err != nil {
		t.Errorf("single point log plot: %v", err)
	}
}

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	if d := os.Getenv("RENDER_SAMPLES"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		dir = d
	}
	src, dst := clouds(5, 48, 0, 6), clouds(5, 48, 6, 7)
	frames := flow(src, dst, 30)
	if err := WriteScatter(filepath.Join(dir, "scatter.png"), src, Options{Title: "step 0", Target: &dst, Legend: true}); err != nil {
		t.Fatal(err)
	}
	if err := WriteAnimation(filepath.Join(dir, "flow.gif"), frames, Options{Title: "WoW flow", Width: 360, Height: 360, Target: &dst, Captions: StepCaptions(len(frames), 0, 10)}, 60*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	loss := make([]float64, 100)
	steps := make([]float64, 100)
	for i := range loss {
		steps[i] = float64(i)
		loss[i] = 5 * math.Exp(-float64(i)/15)
	}
	loss[99] = 0
	if err := WriteLinePlot(filepath.Join(dir, "loss.png"), steps, loss, "loss", "step", "W2²", true); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"scatter.png", "loss.png"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		_, err = png.Decode(f)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	f, err := os.Open(filepath.Join(dir, "flow.gif"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := gif.DecodeAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Image) != len(frames) {
		t.Errorf("flow.gif: %d frames, want %d", len(g.Image), len(frames))
	}
	// A failing write leaves no file behind.
	bad := filepath.Join(dir, "bad.png")
	if err := WriteScatter(bad, Points{X: [][2]float64{{math.NaN(), 0}}, Label: []int{0}}, Options{}); err == nil {
		t.Error("WriteScatter with NaN: no error")
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("bad.png exists after failed write (stat err %v)", err)
	}
}

func BenchmarkAnimate(b *testing.B) {
	src, dst := clouds(6, 40, 0, 8), clouds(6, 40, 6, 9) // 240 points
	frames := flow(src, dst, 50)
	opt := Options{Title: "bench", Width: 360, Height: 360, Target: &dst, Captions: StepCaptions(50, 0, 1)}
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := Animate(&buf, frames, opt, 50*time.Millisecond); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "gif-bytes")
}

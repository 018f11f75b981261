package data

import (
	"bytes"
	"compress/gzip"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The documented PyTorch example of bilinear upsampling with
// align_corners=False (torch.nn.Upsample docs: [[1, 2], [3, 4]], scale 2),
// a constant image, and a linear ramp, which bilinear interpolation
// reproduces exactly inside the clamped range.
func TestResizeBilinear(t *testing.T) {
	got := make([]float64, 16)
	ResizeBilinear(got, 4, 4, []float64{1, 2, 3, 4}, 2, 2)
	want := []float64{1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-15 {
			t.Fatalf("2×2 → 4×4: %v, want %v (torch.nn.Upsample docs)", got, want)
		}
	}
	src := make([]float64, 16*16)
	for i := range src {
		src[i] = float64(i % 16) // value = column
	}
	out := make([]float64, 28*28)
	ResizeBilinear(out, 28, 28, src, 16, 16)
	for i := 0; i < 28; i++ {
		for j := 0; j < 28; j++ {
			s := math.Min(15, math.Max(0, (float64(j)+0.5)*16/28-0.5))
			if math.Abs(out[i*28+j]-s) > 1e-12 {
				t.Fatalf("ramp at (%d, %d): %v, want %v", i, j, out[i*28+j], s)
			}
		}
	}
	for i := range src {
		src[i] = 0.3
	}
	ResizeBilinear(out, 28, 28, src, 16, 16)
	for _, v := range out {
		if math.Abs(v-0.3) > 1e-15 {
			t.Fatalf("constant image: %v", v)
		}
	}
}

// The shipped USPS: the standard split, its class counts (from the data's
// README), pixels in [0, 1], 28×28.
func TestLoadUSPS(t *testing.T) {
	for _, c := range []struct {
		split  string
		counts []int
	}{
		{"train", []int{1194, 1005, 731, 658, 652, 556, 664, 645, 542, 644}},
		{"test", []int{359, 264, 198, 166, 200, 160, 170, 147, 166, 177}},
	} {
		im, err := Load("usps", c.split)
		if err != nil {
			t.Fatal(err)
		}
		if err := im.Validate(); err != nil {
			t.Fatal(err)
		}
		counts := make([]int, 10)
		for _, l := range im.Labels {
			counts[l]++
		}
		for k := range counts {
			if counts[k] != c.counts[k] {
				t.Errorf("%s: class %d has %d images, want %d", c.split, k, counts[k], c.counts[k])
			}
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range im.X {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		if im.H != 28 || im.W != 28 || im.Classes != 10 || lo != 0 || hi != 1 {
			t.Errorf("%s: %d×%d, %d classes, pixels in [%v, %v]", c.split, im.H, im.W, im.Classes, lo, hi)
		}
	}
	// A balanced sample beyond the smallest class (class 8: 542; class 5: 556)
	// is an error naming the class.
	im, _ := Load("usps", "train")
	if _, err := BalancedSample(im, 600, rand.New(rand.NewPCG(1, 2))); !errors.Is(err, ErrTooFew) || !strings.Contains(err.Error(), "class 5") {
		t.Errorf("600 per class: %v", err)
	}
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

func TestReadUSPSErrors(t *testing.T) {
	row := func(label string, v string, n int) string {
		return label + strings.Repeat(" "+v, n) + "\n"
	}
	x, l, err := ReadUSPS(bytes.NewReader(gzipped(t, row("3.0000", "-1", 256)+row("7.0000", "1.0000", 256))), "ok")
	if err != nil || len(l) != 2 || l[1] != 7 || len(x) != 512 || x[300] != 1 {
		t.Fatalf("two rows: %d labels, %d values, %v", len(l), len(x), err)
	}
	for name, c := range map[string]struct {
		in   []byte
		want string
	}{
		"short row":   {gzipped(t, row("1.0000", "0", 255)), "line 1"},
		"bad label":   {gzipped(t, row("1.5000", "0", 256)), "label"},
		"label 10":    {gzipped(t, row("10.0000", "0", 256)), "label"},
		"value range": {gzipped(t, row("1.0000", "0", 255)[:0]+"1.0000"+strings.Repeat(" 0", 200)+" 1.5"+strings.Repeat(" 0", 55)+"\n"), "value 200"},
		"NaN":         {gzipped(t, "2.0000 NaN"+strings.Repeat(" 0", 255)+"\n"), "value 0"},
		"not gzip":    {[]byte("plain text"), "gzip"},
		"empty":       {gzipped(t, ""), "no images"},
	} {
		if _, _, err := ReadUSPS(bytes.NewReader(c.in), "f.gz"); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "f.gz") {
			t.Errorf("%s: %v, want an error naming f.gz and %q", name, err, c.want)
		}
	}
}

// WOWFLOW_USPS_DIR: a directory without the files is an error saying what
// to do; a modified file is refused by its checksum.
func TestUSPSDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(USPSDirEnv, dir)
	if _, err := Load("usps", "test"); !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), USPSDirEnv) {
		t.Errorf("empty directory: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "zip.test.gz"), gzipped(t, "1.0000"+strings.Repeat(" 0", 256)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load("usps", "test"); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("another file: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "zip.test.gz"), uspsTest, 0o644); err != nil {
		t.Fatal(err)
	}
	if im, err := Load("usps", "test"); err != nil || im.N != 2007 {
		t.Errorf("a copy of the standard file: %v", err)
	}
}

// ReadUSPS never panics, and what it accepts is consistent.
func FuzzReadUSPS(f *testing.F) {
	f.Add([]byte("3.0000" + strings.Repeat(" -1", 256) + "\n"))
	f.Add([]byte("1 0 0\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write(text)
		w.Close()
		x, labels, err := ReadUSPS(&b, "fuzz")
		if err != nil {
			return
		}
		if len(x) != 256*len(labels) || len(labels) == 0 {
			t.Fatalf("%d values for %d labels", len(x), len(labels))
		}
		for _, l := range labels {
			if l < 0 || l > 9 {
				t.Fatalf("label %d", l)
			}
		}
		for _, v := range x {
			if !(v >= -1 && v <= 1) {
				t.Fatalf("value %v", v)
			}
		}
	})
}

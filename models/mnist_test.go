package models

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/wowflow/wowflow/internal/cputime"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wowflow/wowflow/data"
	"github.com/wowflow/wowflow/graph"
)

// mnist returns a balanced sample of perClass MNIST training images per
// class and the first nTest test images, or skips the test if MNIST is not
// installed.
func mnist(tb testing.TB, perClass, nTest int) (train, test *data.Images) {
	tb.Helper()
	tr, err := data.Load("mnist", "train")
	if errors.Is(err, data.ErrNotInstalled) {
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	te, err := data.Load("mnist", "test")
	if err != nil {
		tb.Fatal(err)
	}
	train, err = data.BalancedSample(tr, perClass, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		tb.Fatal(err)
	}
	te.N = min(nTest, te.N)
	te.X, te.Labels = te.X[:te.N*te.D], te.Labels[:te.N]
	return train, te
}

// LeNet trained with the paper's protocol (AdamW, lr 3e-4, batch 64) for 25
// epochs on 100 MNIST images per class. It reached 89% test accuracy when
// this test was written (86% after 15 epochs); the bound 80% is a floor that
// any working LeNet and trainer clear, while a broken gradient or data
// layout stays far below it (chance is 10%).
func TestLeNetMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on MNIST")
	}
	train, test := mnist(t, 100, 2000)
	m, err := NewLeNet(train.H, train.W, train.Classes, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Train(m, train.X, train.Labels, TrainConfig{Epochs: 25, WeightDecay: 0.01, Seed: 5, Progress: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ev, err := Evaluate(m, test.X, test.Labels)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v: %d epochs on %d images in %.1fs (%.2fs/epoch); test accuracy %.4f on %d images (evaluated in %v)",
		m, res.Epochs, train.N, res.Seconds, res.Seconds/float64(res.Epochs), ev.Accuracy, test.N, time.Since(start).Round(time.Millisecond))
	if ev.Accuracy <= 0.8 {
		t.Errorf("test accuracy %v, want > 0.8", ev.Accuracy)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

// BenchmarkLeNetEpoch times one training epoch of LeNet on 2000 MNIST
// images with batch 64 (32 steps, the last of 16 images).
func BenchmarkLeNetEpoch(b *testing.B) {
	train, _ := mnist(b, 200, 1)
	for _, f64 := range []bool{false, true} {
		name := "float32"
		if f64 {
			name = "float64"
		}
		b.Run(fmt.Sprintf("%s/n=%d,batch=64", name, train.N), func(b *testing.B) {
			m, err := NewLeNet(train.H, train.W, train.Classes, rand.New(rand.NewPCG(3, 4)))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := Train(m, train.X, train.Labels, TrainConfig{Epochs: 1, WeightDecay: 0.01, Seed: uint64(i), Float64: f64}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEvaluate times Evaluate of LeNet on the 10000 MNIST test images.
func BenchmarkEvaluate(b *testing.B) {
	_, test := mnist(b, 1, 10000)
	m, err := NewLeNet(test.H, test.W, test.Classes, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("lenet/n=%d", test.N), func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := Evaluate(m, test.X, test.Labels); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkInputGradient times the classifier loss of a flow: LeNet's
// logits and the gradient of the cross-entropy with respect to 2000
// particles (28×28 images), in an external graph.
func BenchmarkInputGradient(b *testing.B) {
	const n, h = 2000, 28
	r := rand.New(rand.NewPCG(5, 6))
	m, err := NewLeNet(h, h, 10, r)
	if err != nil {
		b.Fatal(err)
	}
	x := make([]float64, n*h*h)
	for i := range x {
		x[i] = r.Float64()
	}
	labels, weights := make([]int, n), make([]float64, n)
	for i := range labels {
		labels[i], weights[i] = i%10, 1.0/n
	}
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		b.Run(fmt.Sprintf("%v/n=%d", dt, n), func(b *testing.B) {
			g := gorgonia.NewGraph()
			xn := gorgonia.NewMatrix(g, dt, gorgonia.WithShape(n, h*h), gorgonia.WithName("x"),
				gorgonia.WithValue(graph.DenseFrom(dt, append([]float64(nil), x...), n, h*h)))
			z, err := m.Logits(xn)
			if err != nil {
				b.Fatal(err)
			}
			loss, err := graph.CrossEntropy(z, labels, weights)
			if err != nil {
				b.Fatal(err)
			}
			grads, err := gorgonia.Grad(loss, xn)
			if err != nil {
				b.Fatal(err)
			}
			vm := gorgonia.NewTapeMachine(g.ExactSubgraphRoots(loss, grads[0]))
			defer vm.Close()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				vm.Reset()
				if err := vm.RunAll(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// epochFLOPs counts the floating-point operations of one training epoch of
// nt on n rows: per row, 2·O·Z·P per convolution and 2·in·out per dense
// layer forward, three times that for forward and backward (the first
// layer's input gradient, which training skips, included).
func epochFLOPs(nt *Net, n int) float64 {
	f := 0.0
	for _, l := range nt.layers {
		switch l.kind {
		case kConv:
			z := nt.params[l.param].cols
			f += 2 * float64(l.out*z*l.h*l.w)
		case kDense:
			f += 2 * float64(l.in*l.out)
		}
	}
	return 3 * f * float64(n)
}

// BenchmarkTrainEpochEngine times training in float32 on the engine
// (Train) and on the gorgonia graph (trainGraph), in the same invocation:
// LeNet on 2050 MNIST images with batch 64 (W5 of issue 16: 33 steps, the
// last of 2 images), ConvNet-32 and ConvNet-128 (depth 3) on 100 images
// with batch 256 (one step per epoch). Each op is one Train call of
// epochs epochs (so that setting up, as in a real training, is amortised);
// it reports ms/epoch, CPU-ms/epoch (the process's CPU time: on a machine
// shared with other jobs, wall time also counts waits) and GFLOP/s
// (epochFLOPs over the wall time).
func BenchmarkTrainEpochEngine(b *testing.B) {
	train, _ := mnist(b, 205, 1)
	sub := func(n int) ([]float64, []int) { return train.X[:n*train.D], train.Labels[:n] }
	const epochs = 5
	for _, c := range []struct {
		name  string
		n     int
		batch int
		mk    func() (*Net, error)
	}{
		{"lenet", 2050, 64, func() (*Net, error) { return NewLeNet(28, 28, 10, rand.New(rand.NewPCG(3, 4))) }},
		{"convnet32", 100, 256, func() (*Net, error) { return NewConvNet(28, 28, 32, 3, 10, rand.New(rand.NewPCG(3, 4))) }},
		{"convnet128", 100, 256, func() (*Net, error) { return NewConvNet(28, 28, 128, 3, 10, rand.New(rand.NewPCG(3, 4))) }},
	} {
		for _, path := range []string{"engine", "graph"} {
			b.Run(fmt.Sprintf("%s/n=%d,batch=%d/%s", c.name, c.n, c.batch, path), func(b *testing.B) {
				m, err := c.mk()
				if err != nil {
					b.Fatal(err)
				}
				x, y := sub(c.n)
				train := Train
				if path == "graph" {
					train = trainGraph
				}
				b.ReportAllocs()
				cpu0 := cputime.Seconds()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := train(m, x, y, TrainConfig{Epochs: epochs, Batch: c.batch, WeightDecay: 0.01, Seed: uint64(i)}); err != nil {
						b.Fatal(err)
					}
				}
				e := float64(b.N * epochs)
				b.ReportMetric(b.Elapsed().Seconds()*1e3/e, "ms/epoch")
				b.ReportMetric((cputime.Seconds()-cpu0)*1e3/e, "cpu-ms/epoch")
				b.ReportMetric(epochFLOPs(m, c.n)*e/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// Training LeNet in float32 on the engine reaches the accuracy of the
// gorgonia graph path (the implementation before the engine) on a small
// MNIST subset: 50 images per class, 15 epochs with the paper's protocol.
// The two runs differ only by float32 round-off, which changes which
// images of the 1000 test images sit on the wrong side of a boundary; 3
// points of accuracy is far above that spread and far below what a wrong
// gradient or optimizer costs (chance is 10%).
func TestTrainMNISTMatchesGraph(t *testing.T) {
	train, test := mnist(t, 50, 1000)
	cfg := TrainConfig{Epochs: 15, WeightDecay: 0.01, Seed: 5}
	acc := map[string]float64{}
	for name, f := range map[string]func(Model, []float64, []int, TrainConfig) (TrainResult, error){"engine": Train, "graph": trainGraph} {
		m, err := NewLeNet(train.H, train.W, train.Classes, rand.New(rand.NewPCG(3, 4)))
		if err != nil {
			t.Fatal(err)
		}
		res, err := f(m, train.X, train.Labels, cfg)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := Evaluate(m, test.X, test.Labels)
		if err != nil {
			t.Fatal(err)
		}
		acc[name] = ev.Accuracy
		t.Logf("%s: final loss %.4f, train accuracy %.3f, test accuracy %.3f, %.2fs", name, res.FinalLoss, res.FinalAccuracy, ev.Accuracy, res.Seconds)
	}
	if math.Abs(acc["engine"]-acc["graph"]) > 0.03 {
		t.Errorf("test accuracy %.3f on the engine, %.3f on the graph", acc["engine"], acc["graph"])
	}
	if acc["engine"] < 0.6 { // 0.76 on both paths when written
		t.Errorf("test accuracy %.3f, want at least 0.6", acc["engine"])
	}
}

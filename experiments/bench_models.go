package experiments

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/models"
	"github.com/wowflow/wowflow/optim"
	"gorgonia.org/tensor"
)

// The model workloads of `wow bench` (float32, as the experiments run them):
//
//	W4: one step of embedded distillation (wow distill --space embedded):
//	    IPC 10 synthetic 28×28 images per class flowed against 256 real
//	    images per class (drawn each step from 512), through one draw of the
//	    random affine augmentation and of the random ConvNet (width 128 or
//	    32, depth 3) per step, Riesz MMDSW with L = 500, momentum τ = 1,
//	    m = 0.9. The images are uniform noise: the cost does not depend on
//	    the pixels.
//	W5: one LeNet-5 training epoch (models.Train) on 2 050 images, batch 64,
//	    AdamW (learning rate 3·10⁻⁴, weight decay 0.01).
//
// Their PyTorch versions are scripts/torch_models_bench.py.
const (
	w4Classes, w4IPC, w4Real, w4Batch, w4Side, w4L = 10, 10, 512, 256, 28, 500
	w5Images, w5Batch                              = 2050, 64
)

// W4Widths are the random ConvNet widths W4 is run at.
var W4Widths = []int{128, 32}

// Default timed steps (W4) and epochs (W5), after one untimed warm-up.
const w4Steps, w5Epochs = 5, 10

// modelWorkload reports whether name is a model workload.
func modelWorkload(name string) bool { return name == "W4" || name == "W5" }

// w4FLOPs counts the multiply-adds (×2) of one W4 step: the real images
// through the ConvNet's convolutions, the synthetic ones forward and
// backward (the input gradient of each convolution costs as much as the
// convolution; no weight gradient is needed), and the projections of all
// features on the L directions (forward; backward for the synthetic ones).
func w4FLOPs(width int) float64 {
	conv := graph.ConvBlocksFLOPs(w4Side, w4Side, width, 3)
	d := float64(width * (w4Side >> 3) * (w4Side >> 3))
	nReal, nSyn := float64(w4Classes*w4Batch), float64(w4Classes*w4IPC)
	return (nReal+2*nSyn)*conv + 2*(nReal+2*nSyn)*d*w4L
}

// w5FLOPs counts the multiply-adds (×2) of one LeNet epoch: forward, weight
// gradients and input gradients of every layer but the first.
func w5FLOPs() float64 {
	conv1 := 2.0 * 6 * 25 * 28 * 28
	conv2 := 2.0 * 16 * 150 * 10 * 10
	dense := 2.0 * (400*120 + 120*84 + 84*10)
	return w5Images * (3*(conv1+conv2+dense) - conv1)
}

// slicedFLOPs counts the projections of a W1–W3 step: every point on the L
// directions, and the gradient of the particles' projections.
func slicedFLOPs(w Workload) float64 {
	return 2 * float64(w.C) * float64(2*w.N+w.M) * float64(w.D) * float64(w.L)
}

// machineGFLOPS measures this build's float32 GEMM rate on all cores: a
// 1024³ product split into row blocks, one per core, the best of five.
func machineGFLOPS() float64 {
	const n = 1024
	r := rand.New(rand.NewPCG(3, 3))
	a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i], b[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
	}
	workers := runtime.GOMAXPROCS(0)
	best := math.Inf(1)
	for rep := 0; rep < 5; rep++ {
		t0 := time.Now()
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			lo, hi := w*n/workers, (w+1)*n/workers
			wg.Add(1)
			go func() {
				defer wg.Done()
				blas32.Implementation().Sgemm(blas.NoTrans, blas.NoTrans, hi-lo, n, n, 1, a[lo*n:], n, b, n, 0, c[lo*n:], n)
			}()
		}
		wg.Wait()
		best = min(best, time.Since(t0).Seconds())
	}
	return 2 * n * n * n / best / 1e9
}

// resetPeakRSS starts a new peak of the resident set (Linux: clear_refs 5);
// peakRSSMiB reads it (VmHWM), or the process's peak so far where the reset
// is not available.
func resetPeakRSS() bool { return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil }

func peakRSSMiB() float64 {
	f, err := os.Open("/proc/self/status")
	if err == nil {
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
				if kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64); err == nil {
					return kb / 1024
				}
			}
		}
	}
	return processPeakRSSMiB()
}

// benchModel times a model workload (W4 at one width, or W5) in Go.
func benchModel(name string, width int, cfg BenchConfig) (BenchResult, error) {
	steps := cfg.Steps
	res := BenchResult{Dtype: "f32", BLAS: graph.BLAS, BLASCore: graph.BLASCore(), Width: width}
	var step func() error
	switch name {
	case "W4":
		orDefault(&steps, w4Steps)
		res.Workload = Workload{Name: "W4", C: w4Classes, N: w4IPC, M: w4Batch, D: w4Side * w4Side, L: w4L}
		res.GFLOP = w4FLOPs(width) / 1e9
		fl, err := newW4Flow(width)
		if err != nil {
			return res, err
		}
		defer fl.Close()
		step = func() error { _, err := fl.Step(); return err }
	case "W5":
		orDefault(&steps, w5Epochs)
		res.Workload = Workload{Name: "W5", N: w5Images, D: w4Side * w4Side}
		res.GFLOP = w5FLOPs() / 1e9
		var err error
		if step, err = newW5Epoch(); err != nil {
			return res, err
		}
	}
	resetPeakRSS()
	var m0, m1 runtime.MemStats
	for i := 0; i < max(1, cfg.Warmup); i++ {
		if err := step(); err != nil {
			return res, err
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&m0)
	times := make([]float64, steps)
	for i := range times {
		t0 := time.Now()
		if err := step(); err != nil {
			return res, err
		}
		times[i] = float64(time.Since(t0).Microseconds()) / 1000
		if cfg.Progress != nil && name == "W4" {
			fmt.Fprintf(cfg.Progress, "bench W4 width %d: step %d/%d %.0f ms\n", width, i+1, steps, times[i])
		}
	}
	runtime.ReadMemStats(&m1)
	slices.Sort(times)
	res.Steps, res.MedianMs, res.MinMs, res.MaxMs = steps, median(times), times[0], times[len(times)-1]
	res.AllocsPerStep = float64(m1.Mallocs-m0.Mallocs) / float64(steps)
	res.BytesPerStep = float64(m1.TotalAlloc-m0.TotalAlloc) / float64(steps)
	res.PeakRSSMiB = peakRSSMiB()
	return res, nil
}

// newW4Flow is W4's flow: distill's own objective (experiments.distillObjective)
// on noise images.
func newW4Flow(width int) (*flows.Flow, error) {
	r := rand.New(rand.NewPCG(4, 4))
	d := w4Side * w4Side
	noise := func(n int) [][]float64 {
		cls := make([][]float64, w4Classes)
		for c := range cls {
			cls[c] = make([]float64, n*d)
			for i := range cls[c] {
				cls[c][i] = r.Float64()
			}
		}
		return cls
	}
	real, err := graph.FromClasses(d, noise(w4Real)...)
	if err != nil {
		return nil, err
	}
	x0, err := graph.FromClasses(d, noise(w4IPC)...)
	if err != nil {
		return nil, err
	}
	dc := DefaultDistillConfig(DistillMMDSW)
	dc.Space, dc.EmbedWidth, dc.Batch, dc.Directions = SpaceEmbedded, width, w4Batch, w4L
	obj, err := distillObjective(dc, real, w4Side, w4Side)
	if err != nil {
		return nil, err
	}
	return flows.New(x0, obj, flows.Config{Directions: dc.Directions, Seed: 1, Dtype: tensor.Float32,
		Optimizer: &optim.Momentum{Tau: dc.Tau, M: dc.Momentum}})
}

// newW5Epoch returns one W5 epoch: models.Train for one epoch on a LeNet
// that keeps its weights from epoch to epoch (each call a new seed).
func newW5Epoch() (func() error, error) {
	r := rand.New(rand.NewPCG(5, 5))
	d := w4Side * w4Side
	x, labels := make([]float64, w5Images*d), make([]int, w5Images)
	for i := range x {
		x[i] = r.Float64()
	}
	for i := range labels {
		labels[i] = r.IntN(10)
	}
	net, err := models.NewLeNet(w4Side, w4Side, 10, r)
	if err != nil {
		return nil, err
	}
	tc := models.DefaultTrainConfig()
	tc.Epochs, tc.Batch = 1, w5Batch
	return func() error {
		tc.Seed++
		_, err := models.Train(net, x, labels, tc)
		return err
	}, nil
}

// benchTorchModel times the PyTorch version of a model workload on the
// given threads, returning its median ms.
func benchTorchModel(ctx context.Context, name string, width, steps, threads int, cfg BenchConfig) (float64, error) {
	args := []string{cfg.TorchModelScript, strings.ToLower(name)}
	if name == "W4" {
		args = append(args, strconv.Itoa(width))
	}
	args = append(args, strconv.Itoa(steps), strconv.Itoa(threads))
	cmd := exec.CommandContext(ctx, cfg.Python, args...)
	cmd.Env = append(os.Environ(), "OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS="+strconv.Itoa(threads))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("bench: %s %s: %v %s (PyTorch needs Debian's python3-torch: apt-get install -y python3-torch)", cfg.Python, cfg.TorchModelScript, err, lastLine(stderr.Bytes()))
	}
	var res struct {
		MedianMs float64 `json:"median_ms"`
	}
	if err := json.Unmarshal(lastLine(out), &res); err != nil || res.MedianMs <= 0 {
		return 0, fmt.Errorf("bench: unexpected output of %s: %q", cfg.TorchModelScript, out)
	}
	return res.MedianMs, nil
}

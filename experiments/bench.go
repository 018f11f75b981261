package experiments

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/optim"
	"gorgonia.org/tensor"
)

// Workload is one flow-step benchmark: C classes of N particles flowed onto C
// target classes of M points in R^D with L directions (Riesz MMDSW, heavy-ball
// momentum m = 0.9).
type Workload struct {
	Name       string `json:"workload"`
	C, N, M, D int
	L          int
}

// Workloads are the flow-step benchmark workloads: W1 the paper's image
// step, W2 the same with a 5-shot target, W3 the rings. The model workloads
// W4 (embedded distillation) and W5 (LeNet training) are described in
// bench_models.go.
var Workloads = []Workload{
	{"W1", 10, 200, 200, 784, 500},
	{"W2", 10, 200, 5, 784, 500},
	{"W3", 3, 80, 80, 2, 500},
}

// BenchConfig configures `wow bench`; DefaultBenchConfig holds the defaults.
type BenchConfig struct {
	Workloads []string // W1–W5; empty: all
	Dtypes    []string // "f32", "f64" for W1–W3 (empty: both); W4 and W5 run in float32
	// Steps is the number of timed steps (W5: epochs) per workload, at
	// least 3; 0 means 20 for W1–W3, 5 for W4 and 10 for W5 (the PyTorch
	// W4 takes at most 3).
	Steps  int
	Widths []int // W4's random ConvNet widths; empty: 128 and 32
	Warmup int   // untimed steps first (≥ 0, used as given; default 3; W4, W5: at least 1)
	// VsTorch also runs the PyTorch implementation of the same step
	// (TorchScript with Python) in the same invocation and reports the ratio.
	VsTorch          bool
	TorchScript      string // W1–W3; default scripts/torch_bench.py
	TorchModelScript string // W4, W5; default scripts/torch_models_bench.py
	Python           string // default /usr/bin/python3
	// Threads is PyTorch's thread count; 0 means GOMAXPROCS for W1–W3 and,
	// for W4 and W5, both 1 and GOMAXPROCS, reporting the faster.
	Threads  int
	Progress io.Writer
}

// DefaultBenchConfig returns the defaults of `wow bench`: every workload
// (W1–W3 in both dtypes), 3 warm-up steps and the workloads' own numbers of
// timed steps, PyTorch (when asked for) from scripts/torch_bench.py and
// scripts/torch_models_bench.py with /usr/bin/python3.
func DefaultBenchConfig() BenchConfig {
	return BenchConfig{Warmup: 3, TorchScript: "scripts/torch_bench.py", TorchModelScript: "scripts/torch_models_bench.py", Python: "/usr/bin/python3"}
}

// BenchResult is the measurement of one workload in one dtype.
type BenchResult struct {
	Workload
	Dtype         string  `json:"dtype"`
	BLAS          string  `json:"blas"`
	BLASCore      string  `json:"blas_core"` // the kernels: graph.BLASCore
	Steps         int     `json:"steps"`
	MedianMs      float64 `json:"median_ms"`
	MinMs         float64 `json:"min_ms"`
	MaxMs         float64 `json:"max_ms"`
	AllocsPerStep float64 `json:"allocs_per_step"`
	BytesPerStep  float64 `json:"bytes_per_step"`
	PeakRSSMiB    float64 `json:"peak_rss_mib"`    // W4, W5: of this workload; W1–W3: of the process so far
	Width         int     `json:"width,omitempty"` // W4: the random ConvNet's width
	// GFLOP counts the step's floating-point operations (see the
	// workloads' FLOP counts: convolutions, GEMMs, projections);
	// GFLOPS = GFLOP / median; FloorMs = GFLOP / the machine's GEMM rate,
	// MachineGFLOPS, measured in the same invocation; OverFloor =
	// MedianMs / FloorMs.
	GFLOP         float64  `json:"gflop"`
	GFLOPS        float64  `json:"gflop_per_s"`
	MachineGFLOPS float64  `json:"machine_gflop_per_s"`
	FloorMs       float64  `json:"floor_ms"`
	OverFloor     float64  `json:"over_floor"`
	TorchMedianMs *float64 `json:"torch_median_ms,omitempty"`
	TorchThreads  int      `json:"torch_threads,omitempty"`
	Ratio         *float64 `json:"ratio_go_over_torch,omitempty"`
}

// benchData returns seeded random source and target datasets of w.
func benchData(w Workload) (x, y *graph.Dataset) {
	r := rand.New(rand.NewPCG(7, 7))
	mk := func(n int, shift float64) *graph.Dataset {
		classes := make([][]float64, w.C)
		for c := range classes {
			v := make([]float64, n*w.D)
			for i := range v {
				v[i] = r.NormFloat64()*0.5 + shift
			}
			classes[c] = v
		}
		ds, _ := graph.FromClasses(w.D, classes...)
		return ds
	}
	return mk(w.N, 0), mk(w.M, 1)
}

// Bench times flow steps of the chosen workloads.
func Bench(ctx context.Context, cfg BenchConfig) ([]BenchResult, error) {
	d := DefaultBenchConfig()
	if cfg.Steps < 0 || (cfg.Steps > 0 && cfg.Steps < 3) {
		return nil, fmt.Errorf("bench: --steps %d: at least 3 timed steps (0: each workload's default)", cfg.Steps)
	}
	if cfg.Warmup < 0 {
		return nil, fmt.Errorf("bench: --warmup %d must be ≥ 0", cfg.Warmup)
	}
	if cfg.Threads < 0 {
		return nil, fmt.Errorf("bench: --threads %d must be positive (0: GOMAXPROCS)", cfg.Threads)
	}
	if len(cfg.Dtypes) == 0 {
		cfg.Dtypes = []string{"f32", "f64"}
	}
	orDefault(&cfg.TorchScript, d.TorchScript)
	orDefault(&cfg.TorchModelScript, d.TorchModelScript)
	orDefault(&cfg.Python, d.Python)
	var ws []Workload
	for _, w := range Workloads {
		if len(cfg.Workloads) == 0 || slices.Contains(cfg.Workloads, w.Name) {
			ws = append(ws, w)
		}
	}
	for _, name := range cfg.Workloads {
		if !modelWorkload(name) && !slices.ContainsFunc(Workloads, func(w Workload) bool { return w.Name == name }) {
			return nil, fmt.Errorf("bench: unknown workload %q (want W1, W2, W3, W4 or W5)", name)
		}
	}
	for _, dt := range cfg.Dtypes {
		if dt != "f32" && dt != "f64" {
			return nil, fmt.Errorf("bench: dtype %q, want f32 or f64", dt)
		}
	}
	for _, w := range cfg.Widths {
		if w < 1 || w > 1<<12 {
			return nil, fmt.Errorf("bench: --width %d: want 1 to %d", w, 1<<12)
		}
	}
	machine := machineGFLOPS()
	out, err := benchFlows(ctx, ws, cfg, machine)
	if err != nil {
		return out, err
	}
	more, err := benchModels(ctx, cfg, machine)
	return append(out, more...), err
}

// withFloor fills r's achieved rate and floor from its GFLOP count and the
// machine's GEMM rate.
func withFloor(r BenchResult, machine float64) BenchResult {
	r.MachineGFLOPS = machine
	r.GFLOPS = r.GFLOP / (r.MedianMs / 1000)
	r.FloorMs = 1000 * r.GFLOP / machine
	r.OverFloor = r.MedianMs / r.FloorMs
	return r
}

// benchModels runs the model workloads asked for (all when none is named).
func benchModels(ctx context.Context, cfg BenchConfig, machine float64) ([]BenchResult, error) {
	var out []BenchResult
	for _, name := range []string{"W4", "W5"} {
		if len(cfg.Workloads) > 0 && !slices.Contains(cfg.Workloads, name) {
			continue
		}
		widths := []int{0}
		if name == "W4" {
			widths = W4Widths
			if len(cfg.Widths) > 0 {
				widths = cfg.Widths
			}
		}
		for _, width := range widths {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			r, err := benchModel(name, width, cfg)
			if err != nil {
				return out, fmt.Errorf("bench: %s: %w", name, err)
			}
			r = withFloor(r, machine)
			if cfg.VsTorch {
				steps := r.Steps
				if name == "W4" {
					steps = min(steps, 3)
				}
				threads := []int{cfg.Threads}
				if cfg.Threads == 0 {
					threads = []int{1, runtime.GOMAXPROCS(0)}
				}
				for _, th := range slices.Compact(threads) {
					t, err := benchTorchModel(ctx, name, width, steps, th, cfg)
					if err != nil {
						return out, err
					}
					if r.TorchMedianMs == nil || t < *r.TorchMedianMs {
						ratio := r.MedianMs / t
						r.TorchMedianMs, r.TorchThreads, r.Ratio = &t, th, &ratio
					}
				}
			}
			if cfg.Progress != nil {
				fmt.Fprintf(cfg.Progress, "bench %s%s: median %.1f ms/step, %.1f GFLOP/s, %.1f× the floor\n", name, widthLabel(width), r.MedianMs, r.GFLOPS, r.OverFloor)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func widthLabel(width int) string {
	if width == 0 {
		return ""
	}
	return fmt.Sprintf(" width %d", width)
}

// benchFlows runs the flow-step workloads ws in every dtype asked for.
func benchFlows(ctx context.Context, ws []Workload, cfg BenchConfig, machine float64) ([]BenchResult, error) {
	orDefault(&cfg.Steps, 20)
	if cfg.Threads == 0 {
		cfg.Threads = runtime.GOMAXPROCS(0)
	}
	var out []BenchResult
	for _, w := range ws {
		for _, dt := range cfg.Dtypes {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			r, err := benchGo(w, dt, cfg)
			if err != nil {
				return out, err
			}
			r = withFloor(r, machine)
			if cfg.VsTorch {
				t, err := benchTorch(ctx, w, dt, cfg)
				if err != nil {
					return out, err
				}
				ratio := r.MedianMs / t
				r.TorchMedianMs, r.Ratio = &t, &ratio
			}
			if cfg.Progress != nil {
				fmt.Fprintf(cfg.Progress, "bench %s %s: median %.1f ms/step\n", w.Name, dt, r.MedianMs)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func benchGo(w Workload, dt string, cfg BenchConfig) (BenchResult, error) {
	x, y := benchData(w)
	dtype := tensor.Float64
	if dt == "f32" {
		dtype = tensor.Float32
	}
	fl, err := flows.New(x, functionals.MMD{Target: y}, flows.Config{Directions: w.L, Seed: 1, Dtype: dtype,
		Optimizer: &optim.Momentum{Tau: 0.1, M: 0.9}})
	if err != nil {
		return BenchResult{}, err
	}
	defer fl.Close()
	for i := 0; i < cfg.Warmup; i++ {
		if _, err := fl.Step(); err != nil {
			return BenchResult{}, err
		}
	}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	times := make([]float64, cfg.Steps)
	for i := range times {
		t0 := time.Now()
		if _, err := fl.Step(); err != nil {
			return BenchResult{}, err
		}
		times[i] = float64(time.Since(t0).Microseconds()) / 1000
	}
	runtime.ReadMemStats(&m1)
	slices.Sort(times)
	return BenchResult{
		Workload: w, Dtype: dt, BLAS: graph.BLAS, BLASCore: graph.BLASCore(), Steps: cfg.Steps,
		MedianMs: median(times), MinMs: times[0], MaxMs: times[len(times)-1],
		AllocsPerStep: float64(m1.Mallocs-m0.Mallocs) / float64(cfg.Steps),
		BytesPerStep:  float64(m1.TotalAlloc-m0.TotalAlloc) / float64(cfg.Steps),
		PeakRSSMiB:    processPeakRSSMiB(),
		GFLOP:         slicedFLOPs(w) / 1e9,
	}, nil
}

// processPeakRSSMiB is the peak resident set of this process so far.
func processPeakRSSMiB() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) / 1024
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func benchTorch(ctx context.Context, w Workload, dt string, cfg BenchConfig) (float64, error) {
	args := []string{cfg.TorchScript, "bench", strconv.Itoa(w.C), strconv.Itoa(w.N), strconv.Itoa(w.M), strconv.Itoa(w.D),
		strconv.Itoa(w.L), dt, strconv.Itoa(cfg.Threads), strconv.Itoa(cfg.Steps), "exact"}
	out, err := exec.CommandContext(ctx, cfg.Python, args...).Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
			msg = string(lastLine(ee.Stderr))
		}
		return 0, fmt.Errorf("bench: %s %s: %s (PyTorch needs Debian's python3-torch: apt-get install -y python3-torch)", cfg.Python, cfg.TorchScript, msg)
	}
	var res struct {
		MedianMs float64 `json:"median_ms"`
	}
	if err := json.Unmarshal(lastLine(out), &res); err != nil || res.MedianMs <= 0 {
		return 0, fmt.Errorf("bench: unexpected output of %s: %q", cfg.TorchScript, out)
	}
	return res.MedianMs, nil
}

func lastLine(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			return b[i+1:]
		}
	}
	return b
}

// BenchTable formats results as a markdown table.
func BenchTable(rs []BenchResult) string {
	s := "| workload | dtype | Go ms/step (median, min–max) | GFLOP/step | GFLOP/s | floor ms | × floor | allocs/step | MiB alloc/step | peak RSS MiB | PyTorch ms/step | Go/PyTorch |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n"
	for _, r := range rs {
		t, ratio := "–", "–"
		if r.TorchMedianMs != nil {
			t, ratio = fmt.Sprintf("%.1f", *r.TorchMedianMs), fmt.Sprintf("%.2f", *r.Ratio)
			if r.TorchThreads > 0 {
				t += fmt.Sprintf(" (%d thr.)", r.TorchThreads)
			}
		}
		s += fmt.Sprintf("| %s | %s | %.1f (%.1f–%.1f) | %.2f | %.1f | %.1f | %.1f | %.0f | %.1f | %.0f | %s | %s |\n",
			benchLabel(r), r.Dtype, r.MedianMs, r.MinMs, r.MaxMs, r.GFLOP, r.GFLOPS, r.FloorMs, r.OverFloor, r.AllocsPerStep, r.BytesPerStep/(1<<20), r.PeakRSSMiB, t, ratio)
	}
	if len(rs) > 0 {
		s += fmt.Sprintf("\nfloor = GFLOP / %.0f GFLOP/s, this build's float32 GEMM on %d cores (%s, %s kernels), measured in this run.\n", rs[0].MachineGFLOPS, runtime.GOMAXPROCS(0), rs[0].BLAS, rs[0].BLASCore)
		for _, r := range rs {
			if r.Workload.Name == "W4" {
				s += "W4's GFLOP count the direct convolutions; the target's wide layers run as Winograd F(2×2, 3×3), 2.25× fewer multiply-adds, so its GFLOP/s and floor are those of the direct method.\n"
				break
			}
		}
	}
	return s
}

// benchLabel describes a workload in the table.
func benchLabel(r BenchResult) string {
	switch r.Name {
	case "W4":
		return fmt.Sprintf("W4 (ConvNet width %d, IPC %d, %d real/class, L=%d)", r.Width, r.N, r.M, r.L)
	case "W5":
		return fmt.Sprintf("W5 (LeNet epoch, %d images, batch %d)", r.N, w5Batch)
	}
	return fmt.Sprintf("%s (C=%d, n=%d, m=%d, d=%d, L=%d)", r.Name, r.C, r.N, r.M, r.D, r.L)
}

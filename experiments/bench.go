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

// Workloads are the benchmark workloads of the performance issue: W1 the
// paper's image step, W2 the same with a 5-shot target, W3 the rings.
var Workloads = []Workload{
	{"W1", 10, 200, 200, 784, 500},
	{"W2", 10, 200, 5, 784, 500},
	{"W3", 3, 80, 80, 2, 500},
}

// BenchConfig configures `wow bench`; DefaultBenchConfig holds the defaults.
type BenchConfig struct {
	Workloads []string // names from Workloads; empty: all
	Dtypes    []string // "f32", "f64"; empty: both
	Steps     int      // timed steps per workload (≥ 20); 0: 20
	Warmup    int      // untimed steps first (≥ 0, used as given; default 3)
	// VsTorch also runs the PyTorch implementation of the same step
	// (TorchScript with Python) in the same invocation and reports the ratio.
	VsTorch     bool
	TorchScript string // default scripts/torch_bench.py
	Python      string // default /usr/bin/python3
	Threads     int    // PyTorch threads; 0: GOMAXPROCS
	Progress    io.Writer
}

// DefaultBenchConfig returns the defaults of `wow bench`: every workload in
// both dtypes, 3 warm-up and 20 timed steps, PyTorch (when asked for) from
// scripts/torch_bench.py with /usr/bin/python3 on GOMAXPROCS threads.
func DefaultBenchConfig() BenchConfig {
	return BenchConfig{Steps: 20, Warmup: 3, TorchScript: "scripts/torch_bench.py", Python: "/usr/bin/python3"}
}

// BenchResult is the measurement of one workload in one dtype.
type BenchResult struct {
	Workload
	Dtype         string   `json:"dtype"`
	BLAS          string   `json:"blas"`
	Steps         int      `json:"steps"`
	MedianMs      float64  `json:"median_ms"`
	MinMs         float64  `json:"min_ms"`
	MaxMs         float64  `json:"max_ms"`
	AllocsPerStep float64  `json:"allocs_per_step"`
	BytesPerStep  float64  `json:"bytes_per_step"`
	PeakRSSMiB    float64  `json:"peak_rss_mib"` // of this process so far
	TorchMedianMs *float64 `json:"torch_median_ms,omitempty"`
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
	orDefault(&cfg.Steps, d.Steps)
	if cfg.Steps < 20 {
		return nil, fmt.Errorf("bench: --steps %d: at least 20 timed steps", cfg.Steps)
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
	orDefault(&cfg.Python, d.Python)
	if cfg.Threads == 0 {
		cfg.Threads = runtime.GOMAXPROCS(0)
	}
	var ws []Workload
	for _, w := range Workloads {
		if len(cfg.Workloads) == 0 || slices.Contains(cfg.Workloads, w.Name) {
			ws = append(ws, w)
		}
	}
	for _, name := range cfg.Workloads {
		if !slices.ContainsFunc(Workloads, func(w Workload) bool { return w.Name == name }) {
			return nil, fmt.Errorf("bench: unknown workload %q (want W1, W2 or W3)", name)
		}
	}
	var out []BenchResult
	for _, w := range ws {
		for _, dt := range cfg.Dtypes {
			if dt != "f32" && dt != "f64" {
				return nil, fmt.Errorf("bench: dtype %q, want f32 or f64", dt)
			}
			if err := ctx.Err(); err != nil {
				return out, err
			}
			r, err := benchGo(w, dt, cfg)
			if err != nil {
				return out, err
			}
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
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return BenchResult{
		Workload: w, Dtype: dt, BLAS: graph.BLAS, Steps: cfg.Steps,
		MedianMs: median(times), MinMs: times[0], MaxMs: times[len(times)-1],
		AllocsPerStep: float64(m1.Mallocs-m0.Mallocs) / float64(cfg.Steps),
		BytesPerStep:  float64(m1.TotalAlloc-m0.TotalAlloc) / float64(cfg.Steps),
		PeakRSSMiB:    float64(ru.Maxrss) / 1024,
	}, nil
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
	s := "| workload | dtype | Go ms/step (median, min–max) | allocs/step | MiB alloc/step | peak RSS MiB | PyTorch ms/step | Go/PyTorch |\n|---|---|---|---|---|---|---|---|\n"
	for _, r := range rs {
		t, ratio := "–", "–"
		if r.TorchMedianMs != nil {
			t, ratio = fmt.Sprintf("%.1f", *r.TorchMedianMs), fmt.Sprintf("%.2f", *r.Ratio)
		}
		s += fmt.Sprintf("| %s (C=%d, n=%d, m=%d, d=%d, L=%d) | %s | %.1f (%.1f–%.1f) | %.0f | %.1f | %.0f | %s | %s |\n",
			r.Name, r.C, r.N, r.M, r.D, r.L, r.Dtype, r.MedianMs, r.MinMs, r.MaxMs, r.AllocsPerStep, r.BytesPerStep/(1<<20), r.PeakRSSMiB, t, ratio)
	}
	return s
}
